import fs from 'node:fs';
import path from 'node:path';
import dcmjs from 'dcmjs';
import dicomParser from 'dicom-parser';
import { describe, expect, it } from 'vitest';
import { PIXEL_DATA } from '../attributes.ts';
import { parseDicom } from '../parse.ts';
import { sharedDataDir } from '../test-data.ts';
import { decodeFrame } from './index.ts';

/**
 * The chest CR in JPEG 2000 read and written back by dcmjs, as a DICOMweb client built on it
 * sends it: dcmjs takes each of the file's 11 fragments for a frame, writes a Basic Offset
 * Table with 11 entries and re-splits the fragments, while Number of Frames stays 1.
 */
function rewrittenByDcmjs(bytes: Buffer): Uint8Array {
  // Lantern's typings of dcmjs (dicom/deidentify/dcmjs.d.ts) cover only what run-time code uses.
  const { data } = dcmjs as unknown as { data: { DicomMessage: { readFile(buffer: ArrayBuffer): { write(): ArrayBuffer } } } };
  const message = data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  return new Uint8Array(message.write());
}

describe('encapsulated frames whose offset table does not match the frames', () => {
  it('when a one-frame JPEG 2000 comes back from dcmjs with a multi-entry offset table and re-split fragments, then it decodes to the original pixels', async () => {
    const original = fs.readFileSync(path.join(sharedDataDir, 'dicom/pydicom-data/files/RG1_J2KI.dcm'));
    const rewritten = rewrittenByDcmjs(original);
    const parsed = dicomParser.parseDicom(rewritten);
    const pixelData = parsed.elements[PIXEL_DATA];
    // The layout that once failed with "OpenJPEG produced 0x0x0": more table entries than frames.
    expect(parsed.intString('x00280008') ?? 1).toBe(1);
    expect(pixelData.basicOffsetTable!.length).toBeGreaterThan(1);
    expect(pixelData.fragments!.length).toBeGreaterThan(pixelData.basicOffsetTable!.length);

    const expected = await decodeFrame(parseDicom(new Uint8Array(original)), 0);
    const frame = await decodeFrame(parseDicom(rewritten), 0);
    expect([frame.rows, frame.columns]).toEqual([expected.rows, expected.columns]);
    expect(Buffer.from(frame.pixels.buffer, frame.pixels.byteOffset, frame.pixels.byteLength)
      .equals(Buffer.from(expected.pixels.buffer, expected.pixels.byteOffset, expected.pixels.byteLength))).toBe(true);
  }, 60_000);
});
