import path from 'node:path';
import { sharedDataDir as sharedData } from '../../dicom/test-data.ts';

export { sharedData };

export const files = {
  /** Real adult chest CR: JPEG 2000, 1841×1955, 15-bit MONOCHROME1. */
  chestJ2k: path.join(sharedData, 'dicom/pydicom-data/files/RG1_J2KI.dcm'),
  /** Real chest CR without a Part-10 header (raw implicit VR little endian). */
  chestRaw: path.join(sharedData, 'dicom/fo-dicom/files/CR-MONO1-10-chest'),
  /** Real CR, JPEG 2000 lossy, 1760×1760, 10-bit MONOCHROME1 (another study than chestJ2k). */
  crJ2k1760: path.join(sharedData, 'dicom/pydicom-data/files/RG3_J2KI.dcm'),
  /** Real CR, JPEG lossless with a modality LUT sequence, 1976×1576. */
  crModalityLut: path.join(sharedData, 'dicom/fo-dicom/files/CR-ModalitySequenceLUT.dcm'),
  truncated: path.join(sharedData, 'dicom/pydicom-testfiles/test_files/MR_truncated.dcm'),
  /** Real Basic Text SR (a dcmtk sample): an object without Pixel Data. */
  noPixelData: path.join(sharedData, 'dicom/cornerstone-wadoloader/testImages/no-pixel-data.dcm'),
  /** Real Comprehensive SR (a dcmtk sample), explicit VR little endian. */
  report: path.join(sharedData, 'dicom/pydicom-testfiles/test_files/test-SR.dcm'),
  ct: path.join(sharedData, 'dicom/cornerstone-wadoloader/testImages/CTImage.dcm'),
};
