import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DicomError, InvalidDicomError } from './errors.ts';
import { parseDicom, requirePixelData } from './parse.ts';
import { sharedDataDir } from './test-data.ts';

const dicomDir = path.join(sharedDataDir, 'dicom');
const read = (relative: string) => new Uint8Array(fs.readFileSync(path.join(dicomDir, relative)));
const parse = (relative: string) => parseDicom(read(relative));

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('parseDicom', () => {
  it('when a Part-10 CT arrives, then UIDs, patient and image attributes are read', () => {
    const instance = parse('cornerstone-wadoloader/testImages/CTImage.dcm');
    expect(instance.hasPart10Header).toBe(true);
    expect(instance.transferSyntaxUid).toBe('1.2.840.10008.1.2');
    expect(instance.meta.sopClassUid).toBe('1.2.840.10008.5.1.4.1.1.2');
    expect(instance.meta.studyInstanceUid).toMatch(/^[\d.]+$/);
    expect(instance.meta.modality).toBe('CT');
    expect(instance.meta.image).toMatchObject({
      rows: 512,
      columns: 512,
      samplesPerPixel: 1,
      photometricInterpretation: 'MONOCHROME2',
      bitsAllocated: 16,
      pixelRepresentation: 1,
      numberOfFrames: 1,
      rescaleSlope: 1,
      rescaleIntercept: -1024,
      windowCenter: 40,
      windowWidth: 400,
    });
    expect(instance.meta.image?.pixelSpacing?.[0]).toBeCloseTo(0.675781);
  });

  it('when a file has no Part-10 header (raw implicit little endian), then it is still parsed', () => {
    const instance = parse('fo-dicom/files/CR-MONO1-10-chest');
    expect(instance.hasPart10Header).toBe(false);
    expect(instance.transferSyntaxUid).toBe('1.2.840.10008.1.2');
    expect(instance.meta.modality).toBe('CR');
    expect(instance.meta.image).toMatchObject({ photometricInterpretation: 'MONOCHROME1', rows: 440, columns: 440 });
  });

  it('when raw data is explicit VR big endian without a header, then the byte order is detected', () => {
    const instance = parse('pydicom-testfiles/test_files/ExplVR_BigEndNoMeta.dcm');
    expect(instance.transferSyntaxUid).toBe('1.2.840.10008.1.2.2');
  });

  it('when the data set is deflated, then it is inflated and read', () => {
    const instance = parse('cornerstone-wadoloader/testImages/CTImage.dcm_DeflatedExplicitVRLittleEndianTransferSyntax_1.2.840.10008.1.2.1.99.dcm');
    expect(instance.transferSyntaxUid).toBe('1.2.840.10008.1.2.1.99');
    expect(instance.meta.image?.rows).toBe(512);
    expect(instance.dataSet.byteArray.length).toBeGreaterThan(instance.bytes.length);
  });

  it('when an enhanced multi-frame CT arrives, then frames and functional-group rescale are read', () => {
    const image = parse('cornerstone-dicomparser/testImages/encapsulated/multi-frame/CT0012.explicit_little_endian.dcm').meta.image;
    expect(image?.numberOfFrames).toBe(2);
    expect(image?.pixelSpacing).toBeDefined();
  });

  it.each([
    ['pydicom-testfiles/charset_files/chrX1.dcm', 'Wang^XiaoDong=王^小東='],
    ['pydicom-testfiles/charset_files/chrGerm.dcm', 'Äneas^Rüdiger'],
    ['fo-dicom/files/charset/chrGB2312.dcm', undefined],
  ])('when the character set is declared (%s), then the patient name decodes', (file, expected) => {
    const name = parse(file).meta.patientName;
    if (expected) expect(name).toBe(expected);
    else expect(name).toMatch(/[\u4e00-\u9fff]/);
  });

  it('when the file is truncated inside Pixel Data, then it is rejected as TRUNCATED_DICOM', () => {
    const error = thrownBy(() => parse('pydicom-testfiles/test_files/MR_truncated.dcm'));
    expect(error).toBeInstanceOf(InvalidDicomError);
    expect((error as DicomError).code).toBe('TRUNCATED_DICOM');
  });

  it('when Pixel Data is shorter than rows x columns x frames, then it is rejected as TRUNCATED_DICOM', () => {
    const whole = read('cornerstone-wadoloader/testImages/CTImage.dcm_LittleEndianExplicitTransferSyntax_1.2.840.10008.1.2.1.dcm');
    const error = thrownBy(() => parseDicom(patchPixelDataLength(whole, 1000)));
    expect((error as DicomError).code).toBe('TRUNCATED_DICOM');
  });

  it('when the bytes are not DICOM, then InvalidDicomError names the problem', () => {
    const error = thrownBy(() => parseDicom(new TextEncoder().encode('{"hello": "this is JSON, not an image"}')));
    expect(error).toBeInstanceOf(InvalidDicomError);
    expect((error as Error).message).toMatch(/Not DICOM/);
  });

  it('when a required UID is missing, then it is rejected with MISSING_ATTRIBUTE', () => {
    const error = thrownBy(() => parse('pydicom-testfiles/test_files/UN_sequence.dcm'));
    expect(error).toBeInstanceOf(InvalidDicomError);
    expect((error as DicomError).code).toBe('MISSING_ATTRIBUTE');
    expect((error as Error).message).toMatch(/Instance UID/);
  });

  it('when an instance has no Pixel Data, then requirePixelData throws NO_PIXEL_DATA', () => {
    const instance = parse('cornerstone-wadoloader/testImages/no-pixel-data.dcm');
    expect(instance.meta.image).toBeUndefined();
    const error = thrownBy(() => requirePixelData(instance));
    expect((error as DicomError).code).toBe('NO_PIXEL_DATA');
  });
});

/** Rewrites the explicit-VR OW length of Pixel Data (the last element) to `length` and cuts the file there. */
function patchPixelDataLength(bytes: Uint8Array, length: number): Uint8Array {
  const tag = [0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x57];
  let at = bytes.length - 12;
  while (at > 0 && !tag.every((b, i) => bytes[at + i] === b)) at--;
  const copy = bytes.slice(0, at + 12 + length);
  new DataView(copy.buffer).setUint32(at + 8, length, true);
  return copy;
}
