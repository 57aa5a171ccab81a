import { z } from 'zod';
import { DICOM_UID_PATTERN as UID, dicomUid } from './dicomweb.ts';

/**
 * The DICOM JSON model (PS3.18 Annex F.2) and the QIDO-RS query parameters Lantern matches on
 * (PS3.18 §10.6.1). One attribute is `{ vr, Value? | InlineBinary? | BulkDataURI? }` keyed by
 * its tag as eight upper-case hex digits; an attribute without a value carries no `Value`.
 */
export const dicomJsonAttribute = z.object({
  vr: z.string().length(2),
  Value: z.array(z.unknown()).optional(),
  InlineBinary: z.string().optional(),
  BulkDataURI: z.string().optional(),
});

export const dicomJsonDataset = z.record(z.string().regex(/^[0-9A-F]{8}$/), dicomJsonAttribute).meta({
  id: 'DicomJsonDataset', description: 'A DICOM JSON data set (PS3.18 Annex F.2).',
});

export const dicomJsonDatasets = z.array(dicomJsonDataset).meta({ id: 'DicomJsonDatasets', description: 'QIDO-RS / WADO-RS metadata answer (application/dicom+json).' });

export type DicomJsonAttribute = z.infer<typeof dicomJsonAttribute>;
export type DicomJsonDataset = z.infer<typeof dicomJsonDataset>;

/** A date range `from`–`to` (DA, YYYYMMDD, inclusive); an absent end is open (PS3.4 C.2.2.2.5). */
export interface DateRange {
  from?: string;
  to?: string;
}

/** DA range matching (PS3.4 C.2.2.2.5): `YYYYMMDD`, `from-`, `-to`, `from-to`; undefined when the value is none of these. QIDO-RS and C-FIND read dates with it. */
export function dateRange(value: string): DateRange | undefined {
  const match = /^(\d{8})?(-)?(\d{8})?$/.exec(value);
  if (!match || (!match[1] && !match[3]) || (!match[2] && match[3])) return undefined;
  if (!match[2]) return { from: match[1], to: match[1] };
  return { ...(match[1] && { from: match[1] }), ...(match[3] && { to: match[3] }) };
}

/** What QIDO-RS (and DIMSE C-FIND) may match a study on; each absent key does not filter. */
export interface StudyQuery {
  /** PS3.4 C.2.2.2.4 wildcards `*` and `?`, matched case-insensitively. */
  patientName?: string;
  patientId?: string;
  accessionNumber?: string;
  studyDescription?: string;
  studyDate?: DateRange;
  /** Any of these modalities in the study. */
  modalitiesInStudy?: string[];
  /** Any of these studies (list of UID matching). */
  studyInstanceUids?: string[];
  limit: number;
  offset: number;
}

/** Series of one study (or of every study the caller sees, when `studyInstanceUid` is absent). */
export interface SeriesQuery {
  studyInstanceUid?: string;
  seriesInstanceUids?: string[];
  modality?: string;
  seriesNumber?: number;
  limit: number;
  offset: number;
}

/** Instances of one study, optionally of one series. */
export interface InstanceQuery {
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  sopInstanceUids?: string[];
  sopClassUid?: string;
  instanceNumber?: number;
  limit: number;
  offset: number;
}

/** The largest page a QIDO-RS answer holds, and the page when the client names none. */
export const QIDO_MAX_LIMIT = 1000;
export const QIDO_DEFAULT_LIMIT = 100;

/** A list of UIDs, comma-separated (PS3.18 §8.3.4.1 "UID list matching"); repeated keys are joined first. */
const uidList = z.string().max(64 * 200).refine((v) => v.split(',').every((uid) => uid.length <= 64 && UID.test(uid)), 'a comma-separated list of DICOM UIDs (PS3.5 §9.1)');
const integer = z.string().regex(/^\d{1,9}$/, 'a whole number');

/**
 * The QIDO-RS query keys Lantern matches on (PS3.18 §8.3.4), by keyword; the same keys by tag
 * (`00100020`) are accepted and read as these. Other attribute keys are ignored and named in a
 * `Warning: 299` header (PS3.18 §8.3.4.4 lets an origin server ignore what it does not support).
 */
export const qidoQuery = z.object({
  limit: integer.optional().meta({ description: `At most this many results (1–${QIDO_MAX_LIMIT}; default ${QIDO_DEFAULT_LIMIT}).` }),
  offset: integer.optional().meta({ description: 'Skip this many results first.' }),
  includefield: z.string().max(4000).regex(/^[A-Za-z0-9,]*$/, 'keywords or tags, comma-separated, or all').optional()
    .meta({ description: 'More attributes to return (keywords or tags, comma-separated), or `all`.' }),
  fuzzymatching: z.enum(['true', 'false']).optional().meta({ description: 'Accepted and ignored: names match case-insensitively anyway.' }),
  PatientName: z.string().max(320).optional().meta({ description: 'With `*` and `?` wildcards; case-insensitive.' }),
  PatientID: z.string().max(64).optional(),
  AccessionNumber: z.string().max(64).optional(),
  StudyDescription: z.string().max(64).optional().meta({ description: 'With `*` and `?` wildcards; case-insensitive.' }),
  StudyDate: z.string().regex(/^(\d{8})?(-(\d{8})?)?$/, 'a date YYYYMMDD or a range YYYYMMDD-YYYYMMDD, -YYYYMMDD, YYYYMMDD-').refine((v) => v !== '-' && v !== '', 'an empty range')
    .optional(),
  ModalitiesInStudy: z.string().max(400).regex(/^[A-Za-z0-9_]{1,16}(,[A-Za-z0-9_]{1,16})*$/, 'modalities, comma-separated').optional(),
  StudyInstanceUID: uidList.optional(),
  Modality: z.string().max(16).regex(/^[A-Za-z0-9_]+$/, 'a modality code').optional(),
  SeriesInstanceUID: uidList.optional(),
  SeriesNumber: integer.optional(),
  SOPInstanceUID: uidList.optional(),
  SOPClassUID: z.string().max(64).regex(UID, 'a DICOM UID').optional(),
  InstanceNumber: integer.optional(),
});
export type QidoQuery = z.infer<typeof qidoQuery>;

/** The tags of the keys above, as OHIF and dicomweb-client also send them. */
export const QIDO_KEY_TAGS: Readonly<Record<string, keyof QidoQuery>> = {
  '00100010': 'PatientName', '00100020': 'PatientID', '00080050': 'AccessionNumber', '00081030': 'StudyDescription', '00080020': 'StudyDate',
  '00080061': 'ModalitiesInStudy', '0020000D': 'StudyInstanceUID', '00080060': 'Modality', '0020000E': 'SeriesInstanceUID', '00200011': 'SeriesNumber',
  '00080018': 'SOPInstanceUID', '00080016': 'SOPClassUID', '00200013': 'InstanceNumber',
};

export const dicomwebStudyPath = z.object({ study: dicomUid });
export const dicomwebSeriesPath = dicomwebStudyPath.extend({ series: dicomUid });
export const dicomwebInstancePath = dicomwebSeriesPath.extend({ instance: dicomUid });
