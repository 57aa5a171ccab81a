/**
 * Frames decoded on the decoding thread are the same pixels as decoded in-process, and
 * the thread's failures come back as the same typed errors the API maps to 4xx codes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidDicomError, UnsupportedTransferSyntaxError } from '../../errors.ts';
import { parseDicom } from '../../parse.ts';
import { sharedDataDir } from '../../test-data.ts';
import { decodeFrame } from '../index.ts';
import { createOffThreadDecoder } from './index.ts';

const read = (relative: string) => new Uint8Array(fs.readFileSync(path.join(sharedDataDir, relative)));

describe('off-thread frame decoder', () => {
  const decoder = createOffThreadDecoder();
  afterAll(() => decoder.close());

  it('when a JPEG 2000 chest film is decoded on the thread, then its pixels equal an in-process decode', async () => {
    const bytes = read('dicom/pydicom-data/files/RG1_J2KI.dcm');
    const [offThread, inProcess] = await Promise.all([decoder.decode(bytes, 0), decodeFrame(parseDicom(bytes), 0)]);
    expect({ rows: offThread.rows, columns: offThread.columns, bitsStored: offThread.bitsStored }).toEqual({ rows: inProcess.rows, columns: inProcess.columns, bitsStored: inProcess.bitsStored });
    expect(offThread.pixels.constructor).toBe(inProcess.pixels.constructor);
    expect(Buffer.compare(Buffer.from(offThread.pixels.buffer, offThread.pixels.byteOffset, offThread.pixels.byteLength),
      Buffer.from(inProcess.pixels.buffer, inProcess.pixels.byteOffset, inProcess.pixels.byteLength))).toBe(0);
  });

  it('when a reduced decode is asked for on the thread, then it is the in-process reduced decode', async () => {
    const bytes = read('dicom/pydicom-data/files/RG1_J2KI.dcm');
    const options = { atLeast: { columns: 448, rows: 448 } };
    const [offThread, inProcess] = await Promise.all([decoder.decode(bytes, 0, options), decodeFrame(parseDicom(bytes), 0, options)]);
    expect([offThread.columns, offThread.rows, offThread.scale]).toEqual([inProcess.columns, inProcess.rows, inProcess.scale]);
    expect(offThread.scale).toBeGreaterThan(1);
    expect(Buffer.from(offThread.pixels.buffer, offThread.pixels.byteOffset, offThread.pixels.byteLength)
      .equals(Buffer.from(inProcess.pixels.buffer, inProcess.pixels.byteOffset, inProcess.pixels.byteLength))).toBe(true);
  });

  it('when the bytes are a Node Buffer viewing part of a larger buffer, then the frame is decoded from that part and the caller keeps its bytes', async () => {
    const file = read('dicom/fo-dicom/files/CR-MONO1-10-chest');
    // How blob reads and multipart bodies hand bytes over: a Buffer at an offset into memory it shares.
    const shared = Buffer.concat([Buffer.alloc(13, 0xff), file, Buffer.alloc(7, 0xff)]);
    const view = shared.subarray(13, 13 + file.byteLength);
    const [offThread, inProcess] = await Promise.all([decoder.decode(view, 0), decodeFrame(parseDicom(file), 0)]);
    expect(Buffer.from(offThread.pixels.buffer, offThread.pixels.byteOffset, offThread.pixels.byteLength)
      .equals(Buffer.from(inProcess.pixels.buffer, inProcess.pixels.byteOffset, inProcess.pixels.byteLength))).toBe(true);
    expect(shared.byteLength).toBe(file.byteLength + 20);
    expect(view.equals(file)).toBe(true);
  });

  it('when several requests queue, then each gets its own frame', async () => {
    const files = ['dicom/pydicom-data/files/RG1_J2KI.dcm', 'dicom/fo-dicom/files/CR-MONO1-10-chest', 'dicom/cornerstone-wadoloader/testImages/CTImage.dcm'];
    const frames = await Promise.all(files.map((f) => decoder.decode(read(f), 0)));
    expect(frames.map((f) => [f.rows, f.columns])).toEqual([[1955, 1841], [440, 440], [512, 512]]);
  });

  it('when the file is truncated, then the thread reports an InvalidDicomError with its code and keeps serving', async () => {
    const failure = decoder.decode(read('dicom/pydicom-testfiles/test_files/MR_truncated.dcm'), 0);
    await expect(failure).rejects.toBeInstanceOf(InvalidDicomError);
    await expect(failure).rejects.toMatchObject({ code: expect.stringMatching(/TRUNCATED|INVALID/) });
    expect((await decoder.decode(read('dicom/fo-dicom/files/CR-MONO1-10-chest'), 0)).rows).toBe(440);
  });

  it('when the transfer syntax has no decoder, then the thread reports an UnsupportedTransferSyntaxError', async () => {
    const failure = decoder.decode(read('dicom/cornerstone-wadoloader/testImages/CTImage.dcm_JPEGProcess10_12TransferSyntax_1.2.840.10008.1.2.4.55.dcm'), 0);
    await expect(failure).rejects.toBeInstanceOf(UnsupportedTransferSyntaxError);
    await expect(failure).rejects.toThrow('1.2.840.10008.1.2.4.55');
  });

  it('when the frame number is past the last frame, then the error names it', async () => {
    await expect(decoder.decode(read('dicom/fo-dicom/files/CR-MONO1-10-chest'), 3)).rejects.toBeInstanceOf(InvalidDicomError);
  });
});
