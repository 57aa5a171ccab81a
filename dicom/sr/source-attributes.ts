import { parseDicom } from '../parse.ts';
import type { SourceImage } from './measurement-report.ts';

/**
 * What an SR about an image needs from the image's own bytes: its identity and size, and
 * the patient and study attributes, read by Lantern's own parser (so a file without a
 * Part 10 header, or in another character set, reads as it did at ingest), under the same
 * limits.
 */
export function sourceImage(bytes: Uint8Array): SourceImage {
  const { meta } = parseDicom(bytes);
  return {
    studyInstanceUid: meta.studyInstanceUid,
    seriesInstanceUid: meta.seriesInstanceUid,
    sopInstanceUid: meta.sopInstanceUid,
    sopClassUid: meta.sopClassUid,
    rows: meta.image?.rows,
    columns: meta.image?.columns,
    attributes: {
      PatientName: meta.patientName,
      PatientID: meta.patientId,
      PatientBirthDate: meta.patientBirthDate,
      PatientSex: meta.patientSex,
      PatientAge: meta.patientAge,
      StudyDate: meta.studyDate,
      StudyTime: meta.studyTime,
      StudyDescription: meta.studyDescription,
      AccessionNumber: meta.accessionNumber,
      Modality: meta.modality,
    },
  };
}
