/**
 * Decoders without a resolution pyramid (uncompressed, RLE, JPEG lossless, JPEG-LS, JPEG
 * baseline) give a reduced frame as the 2^r box average of the full decode: same typed array,
 * partial blocks at the right and bottom edges, rounded half up; and the level chosen is the
 * coarsest that still covers `atLeast`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCr } from '../../test/support/dicom-builder.ts';
import { files, sharedData } from '../../test/support/shared-data.ts';
import { parseDicom } from '../parse.ts';
import { decodeFrame, type DecodedFrame } from './index.ts';
import { coarsestLevel } from './reduce.ts';

const parseFile = (file: string) => parseDicom(new Uint8Array(fs.readFileSync(file)));
const pydicom = (name: string) => path.join(sharedData, 'dicom/pydicom-data/files', name);

/** Reduced pixel (x, y), sample s, computed on its own: the rounded mean of the full-resolution block it covers. */
function blockMean(full: DecodedFrame, block: number, x: number, y: number, s: number): number {
  let sum = 0;
  let count = 0;
  for (let row = y * block; row < Math.min((y + 1) * block, full.rows); row++) {
    for (let column = x * block; column < Math.min((x + 1) * block, full.columns); column++) {
      sum += full.pixels[(row * full.columns + column) * full.samplesPerPixel + s];
      count++;
    }
  }
  return Math.floor(sum / count + 0.5);
}

function expectBoxAverage(full: DecodedFrame, reduced: DecodedFrame, block: number) {
  expect(reduced.scale).toBe(block);
  expect([reduced.columns, reduced.rows]).toEqual([Math.ceil(full.columns / block), Math.ceil(full.rows / block)]);
  expect(reduced.pixels.constructor).toBe(full.pixels.constructor);
  let mismatches = 0;
  for (let y = 0; y < reduced.rows; y++) {
    for (let x = 0; x < reduced.columns; x++) {
      for (let s = 0; s < full.samplesPerPixel; s++) {
        if (reduced.pixels[(y * reduced.columns + x) * full.samplesPerPixel + s] !== blockMean(full, block, x, y, s)) mismatches++;
      }
    }
  }
  expect(mismatches).toBe(0);
}

describe('box reduction of frames without a pyramid', () => {
  it.each([
    ['an uncompressed 12-bit chest CR (440 × 440)', files.chestRaw, { columns: 100, rows: 100 }, 4],
    ['an uncompressed signed CT (512 × 512)', files.ct, { columns: 64, rows: 60 }, 8],
    ['a JPEG lossless signed MR (256 × 1024)', pydicom('JPEG-LL.dcm'), { columns: 60, rows: 100 }, 4],
    ['an uncompressed RGB frame (640 × 480), per sample', pydicom('US1_UNCR.dcm'), { columns: 150, rows: 100 }, 4],
    ['an uncompressed planar RGB frame (256 × 120)', pydicom('color-pl.dcm'), { columns: 33, rows: 15 }, 4],
  ])('when %s is wanted smaller, then each pixel is the mean of the block it covers', async (_, file, atLeast, block) => {
    const instance = parseFile(file);
    expectBoxAverage(await decodeFrame(instance, 0), await decodeFrame(instance, 0, { atLeast }), block);
  });

  it('when an odd-sized signed frame is reduced, then edge blocks average what they have and halves round up', async () => {
    // 5 × 3, chosen so that blocks have 4, 2 and 1 pixels and means of −2.5, 10.5 and −1.25.
    const values = [
      -3, -2, 5, 6, 9,
      -1, 1, 2, 4, -14,
      10, 11, -4, -4, 3,
    ];
    const grey = { rows: 3, columns: 5, bitsAllocated: 16, bitsStored: 16, pixelRepresentation: 1, photometricInterpretation: 'MONOCHROME2' };
    const instance = parseDicom(buildCr('1.2.826.0.1.3680043.10.1.16.10', '1.2.840.10008.1.2.1', grey, new Uint8Array(Int16Array.from(values).buffer)));
    const half = await decodeFrame(instance, 0, { atLeast: { columns: 3, rows: 2 } });
    expect([half.columns, half.rows, half.scale]).toEqual([3, 2, 2]);
    expect(half.pixels).toBeInstanceOf(Int16Array);
    expect(Array.from(half.pixels)).toEqual([-1, 4, -2, 11, -4, 3]);
    const quarter = await decodeFrame(instance, 0, { atLeast: { columns: 2, rows: 1 } });
    expect([quarter.columns, quarter.rows, quarter.scale]).toEqual([2, 1, 4]);
    // (−3 −2 +5 +6 −1 +1 +2 +4 +10 +11 −4 −4) / 12 = 2.08; (9 − 14 + 3) / 3 = −0.67.
    expect(Array.from(quarter.pixels)).toEqual([2, -1]);
  });

  it('when the frame is PALETTE COLOR, then it stays at full resolution (the mean of two indices is a third colour)', async () => {
    const frame = await decodeFrame(parseFile(pydicom('OT-PAL-8-face.dcm')), 0, { atLeast: { columns: 64, rows: 64 } });
    expect([frame.columns, frame.rows, frame.scale]).toEqual([640, 480, 1]);
  });
});

describe('coarsestLevel', () => {
  it.each([
    [{ columns: 1841, rows: 1955 }, { columns: 448, rows: 448 }, 2],
    [{ columns: 1841, rows: 1955 }, { columns: 461, rows: 489 }, 2],
    [{ columns: 1841, rows: 1955 }, { columns: 462, rows: 10 }, 1],
    [{ columns: 440, rows: 440 }, { columns: 224, rows: 224 }, 0],
    [{ columns: 440, rows: 440 }, { columns: 1000, rows: 1000 }, 0],
    [{ columns: 5, rows: 3 }, { columns: 1, rows: 1 }, 3],
  ])('when the frame is %o and the caller needs %o, then the level is %i', (full, atLeast, level) => {
    expect(coarsestLevel(full, atLeast)).toBe(level);
  });

  it('when no size is asked for, then the level is 0 (full resolution)', () => {
    expect(coarsestLevel({ columns: 1841, rows: 1955 }, undefined)).toBe(0);
  });

  it('when the size asked for is not positive, then it is refused', () => {
    expect(() => coarsestLevel({ columns: 10, rows: 10 }, { columns: 0, rows: 4 })).toThrow(RangeError);
    expect(() => coarsestLevel({ columns: 10, rows: 10 }, { columns: Number.NaN, rows: 4 })).toThrow(RangeError);
  });
});
