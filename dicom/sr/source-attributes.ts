import { dicomJsonOf } from '../dicom-json.ts';
import { parseDicom } from '../parse.ts';
import { naturalize } from './dcmjs-io.ts';
import type { SourceIdentity, SourceImage } from './measurement-report.ts';

/**
 * The Patient, Clinical Trial Subject, General Study and Patient Study attributes an SR about
 * an image copies from it (PS3.3 C.7.1.1, C.7.1.3, C.7.2.1, C.7.2.2), by tag.
 */
export const COPIED_TAGS = [
  '00100010', '00100020', '00100021', '00100024', '00100030', '00100040', '00101001', '00101002', '00102160', '00104000',
  '00120010', '00120020', '00120030', '00120040', '00120042',
  '00080020', '00080030', '00080050', '00080051', '00080090', '00080096', '00081030', '00081032', '00081060', '00200010', '00321034',
  '00101010', '00101020', '00101030', '00102180', '001021B0',
];

/**
 * What ingest recorded about an image: its identity and size (from Lantern's parser, as
 * sourceImage reads them) and, of the DICOM JSON it stored, the COPIED_TAGS attributes the
 * image has — complete: a stored JSON that left one of them out is not one to copy from.
 */
export interface StoredSource extends SourceIdentity {
  copied: Record<string, unknown>;
}

/**
 * What an SR about an image needs, from what ingest stored: the same as sourceImage gives
 * for the image's bytes (ai-results-sr.test.ts proves the two write the same SR), without
 * reading and parsing the whole file again.
 */
export function storedSourceImage(stored: StoredSource): SourceImage {
  const { copied, ...identity } = stored;
  return { ...identity, attributes: copiedFrom(copied) };
}

/**
 * What an SR about an image needs from the image's own bytes: its identity and size, read by
 * Lantern's own parser (so a file without a Part 10 header reads as it did at ingest), and
 * the patient and study attributes as the file has them, through the same DICOM JSON reader
 * QIDO-RS answers from (text decoded from its character set). If that reader cannot read a
 * file the parser accepted, the attributes the parser knows are copied instead.
 */
export function sourceImage(bytes: Uint8Array): SourceImage {
  const parsed = parseDicom(bytes);
  const { meta } = parsed;
  return {
    studyInstanceUid: meta.studyInstanceUid,
    seriesInstanceUid: meta.seriesInstanceUid,
    sopInstanceUid: meta.sopInstanceUid,
    sopClassUid: meta.sopClassUid,
    modality: meta.modality,
    rows: meta.image?.rows,
    columns: meta.image?.columns,
    attributes: copiedAttributes(parsed) ?? {
      PatientName: meta.patientName, PatientID: meta.patientId, PatientBirthDate: meta.patientBirthDate, PatientSex: meta.patientSex,
      PatientAge: meta.patientAge, StudyDate: meta.studyDate, StudyTime: meta.studyTime, StudyDescription: meta.studyDescription,
      AccessionNumber: meta.accessionNumber,
    },
  };
}

function copiedAttributes(parsed: ReturnType<typeof parseDicom>): Record<string, unknown> | undefined {
  let dataset: Record<string, unknown>;
  try {
    ({ dataset } = dicomJsonOf(parsed.bytes, parsed.transferSyntaxUid, parsed.hasPart10Header));
  } catch {
    return undefined;
  }
  return copiedFrom(dataset);
}

/** The COPIED_TAGS attributes of a DICOM JSON data set, by keyword. */
function copiedFrom(dataset: Record<string, unknown>): Record<string, unknown> {
  return naturalize(Object.fromEntries(COPIED_TAGS.filter((tag) => tag in dataset).map((tag) => [tag, dataset[tag]])));
}
