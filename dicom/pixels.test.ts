import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { displayWindow, toDisplayGrey } from '../test/support/float-pixels.ts';
import type { ImageAttributes } from './attributes.ts';
import { decodeFrame, type DecodedFrame } from './decode/index.ts';
import { DicomError } from './errors.ts';
import { parseDicom } from './parse.ts';
import { displayTable, displayWindowOfStored, modalityTable, type ModalityTable } from './pixels.ts';
import { sharedDataDir } from './test-data.ts';

const image = (overrides: Partial<ImageAttributes> = {}): ImageAttributes => ({
  rows: 1, columns: 4, samplesPerPixel: 1, photometricInterpretation: 'MONOCHROME2',
  bitsAllocated: 16, bitsStored: 12, highBit: 11, pixelRepresentation: 0, planarConfiguration: 0,
  numberOfFrames: 1, rescaleSlope: 1, rescaleIntercept: 0, ...overrides,
});

const frame = (pixels: DecodedFrame['pixels'], photometricInterpretation = 'MONOCHROME2', samplesPerPixel = 1): DecodedFrame => ({
  rows: 1, columns: pixels.length / samplesPerPixel, samplesPerPixel, photometricInterpretation,
  bitsStored: 12, pixelRepresentation: 0, pixels, scale: 1,
});

/** The served path on a frame: the 0..max code of every pixel through modality table, window and display table. */
function served(decoded: DecodedFrame, attributes: ImageAttributes, max = 65535) {
  const table = modalityTable(decoded, attributes);
  const window = displayWindowOfStored(attributes, decoded.pixels, table);
  const codes = displayTable(table, window, decoded.photometricInterpretation === 'MONOCHROME1', max);
  return { window, codes: Array.from(decoded.pixels, (s) => codes[s + table.offset]) };
}

const signed16 = (pixels: number[]): DecodedFrame => ({ ...frame(Int16Array.from(pixels)), bitsStored: 16, pixelRepresentation: 1 });

describe('pixels', () => {
  it('when slope and intercept are set, then the modality table applies them to every stored value', () => {
    const table = modalityTable(signed16([0]), image({ rescaleSlope: 2, rescaleIntercept: -1024 }));
    expect([0, 1000, -5, 24].map((s) => table.values[s + table.offset])).toEqual([-1024, 976, -1034, -976]);
  });

  it('when the frame is colour, then the modality table is refused with UNSUPPORTED_PHOTOMETRIC', () => {
    const refuse = () => modalityTable(frame(new Uint8Array(6), 'RGB', 3), image({ samplesPerPixel: 3 }));
    expect(refuse).toThrow(DicomError);
    expect(refuse).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_PHOTOMETRIC' }));
  });

  it('when the file has a VOI window, then it is the window, unchanged', () => {
    const pixels = new Uint16Array([0, 1]);
    const attributes = image({ windowCenter: 40, windowWidth: 400 });
    expect(displayWindowOfStored(attributes, pixels, modalityTable(frame(pixels), attributes))).toEqual({ center: 40, width: 400 });
  });

  it('when there is no VOI window, then percentiles ignore a few extreme outliers', () => {
    const values = Array.from({ length: 10_000 }, (_, i) => i % 1000);
    values[0] = -30_000;
    values[1] = 30_000;
    const { window, codes } = served(signed16(values), image({ bitsStored: 16, pixelRepresentation: 1 }));
    expect(codes[5]).toBeLessThan(0.01 * 65535);
    expect(codes[994]).toBeGreaterThan(0.99 * 65535);
    expect(window.width).toBeLessThan(1100);
  });

  it('when values are windowed, then the DICOM linear function maps the edges and centre', () => {
    // Slope 0.5: modality values −1000, −160.5 (the window's bottom), 39.5 (its centre), 239.5 (its top), 1000.
    const { codes } = served(signed16([-2000, -321, 79, 479, 2000]), image({ bitsStored: 16, pixelRepresentation: 1, rescaleSlope: 0.5, windowCenter: 40, windowWidth: 400 }));
    expect(codes).toEqual([0, 0, Math.round(0.5 * 65535), 65535, 65535]);
  });

  it('when the image is MONOCHROME1, then low stored values display bright', () => {
    const { codes } = served(frame(new Uint16Array([0, 100]), 'MONOCHROME1'), image({ photometricInterpretation: 'MONOCHROME1', windowCenter: 50.5, windowWidth: 101 }));
    expect(codes).toEqual([65535, 0]);
  });

  it('when the real MONOCHROME1 chest CR is windowed, then the lungs are darker than the mediastinum', async () => {
    const instance = parseDicom(new Uint8Array(fs.readFileSync(path.join(sharedDataDir, 'dicom/fo-dicom/files/CR-MONO1-10-chest'))));
    const decoded = await decodeFrame(instance, 0);
    const { codes } = served(decoded, instance.meta.image!);
    const mean = (x0: number, x1: number, y0: number, y1: number) => {
      let sum = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) sum += codes[y * decoded.columns + x];
      return sum / ((x1 - x0) * (y1 - y0));
    };
    const leftLung = mean(110, 150, 180, 240);
    const mediastinum = mean(205, 235, 180, 240);
    expect(mediastinum).toBeGreaterThan(leftLung);
  });

  describe('through tables over the stored values', () => {
    /** What the float path (test/support/float-pixels.ts), the definition, makes of a frame whose modality values are the table's: window, then codes 0..max (16 bits for a model, 8 for a rendered picture). */
    const floatPath = (pixels: DecodedFrame['pixels'], table: ModalityTable, attributes: ImageAttributes, invert: boolean, max = 65535) => {
      const values = Float32Array.from(pixels, (s) => table.values[s + table.offset]);
      const window = displayWindow(attributes, values);
      const codes = Array.from(toDisplayGrey(values, window, invert ? 'MONOCHROME1' : 'MONOCHROME2'), (g) => Math.round(Math.min(1, Math.max(0, g)) * max));
      return { window, codes };
    };
    const tablePath = (pixels: DecodedFrame['pixels'], table: ModalityTable, attributes: ImageAttributes, invert: boolean, max = 65535) => {
      const window = displayWindowOfStored(attributes, pixels, table);
      const codes = displayTable(table, window, invert, max);
      return { window, codes: Array.from(pixels, (s) => codes[s + table.offset]) };
    };

    it('when a signed frame is rescaled, then its table holds the modality value of every stored value within Bits Stored', () => {
      const table = modalityTable({ ...frame(new Int16Array([-2048, 2047])), bitsStored: 12, pixelRepresentation: 1 }, image({ rescaleSlope: 2, rescaleIntercept: -1024 }));
      expect([table.values.length, table.offset]).toEqual([4096, 2048]);
      expect([table.values[0], table.values[2048], table.values[4095]]).toEqual([-2048 * 2 - 1024, -1024, 2047 * 2 - 1024]);
    });

    // A negative slope reverses the order; the scrambled table stands for a modality LUT that is not monotone at all.
    const scrambled: ModalityTable = { offset: 0, values: Float32Array.from({ length: 4096 }, (_, s) => ((s * 2_654_435_761) % 3001) - 1000) };
    const tables: [string, ModalityTable][] = [
      ['a positive slope', modalityTable(frame(new Uint16Array(1)), image({ rescaleSlope: 0.5, rescaleIntercept: 12 }))],
      ['a negative slope', modalityTable(frame(new Uint16Array(1)), image({ rescaleSlope: -1.25, rescaleIntercept: 100 }))],
      ['a non-monotone table', scrambled],
    ];
    it.each(tables)('when the modality map is %s, then the percentile window and the 16-bit and 8-bit codes are the float path\'s exactly', (_what, table) => {
      const pixels = Uint16Array.from({ length: 20_000 }, (_, i) => (i * i * 31 + i * 7) % 4096);
      for (const invert of [false, true]) {
        for (const max of [65535, 255]) {
          expect(tablePath(pixels, table, image(), invert, max)).toEqual(floatPath(pixels, table, image(), invert, max));
          expect(tablePath(pixels, table, image({ windowCenter: 300, windowWidth: 800 }), invert, max)).toEqual(floatPath(pixels, table, image({ windowCenter: 300, windowWidth: 800 }), invert, max));
        }
      }
    });

    it('when every pixel has one value, then the window is one unit wide around it, as the float path\'s', () => {
      const pixels = new Uint16Array(100).fill(7);
      const table = modalityTable(frame(pixels), image());
      expect(tablePath(pixels, table, image(), false)).toEqual(floatPath(pixels, table, image(), false));
    });
  });
});
