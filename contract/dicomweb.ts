import { z } from 'zod';

/** One DICOM object a STOW-RS request stored; `duplicate` when the same SOP Instance was already held. */
export const storedInstance = z.object({
  studyInstanceUid: z.string(),
  seriesInstanceUid: z.string(),
  sopInstanceUid: z.string(),
  status: z.enum(['stored', 'duplicate']),
});

/** A part that was refused (it stored nothing), by its 0-based position in the request. */
export const partFailure = z.object({
  part: z.number().int(),
  code: z.string(),
  message: z.string(),
});

/** `POST /dicomweb/studies`: what was kept and what was refused; all refused → 422 with `failed` as details. */
export const stowAnswer = z.object({
  stored: z.array(storedInstance),
  failed: z.array(partFailure),
}).meta({ id: 'StowAnswer' });

/**
 * A DICOM UID (PS3.5 §9.1): dot-separated components of digits, none with a leading zero
 * (a lone 0 is fine), at most 64 characters. Lantern keys rows and paths by them, so a path
 * parameter that is not one is refused before anything looks it up.
 */
export const DICOM_UID_PATTERN = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;
export const dicomUid = z.string()
  .max(64, 'not a DICOM UID (PS3.5 §9.1): at most 64 characters')
  .regex(DICOM_UID_PATTERN, 'not a DICOM UID (PS3.5 §9.1): digits and dots, no empty component, no leading zero')
  .meta({ description: 'A DICOM UID (PS3.5 §9.1)' });

export const studyParams = z.object({ studyInstanceUid: dicomUid });

export const frameParams = z.object({
  study: dicomUid,
  series: dicomUid,
  instance: dicomUid,
  frame: z.string().meta({ description: '1-based frame number' }),
});

export type StoredInstance = z.infer<typeof storedInstance>;
export type PartFailure = z.infer<typeof partFailure>;
export type StowAnswer = z.infer<typeof stowAnswer>;
