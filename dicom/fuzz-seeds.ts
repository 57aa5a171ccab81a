import fs from 'node:fs';
import path from 'node:path';
import type { FuzzSeed } from './fuzz.ts';
import { sharedDataDir } from './test-data.ts';

/** Real files the campaign mutates: each byte order, explicit and implicit VR, deflate, RLE, JPEG 2000, sequences. */
export const FUZZ_SEED_FILES = [
  'dicom/pydicom-testfiles/test_files/CT_small.dcm',
  'dicom/pydicom-testfiles/test_files/MR_small.dcm',
  'dicom/pydicom-testfiles/test_files/MR_small_bigendian.dcm',
  'dicom/pydicom-testfiles/test_files/MR_small_implicit.dcm',
  'dicom/pydicom-testfiles/test_files/MR_small_RLE.dcm',
  'dicom/pydicom-testfiles/test_files/JPEG2000.dcm',
  'dicom/cornerstone-wadoloader/testImages/CTImage.dcm_DeflatedExplicitVRLittleEndianTransferSyntax_1.2.840.10008.1.2.1.99.dcm',
];

export function fuzzSeeds(): FuzzSeed[] {
  return FUZZ_SEED_FILES.map((relative) => ({ name: path.basename(relative), bytes: new Uint8Array(fs.readFileSync(path.join(sharedDataDir, relative))) }));
}
