import fs from 'node:fs';
import path from 'node:path';
import dicomParser from 'dicom-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { DicomError, UnsupportedTransferSyntaxError } from '../errors.ts';
import { parseDicom } from '../parse.ts';
import { toModalityValues } from '../../test/support/float-pixels.ts';
import { sharedDataDir } from '../test-data.ts';
import { decodeFrame, type DecodedFrame } from './index.ts';
import { jpegLs } from './jpeg-ls.ts';
import { shapeFrame } from './shape.ts';

const dicomDir = path.join(sharedDataDir, 'dicom');
const oracleDir = path.join(dicomDir, 'cornerstone-wadoloader/testImages');
const parseFile = (file: string) => parseDicom(new Uint8Array(fs.readFileSync(file)));
const decodeFile = (file: string, frame = 0) => decodeFrame(parseFile(file), frame);

function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

function range(pixels: ArrayLike<number>): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < pixels.length; i++) {
    min = Math.min(min, pixels[i]);
    max = Math.max(max, pixels[i]);
  }
  return [min, max];
}

describe('decodeFrame against the CTImage.dcm oracle', () => {
  let reference: DecodedFrame;
  beforeAll(async () => {
    reference = await decodeFile(path.join(oracleDir, 'CTImage.dcm'));
  });

  it.each([
    ['explicit VR little endian', 'CTImage.dcm_LittleEndianExplicitTransferSyntax_1.2.840.10008.1.2.1.dcm'],
    ['implicit VR little endian', 'CTImage.dcm_LittleEndianImplicitTransferSyntax_1.2.840.10008.1.2.dcm'],
    ['explicit VR big endian', 'CTImage.dcm_BigEndianExplicitTransferSyntax_1.2.840.10008.1.2.2.dcm'],
    ['deflated explicit VR little endian', 'CTImage.dcm_DeflatedExplicitVRLittleEndianTransferSyntax_1.2.840.10008.1.2.1.99.dcm'],
    ['RLE lossless', 'CTImage.dcm_RLELosslessTransferSyntax_1.2.840.10008.1.2.5.dcm'],
    ['JPEG lossless process 14', 'CTImage.dcm_JPEGProcess14TransferSyntax_1.2.840.10008.1.2.4.57.dcm'],
    ['JPEG lossless SV1', 'CTImage.dcm_JPEGProcess14SV1TransferSyntax_1.2.840.10008.1.2.4.70.dcm'],
    ['JPEG-LS lossless', 'CTImage.dcm_JPEGLSLosslessTransferSyntax_1.2.840.10008.1.2.4.80.dcm'],
    ['JPEG 2000 lossless', 'CTImage.dcm_JPEG2000LosslessOnlyTransferSyntax_1.2.840.10008.1.2.4.90.dcm'],
  ])('when the CT is encoded as %s, then it decodes bit-identical to the oracle', async (_, file) => {
    const frame = await decodeFile(path.join(oracleDir, file));
    expect(frame.pixels).toBeInstanceOf(Int16Array);
    expect(frame.pixels.length).toBe(reference.pixels.length);
    expect(Buffer.from(frame.pixels.buffer).equals(Buffer.from(reference.pixels.buffer))).toBe(true);
  });

  // Tolerances in stored units (CT: 1 unit = 1 HU): JPEG-LS near-lossless is bounded by
  // its NEAR parameter; lossy JPEG 2000 here averages well under 1 HU.
  it.each([
    ['JPEG-LS near-lossless', 'CTImage.dcm_JPEGLSLossyTransferSyntax_1.2.840.10008.1.2.4.81.dcm', 1, 3],
    ['JPEG 2000 lossy', 'CTImage.dcm_JPEG2000TransferSyntax_1.2.840.10008.1.2.4.91.dcm', 1, 10],
  ])('when the CT is encoded as %s, then it decodes close to the oracle', async (_, file, maxMean, maxAbs) => {
    const frame = await decodeFile(path.join(oracleDir, file));
    expect(meanAbsDiff(frame.pixels, reference.pixels)).toBeLessThan(maxMean);
    let worst = 0;
    for (let i = 0; i < frame.pixels.length; i++) worst = Math.max(worst, Math.abs(frame.pixels[i] - reference.pixels[i]));
    expect(worst).toBeLessThanOrEqual(maxAbs);
  });

  it('when the CT is 8-bit JPEG baseline, then its rescaled HU stay within 25 HU mean of the oracle', async () => {
    // The .50 file was requantised to 8 bits with slope ~32 HU per step, so half a step of
    // quantisation plus DCT error is the floor; 25 HU mean abs diff allows for both.
    const instance = parseFile(path.join(oracleDir, 'CTImage.dcm_JPEGProcess1TransferSyntax_1.2.840.10008.1.2.4.50.dcm'));
    const frame = await decodeFrame(instance, 0);
    const referenceHu = toModalityValues(reference, parseFile(path.join(oracleDir, 'CTImage.dcm')).meta.image!);
    const hu = toModalityValues(frame, instance.meta.image!);
    expect(frame.pixels).toBeInstanceOf(Uint8Array);
    expect(meanAbsDiff(hu, referenceHu)).toBeLessThan(25);
  });
});

describe('decodeFrame on real radiographs', () => {
  it('when the 15-bit MONOCHROME1 chest CR in JPEG 2000 is decoded, then values are sane', async () => {
    const frame = await decodeFile(path.join(dicomDir, 'pydicom-data/files/RG1_J2KI.dcm'));
    expect(frame).toMatchObject({ rows: 1955, columns: 1841, photometricInterpretation: 'MONOCHROME1', bitsStored: 15 });
    const [min, max] = range(frame.pixels);
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(2 ** 15);
    expect(max).toBeGreaterThan(min);
  });

  it('when the chest CR has no Part-10 header, then it decodes to sane values', async () => {
    const frame = await decodeFile(path.join(dicomDir, 'fo-dicom/files/CR-MONO1-10-chest'));
    expect(frame).toMatchObject({ rows: 440, columns: 440, photometricInterpretation: 'MONOCHROME1' });
    const [min, max] = range(frame.pixels);
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(2 ** frame.bitsStored);
    expect(max).toBeGreaterThan(min);
  });
});

describe('decodeFrame on multi-frame and fragmented encapsulated data', () => {
  const multiDir = path.join(dicomDir, 'cornerstone-dicomparser/testImages/encapsulated/multi-frame');
  const singleDir = path.join(dicomDir, 'cornerstone-dicomparser/testImages/encapsulated/single-frame');

  it.each([
    'CT0012.fragmented_no_bot_jpeg_lossless.57.dcm',
    'CT0012.fragmented_no_bot_jpeg_lossless.70.dcm',
    'CT0012.fragmented_no_bot_jpeg_ls.80.dcm',
    'CT0012.not_fragmented_bot_jpeg_ls.80.dcm',
    'CT0012.not_fragmented_no_bot_jpeg_ls.80.dcm',
    'CT0012.not_fragmented_bot_rle.dcm',
    'CT0012.not_fragmented_no_bot_rle.dcm',
  ])('when both frames of %s are decoded, then each equals the uncompressed frame', async (file) => {
    const instance = parseFile(path.join(multiDir, file));
    const native = parseFile(path.join(multiDir, 'CT0012.explicit_little_endian.dcm'));
    for (const index of [0, 1]) {
      const frame = await decodeFrame(instance, index);
      const expected = await decodeFrame(native, index);
      expect(Array.from(frame.pixels)).toEqual(Array.from(expected.pixels));
    }
  });

  it.each([
    'CT1_UNC.fragmented_bot_jpeg_ls.80.dcm',
    'CT1_UNC.fragmented_no_bot_jpeg_ls.80.dcm',
    'CT1_UNC.not_fragmented_bot_jpeg_ls.80.dcm',
    'CT1_UNC.not_fragmented_no_bot_jpeg_ls.80.dcm',
  ])('when a single frame is split as %s, then it equals the uncompressed frame', async (file) => {
    const frame = await decodeFile(path.join(singleDir, file));
    const expected = await decodeFile(path.join(singleDir, 'CT1_UNC.explicit_little_endian.dcm'));
    expect(Array.from(frame.pixels)).toEqual(Array.from(expected.pixels));
  });

  it('when a multi-frame colour JPEG baseline is decoded, then each frame comes out as close RGB', async () => {
    const jpeg = parseFile(path.join(multiDir, 'IM00001.fragmented_no_bot_jpeg_baseline.50.dcm'));
    const native = parseFile(path.join(multiDir, 'IM00001.implicit_little_endian.dcm'));
    const frame = await decodeFrame(jpeg, 7);
    const expected = await decodeFrame(native, 7);
    expect(frame.photometricInterpretation).toBe('RGB');
    expect(meanAbsDiff(frame.pixels, expected.pixels)).toBeLessThan(5);
  });

  it('when a frame index is out of range, then a DicomError says so', async () => {
    const instance = parseFile(path.join(multiDir, 'CT0012.not_fragmented_bot_rle.dcm'));
    await expect(decodeFrame(instance, 2)).rejects.toMatchObject({ code: 'FRAME_OUT_OF_RANGE' });
  });
});

describe('decodeFrame on colour and unsupported encodings', () => {
  it('when RGB is stored plane by plane, then it is returned interleaved', async () => {
    const planar = await decodeFile(path.join(dicomDir, 'pydicom-data/files/color-pl.dcm'));
    const interleaved = await decodeFile(path.join(dicomDir, 'pydicom-data/files/color-px.dcm'));
    expect(Array.from(planar.pixels)).toEqual(Array.from(interleaved.pixels));
  });

  it('when JPEG-LS colour uses interleave mode 0 (planes), then it matches sample-interleaved mode 2', async () => {
    // These pydicom-data files carry no Study Instance UID, so parseDicom rightly refuses
    // them; the decoder is exercised directly on their single fragment.
    const decodeJls = async (name: string) => {
      const bytes = new Uint8Array(fs.readFileSync(path.join(dicomDir, 'pydicom-data/files', name)));
      const dataSet = dicomParser.parseDicom(bytes, { TransferSyntaxUID: '1.2.840.10008.1.2.1' });
      const pixelData = dataSet.elements.x7fe00010;
      const encoded = dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, pixelData, 0, pixelData.fragments!.length);
      const image = { rows: dataSet.uint16('x00280010')!, columns: dataSet.uint16('x00280011')!, samplesPerPixel: 3,
        photometricInterpretation: 'RGB', bitsAllocated: 8, bitsStored: 8, highBit: 7, pixelRepresentation: 0 as const,
        planarConfiguration: 0 as const, numberOfFrames: 1, rescaleSlope: 1, rescaleIntercept: 0 };
      return shapeFrame(await jpegLs.decode({ bytes: encoded, image }), image);
    };
    const planes = await decodeJls('JLSL_RGB_ILV0.dcm');
    const interleaved = await decodeJls('JLSL_RGB_ILV2.dcm');
    expect(Array.from(planes.pixels)).toEqual(Array.from(interleaved.pixels));
  });

  it('when colour RLE is decoded, then it equals the uncompressed RGB', async () => {
    const rle = await decodeFile(path.join(dicomDir, 'pydicom-testfiles/test_files/SC_rgb_rle.dcm'));
    const native = await decodeFile(path.join(dicomDir, 'pydicom-data/files/SC_rgb.dcm'));
    expect(Array.from(rle.pixels)).toEqual(Array.from(native.pixels));
  });

  it('when the JPEG is 12-bit extended (.51), then UnsupportedTransferSyntaxError is thrown', async () => {
    const file = path.join(oracleDir, 'CTImage.dcm_JPEGProcess2_4TransferSyntax_1.2.840.10008.1.2.4.51.dcm');
    await expect(decodeFile(file)).rejects.toBeInstanceOf(UnsupportedTransferSyntaxError);
  });

  it('when the transfer syntax has no decoder (.55), then UnsupportedTransferSyntaxError names it', async () => {
    const file = path.join(oracleDir, 'CTImage.dcm_JPEGProcess10_12TransferSyntax_1.2.840.10008.1.2.4.55.dcm');
    const error = await decodeFile(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedTransferSyntaxError);
    expect((error as DicomError).message).toContain('1.2.840.10008.1.2.4.55');
  });
});

describe('decodeFrame on a codestream that disagrees with its header', () => {
  /** A real chest CR in JPEG 2000 (1841 × 1955) whose SIZ segment is edited to declare `size` × `size`; the DICOM header is untouched. */
  function j2kDeclaring(size: number): Uint8Array {
    const bytes = new Uint8Array(fs.readFileSync(path.join(dicomDir, 'pydicom-data/files/RG1_J2KI.dcm')));
    const siz = bytes.findIndex((b, i) => b === 0xff && bytes[i + 1] === 0x4f && bytes[i + 2] === 0xff && bytes[i + 3] === 0x51);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    view.setUint32(siz + 8, size);
    view.setUint32(siz + 12, size);
    return bytes;
  }

  it('when a JPEG 2000 codestream declares 20,000 × 20,000 under a 1841 × 1955 header, then it is refused before OpenJPEG allocates for it, and memory stays flat', async () => {
    // The header's frame is within every budget, so parsing passes; only the codestream lies (it once held a process at 1.6 GB).
    const instance = parseDicom(j2kDeclaring(20_000));
    const rssBefore = process.memoryUsage().rss;
    const error = await decodeFrame(instance, 0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DicomError);
    expect(error).toMatchObject({ code: 'PIXEL_DECODE_FAILED', message: 'OpenJPEG declares 20000x20000x1 but the header says 1841x1955x1' });
    expect((process.memoryUsage().rss - rssBefore) / 1024 / 1024).toBeLessThan(100);
  });
});
