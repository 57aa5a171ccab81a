import { UNWINDOWED_PERCENTILES } from '../contract/display-window.ts';
import type { ImageAttributes } from './attributes.ts';
import type { DecodedFrame } from './decode/index.ts';
import { UnsupportedTransferSyntaxError } from './errors.ts';

/**
 * Display grey from stored values as tables over the stored values (modalityTable,
 * displayWindowOfStored, displayTable): the AI's preprocessing and the rendered frames read one
 * table entry per pixel. Their definition is the float path the shipped models were trained on,
 * one float per pixel (test/support/float-pixels.ts); it takes its window rules from here
 * (fileWindow, percentileWindow, linearVoi), and dicom/pixels.test.ts proves the tables equal
 * to it bit for bit.
 */

export interface DisplayWindow {
  center: number;
  width: number;
}

/**
 * The modality value of every stored value a frame can hold: `values[stored + offset]`.
 * Stored values are integers within Bits Stored (the DecodedFrame contract), so this holds
 * at most 65,536 entries, and per-pixel work on a full-size frame becomes one table read.
 * The map need not be monotone (a negative slope, a modality LUT): nothing here assumes it.
 */
export interface ModalityTable {
  /** Added to a stored value to index `values`: 2^(Bits Stored − 1) for signed frames, else 0. */
  offset: number;
  values: Float32Array;
}

const GREYSCALE = new Set(['MONOCHROME1', 'MONOCHROME2']);
const HISTOGRAM_BINS = 65_536;
const U16_MAX = 65_535;

/** Refuses colour: modality values and windows are defined for one greyscale sample per pixel. */
export function requireGreyscale(frame: DecodedFrame): void {
  if (frame.samplesPerPixel !== 1 || !GREYSCALE.has(frame.photometricInterpretation)) {
    throw new UnsupportedTransferSyntaxError(
      `Modality values need a greyscale image; this one is ${frame.photometricInterpretation} with ${frame.samplesPerPixel} sample(s) per pixel`,
      { code: 'UNSUPPORTED_PHOTOMETRIC' },
    );
  }
}

/**
 * Rescale Slope and Intercept (stored × slope + intercept, to modality units such as Hounsfield)
 * as a table over the stored values (2^Bits Stored entries), each entry the float32 the float
 * path gives that stored value.
 */
export function modalityTable(frame: DecodedFrame, image: ImageAttributes): ModalityTable {
  requireGreyscale(frame);
  const bits = Math.min(frame.bitsStored, frame.pixels.BYTES_PER_ELEMENT * 8);
  const offset = frame.pixelRepresentation === 1 ? 2 ** (bits - 1) : 0;
  const { rescaleSlope: slope, rescaleIntercept: intercept } = image;
  const values = new Float32Array(2 ** bits);
  for (let i = 0; i < values.length; i++) values[i] = (i - offset) * slope + intercept;
  return { offset, values };
}

/**
 * The window a radiologist would see first: the file's own VOI window when it has one,
 * otherwise one spanning the 0.5th..99.5th percentiles of the modality values, so that
 * collimator edges and burnt-in labels do not flatten the anatomy. The percentiles come from a
 * histogram of the stored values read through the modality table (one pass over the pixels, no
 * float per pixel), and are the ones the float path finds on the frame's modality values, to
 * the last bit.
 */
export function displayWindowOfStored(image: ImageAttributes, pixels: DecodedFrame['pixels'], table: ModalityTable): DisplayWindow {
  const file = fileWindow(image);
  if (file) return file;
  const counts = new Uint32Array(table.values.length);
  for (let i = 0; i < pixels.length; i++) counts[pixels[i] + table.offset]++;
  return percentileWindow((visit) => {
    for (let s = 0; s < counts.length; s++) if (counts[s]) visit(table.values[s], counts[s]);
  });
}

/**
 * Window, photometric inversion and quantisation to 0..`max` (16 bits for a model's input, 255
 * for a rendered picture) as one table over the stored values: entry s is the code the float
 * path's grey, rounded to 0..max, gives the stored value s, so applying it to a region is the
 * float path's result exactly.
 */
export function displayTable(table: ModalityTable, window: DisplayWindow, invert: boolean, max = U16_MAX): Uint16Array {
  const voi = linearVoi(window, invert);
  const codes = new Uint16Array(table.values.length);
  // Math.fround: the float path stores the grey as float32 before it is quantised.
  for (let s = 0; s < codes.length; s++) codes[s] = Math.round(Math.min(1, Math.max(0, Math.fround(voi(table.values[s])))) * max);
  return codes;
}

/**
 * The DICOM linear VOI function (PS3.3 C.11.2.1.2.1) for one value, to [0, 1] with 1 always
 * bright: mirrored (1 − y) when dense tissue is stored dark (MONOCHROME1), here rather than by
 * every consumer.
 */
export function linearVoi(window: DisplayWindow, invert: boolean): (x: number) => number {
  const width = Math.max(1, window.width);
  const bottom = window.center - 0.5 - (width - 1) / 2;
  const top = window.center - 0.5 + (width - 1) / 2;
  return (x) => {
    const y = x <= bottom ? 0 : x > top ? 1 : (x - (window.center - 0.5)) / (width - 1) + 0.5;
    return invert ? 1 - y : y;
  };
}

/** The file's own VOI window (Window Center and Width), when it has a usable one. */
export function fileWindow({ windowCenter, windowWidth }: ImageAttributes): DisplayWindow | undefined {
  return windowCenter !== undefined && windowWidth !== undefined && windowWidth >= 1 ? { center: windowCenter, width: windowWidth } : undefined;
}

/**
 * The 0.5th..99.5th percentile window of values given with their counts (`each` calls
 * `visit` once per value or per distinct value): a 65,536-bin histogram between the least
 * and greatest value, linear time on full-size radiographs, exact for integer data within
 * 65,536 steps. The bins are grey-square@1's since it was first recorded.
 */
export function percentileWindow(each: (visit: (value: number, count: number) => void) => void): DisplayWindow {
  let min = Infinity;
  let max = -Infinity;
  let total = 0;
  each((v, count) => {
    if (v < min) min = v;
    if (v > max) max = v;
    total += count;
  });
  let low = Number.isFinite(min) ? min : 0;
  let high = Number.isFinite(max) ? max : 0;
  if (max > min) {
    const scale = (HISTOGRAM_BINS - 1) / (max - min);
    const counts = new Float64Array(HISTOGRAM_BINS);
    each((v, count) => { counts[Math.round((v - min) * scale)] += count; });
    const valueAt = (fraction: number) => {
      const target = fraction * (total - 1);
      let seen = 0;
      for (let bin = 0; bin < HISTOGRAM_BINS; bin++) {
        seen += counts[bin];
        if (seen > target) return min + bin / scale;
      }
      return max;
    };
    [low, high] = [valueAt(UNWINDOWED_PERCENTILES.low), valueAt(UNWINDOWED_PERCENTILES.high)];
  }
  // Chosen so that the linear VOI function maps `low` to 0 and `high` to 1 exactly.
  return { center: (low + high) / 2 + 0.5, width: Math.max(1, high - low + 1) };
}
