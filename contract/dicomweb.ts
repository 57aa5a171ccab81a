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

export const frameParams = z.object({
  study: z.string(),
  series: z.string(),
  instance: z.string(),
  frame: z.string().meta({ description: '1-based frame number' }),
});

export type StoredInstance = z.infer<typeof storedInstance>;
export type PartFailure = z.infer<typeof partFailure>;
export type StowAnswer = z.infer<typeof stowAnswer>;
