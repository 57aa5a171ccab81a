import type { ImageAttributes } from '../../dicom/attributes.ts';
import type { DecodedFrame } from '../../dicom/decode/index.ts';
import { fileWindow, linearVoi, percentileWindow, requireGreyscale, type DisplayWindow } from '../../dicom/pixels.ts';

/**
 * Display grey from stored values one float per pixel over the whole frame, as Lantern computed
 * it before issue 16. No route runs it any more: it is the definition dicom/pixels.ts's tables
 * are proven equal to (dicom/pixels.test.ts) and the first stages of the preprocessing oracle
 * (reference-preprocess.ts). It shares the DICOM window rules with the tables (file window,
 * percentile window, linear VOI function); what it does differently is where the tables are
 * fast: a float per pixel instead of a table entry per stored value.
 */

/** Stored values to modality units (e.g. Hounsfield) with Rescale Slope and Intercept, one float per pixel. */
export function toModalityValues(frame: DecodedFrame, image: ImageAttributes): Float32Array {
  requireGreyscale(frame);
  const { rescaleSlope: slope, rescaleIntercept: intercept } = image;
  const values = new Float32Array(frame.pixels.length);
  for (let i = 0; i < values.length; i++) values[i] = frame.pixels[i] * slope + intercept;
  return values;
}

/** The file's VOI window when it has one, otherwise the 0.5th..99.5th percentiles of every pixel's value. */
export function displayWindow(image: ImageAttributes, values: Float32Array): DisplayWindow {
  return fileWindow(image) ?? percentileWindow((visit) => {
    for (const v of values) visit(v, 1);
  });
}

/** The linear VOI function on every pixel, to [0, 1] with 1 bright (MONOCHROME1 inverted). */
export function toDisplayGrey(values: Float32Array, window: DisplayWindow, photometric: string): Float32Array {
  const grey = new Float32Array(values.length);
  const voi = linearVoi(window, photometric === 'MONOCHROME1');
  for (let i = 0; i < values.length; i++) grey[i] = voi(values[i]);
  return grey;
}
