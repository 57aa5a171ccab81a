/**
 * A chain fed a reduced decode (its own `decode` options) still registers what the model saw
 * onto the original image: the region comes back in original pixels, within one decoded pixel
 * (× scale) of the region a full-resolution decode gives, and inside the image, for RG1 and for
 * odd sizes either way round.
 */
import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ImageAttributes } from '../../dicom/attributes.ts';
import { decodeFrame, type DecodedFrame } from '../../dicom/decode/index.ts';
import { parseDicom, requirePixelData, type DicomInstance } from '../../dicom/parse.ts';
import { buildCr } from '../../test/support/dicom-builder.ts';
import { files } from '../../test/support/shared-data.ts';
import { DECODE_MARGIN } from './chain.ts';
import { compileChain, namedChain } from './index.ts';

/** RG1's stored values cropped to `columns` × `rows`, as an uncompressed CR (reduced by box averaging). */
function croppedCr(full: DecodedFrame, columns: number, rows: number, n: number): DicomInstance {
  const pixels = new Uint16Array(columns * rows);
  for (let y = 0; y < rows; y++) pixels.set(full.pixels.subarray(y * full.columns, y * full.columns + columns), y * columns);
  const grey = { rows, columns, bitsAllocated: 16, bitsStored: 15, pixelRepresentation: 0, photometricInterpretation: 'MONOCHROME1' };
  return parseDicom(buildCr(`1.2.826.0.1.3680043.10.1.16.2${n}`, '1.2.840.10008.1.2.1', grey, new Uint8Array(pixels.buffer)));
}

function expectSameRegion(full: { left: number; top: number; size: number }, reduced: { left: number; top: number; size: number }, scale: number, image: ImageAttributes) {
  expect(Math.abs(reduced.left - full.left)).toBeLessThanOrEqual(scale);
  expect(Math.abs(reduced.top - full.top)).toBeLessThanOrEqual(scale);
  expect(Math.abs(reduced.size - full.size)).toBeLessThanOrEqual(scale);
  expect(reduced.left + reduced.size).toBeLessThanOrEqual(image.columns);
  expect(reduced.top + reduced.size).toBeLessThanOrEqual(image.rows);
}

describe('a chain on a reduced decode', () => {
  let rg1: DicomInstance;
  let rg1Full: DecodedFrame;
  beforeAll(async () => {
    rg1 = parseDicom(new Uint8Array(fs.readFileSync(files.chestJ2k)));
    rg1Full = await decodeFrame(rg1, 0);
  });

  it('when RG1 is decoded for a 224-pixel model, then it is level 2 and the region matches the full decode\'s within one decoded pixel', async () => {
    const chain = namedChain('grey-square@1', [224, 224]);
    expect(chain.decode).toEqual({ atLeast: { columns: DECODE_MARGIN * 224, rows: DECODE_MARGIN * 224 } });
    const image = requirePixelData(rg1);
    const reduced = await decodeFrame(rg1, 0, chain.decode);
    expect([reduced.columns, reduced.rows, reduced.scale]).toEqual([461, 489, 4]);
    const [fromFull, fromReduced] = [await chain.run(rg1Full, image), await chain.run(reduced, image)];
    expect(fromFull.region).toEqual({ left: 0, top: 57, size: 1841 });
    expectSameRegion(fromFull.region, fromReduced.region, reduced.scale, image);
    expect([fromReduced.width, fromReduced.height]).toEqual([224, 224]);
  });

  it.each([
    ['wider than tall (1001 × 777)', 1001, 777],
    ['taller than wide (777 × 1001)', 777, 1001],
    ['odd both ways and small (203 × 355)', 203, 355],
  ])('when an odd-sized image %s is box-reduced for a 28-pixel model, then the region matches the full decode\'s within one decoded pixel', async (_, columns, rows) => {
    const instance = croppedCr(rg1Full, columns, rows, columns);
    const image = requirePixelData(instance);
    const chain = namedChain('grey-square@1', [28, 28]);
    const reduced = await decodeFrame(instance, 0, chain.decode);
    expect(reduced.scale).toBeGreaterThan(1);
    expect(Math.min(reduced.columns, reduced.rows)).toBeGreaterThanOrEqual(DECODE_MARGIN * 28);
    const [fromFull, fromReduced] = [await chain.run(await decodeFrame(instance, 0), image), await chain.run(reduced, image)];
    expectSameRegion(fromFull.region, fromReduced.region, reduced.scale, image);
  });

  it('when a card declares "decode": "full", then its chain asks for full resolution', () => {
    const chain = compileChain({ id: 'grey-square', version: '1', size: [224, 224], decode: 'full' });
    expect(chain.decode).toEqual({});
  });
});
