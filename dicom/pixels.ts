import type { ImageAttributes } from './attributes.ts';
import type { DecodedFrame } from './decode/index.ts';
import { UnsupportedTransferSyntaxError } from './errors.ts';

export interface DisplayWindow {
  center: number;
  width: number;
}

const GREYSCALE = new Set(['MONOCHROME1', 'MONOCHROME2']);
const LOW_PERCENTILE = 0.005;
const HIGH_PERCENTILE = 0.995;
const HISTOGRAM_BINS = 65_536;

/** Stored values to modality units (e.g. Hounsfield) with Rescale Slope and Intercept. */
export function toModalityValues(frame: DecodedFrame, image: ImageAttributes): Float32Array {
  if (frame.samplesPerPixel !== 1 || !GREYSCALE.has(frame.photometricInterpretation)) {
    throw new UnsupportedTransferSyntaxError(
      `Modality values need a greyscale image; this one is ${frame.photometricInterpretation} with ${frame.samplesPerPixel} sample(s) per pixel`,
      { code: 'UNSUPPORTED_PHOTOMETRIC' },
    );
  }
  const { rescaleSlope: slope, rescaleIntercept: intercept } = image;
  const values = new Float32Array(frame.pixels.length);
  for (let i = 0; i < values.length; i++) values[i] = frame.pixels[i] * slope + intercept;
  return values;
}

/**
 * The window a radiologist would see first: the file's own VOI window when it has one,
 * otherwise one spanning the 0.5th..99.5th percentiles so that collimator edges and
 * burnt-in labels do not flatten the anatomy.
 */
export function displayWindow(image: ImageAttributes, values: Float32Array): DisplayWindow {
  const { windowCenter, windowWidth } = image;
  if (windowCenter !== undefined && windowWidth !== undefined && windowWidth >= 1) {
    return { center: windowCenter, width: windowWidth };
  }
  const [low, high] = percentiles(values, LOW_PERCENTILE, HIGH_PERCENTILE);
  // Chosen so that the linear VOI function maps `low` to 0 and `high` to 1 exactly.
  return { center: (low + high) / 2 + 0.5, width: Math.max(1, high - low + 1) };
}

/**
 * Linear VOI LUT (PS3.3 C.11.2.1.2.1) to [0, 1], with 1 always bright: MONOCHROME1 stores
 * bone as low values, so it is inverted here rather than by every consumer.
 */
export function toDisplayGrey(values: Float32Array, window: DisplayWindow, photometric: string): Float32Array {
  const width = Math.max(1, window.width);
  const bottom = window.center - 0.5 - (width - 1) / 2;
  const top = window.center - 0.5 + (width - 1) / 2;
  const invert = photometric === 'MONOCHROME1';
  const grey = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    const y = x <= bottom ? 0 : x > top ? 1 : (x - (window.center - 0.5)) / (width - 1) + 0.5;
    grey[i] = invert ? 1 - y : y;
  }
  return grey;
}

/** Percentiles from a fine histogram: linear time on full-size radiographs, exact for integer data. */
function percentiles(values: Float32Array, lowFraction: number, highFraction: number): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!(max > min)) return [Number.isFinite(min) ? min : 0, Number.isFinite(max) ? max : 0];
  const scale = (HISTOGRAM_BINS - 1) / (max - min);
  const counts = new Uint32Array(HISTOGRAM_BINS);
  for (const v of values) counts[Math.round((v - min) * scale)]++;
  const valueAt = (fraction: number) => {
    const target = fraction * (values.length - 1);
    let seen = 0;
    for (let bin = 0; bin < HISTOGRAM_BINS; bin++) {
      seen += counts[bin];
      if (seen > target) return min + bin / scale;
    }
    return max;
  };
  return [valueAt(lowFraction), valueAt(highFraction)];
}
