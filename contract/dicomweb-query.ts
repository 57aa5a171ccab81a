import { z } from 'zod';

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
