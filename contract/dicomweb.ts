import { z } from 'zod';

/** One DICOM object a STOW-RS request stored; `duplicate` when the same SOP Instance was already held. */
export const storedInstance = z.object({
  studyInstanceUid: z.string(),
  seriesInstanceUid: z.string(),
  sopInstanceUid: z.string(),
  sopClassUid: z.string(),
  status: z.enum(['stored', 'duplicate']),
});

/** A part that was refused (it stored nothing), by its 0-based position in the request. */
export const partFailure = z.object({
  part: z.number().int(),
  code: z.string(),
  message: z.string(),
});

/**
 * `POST /dicomweb/studies[/{study}]` with `Accept: application/json`: Lantern's own answer, for its
 * CLI — what was kept and what was refused (some refused → 202; all refused → 409 with `failed`
 * as the error's details).
 */
export const stowAnswer = z.object({
  stored: z.array(storedInstance),
  failed: z.array(partFailure),
}).meta({ id: 'StowAnswer' });

/** One DICOM JSON attribute (PS3.18 Annex F.2): its VR and, unless empty, its values. */
const attribute = <V extends z.ZodType>(vr: string, value: V) => z.object({ vr: z.literal(vr), Value: z.array(value).min(1).optional() });

/**
 * The private block a refused instance's item carries (PS3.5 §7.8.1), so a person reading the
 * answer sees Lantern's reason, not only the numeric Failure Reason: the creator
 * (0009,0010) "LANTERN 1.0", the error code (0009,1001, LO), its message (0009,1002, LT) and the
 * part's 0-based position in the request (0009,1003, UL) — refused parts often have no UIDs to
 * tell them apart.
 */
export const LANTERN_PRIVATE_CREATOR = 'LANTERN 1.0';

const failedSop = z.object({
  '00081150': attribute('UI', z.string()).optional(),
  '00081155': attribute('UI', z.string()).optional(),
  '00081197': attribute('US', z.number().int()),
  '00090010': attribute('LO', z.literal(LANTERN_PRIVATE_CREATOR)),
  '00091001': attribute('LO', z.string()),
  '00091002': attribute('LT', z.string()),
  '00091003': attribute('UL', z.number().int()),
});

const referencedSop = z.object({
  '00081150': attribute('UI', z.string()),
  '00081155': attribute('UI', z.string()),
  '00081190': attribute('UR', z.string()),
  '00081196': attribute('US', z.number().int()).optional(),
});

/**
 * The STOW-RS answer in DICOM JSON (`application/dicom+json`, the default): the Store Instances
 * Response Module of PS3.18 Annex I. Retrieve URL (0008,1190) of the study when every stored
 * instance is of one study (Type 2: empty otherwise); Referenced SOP Sequence (0008,1199) of
 * what is held (each with its own Retrieve URL); Failed SOP Sequence (0008,1198) of what was
 * refused, each with its Failure Reason (0008,1197) and Lantern's reason in the private block.
 * Both sequences are Type 1C: present only when they have items.
 */
export const storeInstancesResponse = z.object({
  '00080005': attribute('CS', z.literal('ISO_IR 192')),
  '00081190': attribute('UR', z.string()),
  '00081198': attribute('SQ', failedSop).optional(),
  '00081199': attribute('SQ', referencedSop).optional(),
}).meta({ id: 'StoreInstancesResponse' });

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
export type StoreInstancesResponse = z.infer<typeof storeInstancesResponse>;
export type FailedSop = z.infer<typeof failedSop>;
export type ReferencedSop = z.infer<typeof referencedSop>;
