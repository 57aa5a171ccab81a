/**
 * A decoded frame as a cornerstone image. Pixels arrive already decoded by the API
 * (stored values, little-endian), so there is no DICOM parsing here: we wrap the frame in
 * a cornerstone image object and hand it to cornerstone through a `lantern:` image loader.
 */
import * as cornerstone from 'cornerstone-core';
import type { CornerstoneImage } from 'cornerstone-core';
import { UNWINDOWED_PERCENTILES } from '../../../contract/display-window.ts';
import type { ImageAttributes } from '../api.ts';
import type { ImageInfo, VoiWindow } from './image-view.ts';

/** Pixels sampled for the value distribution: enough for stable percentiles, cheap to sort. */
const QUANTILE_SAMPLES = 65_536;

const SCHEME = 'lantern';
/** Images waiting for cornerstone to ask for them by imageId; removed once handed over. */
const pending = new Map<string, CornerstoneImage>();
let loaderRegistered = false;
let serial = 0;

function registerLoader(): void {
  if (loaderRegistered) return;
  cornerstone.registerImageLoader(SCHEME, (imageId) => {
    const image = pending.get(imageId);
    pending.delete(imageId);
    return {
      promise: image ? Promise.resolve(image) : Promise.reject(new Error(`no pixels staged for ${imageId}`)),
    };
  });
  loaderRegistered = true;
}

/**
 * Builds the cornerstone image for one frame and leaves it for the `lantern:` loader,
 * from which `cornerstone.loadImage(imageId)` takes it. `key` names the frame in the
 * imageId; a serial number keeps every imageId unique. Throws on bytes that do not match `attrs`.
 */
export function stageImage(attrs: ImageAttributes, pixels: ArrayBuffer, key: string): { imageId: string; info: ImageInfo } {
  registerLoader();
  const imageId = `${SCHEME}:${key}#${++serial}`;
  const built = buildImage(imageId, attrs, pixels);
  pending.set(imageId, built.image);
  return { imageId, info: built.info };
}

/**
 * Stored values as a typed array, with bits above BitsStored cleared (or sign-extended)
 * because some modalities keep overlays or garbage there and it would wreck min/max.
 */
function storedValues(attrs: ImageAttributes, pixels: ArrayBuffer): Int16Array | Uint16Array | Uint8Array {
  const count = attrs.rows * attrs.columns * attrs.samplesPerPixel;
  const bytesPer = attrs.bitsAllocated > 8 ? 2 : 1;
  if (pixels.byteLength < count * bytesPer) {
    throw new Error(
      `frame has ${pixels.byteLength} bytes, expected ${count * bytesPer} for ${attrs.columns}×${attrs.rows}×${attrs.samplesPerPixel} at ${bytesPer * 8} bits`,
    );
  }
  const values =
    bytesPer === 1
      ? new Uint8Array(pixels, 0, count).slice()
      : attrs.pixelRepresentation === 1
        ? new Int16Array(pixels.slice(0, count * 2))
        : new Uint16Array(pixels.slice(0, count * 2));
  const bits = attrs.bitsStored;
  if (bits > 0 && bits < bytesPer * 8) {
    const mask = (1 << bits) - 1;
    const sign = 1 << (bits - 1);
    for (let i = 0; i < values.length; i++) {
      const v = values[i] & mask;
      values[i] = attrs.pixelRepresentation === 1 && v & sign ? v - (mask + 1) : v;
    }
  }
  return values;
}

/** Sorted modality values of an even sample of the pixels, for percentile-based windows. */
function sortedSample(values: ArrayLike<number>, slope: number, intercept: number): Float64Array {
  const step = Math.max(1, Math.floor(values.length / QUANTILE_SAMPLES));
  const sample = new Float64Array(Math.ceil(values.length / step));
  for (let i = 0, j = 0; i < values.length; i += step, j++) sample[j] = values[i] * slope + intercept;
  return sample.sort();
}

/**
 * The window over `sample`'s (sorted) values by the server's rule for an image without one
 * (contract/display-window.ts), so the first look, which the server renders, has the full
 * frame's contrast: min–max would change the picture when the full frame lands.
 */
function percentileWindow(sample: Float64Array): VoiWindow {
  const quantile = (q: number) => sample[Math.round(q * (sample.length - 1))];
  const low = quantile(UNWINDOWED_PERCENTILES.low);
  const width = Math.max(quantile(UNWINDOWED_PERCENTILES.high) - low, 1);
  return { center: low + width / 2, width };
}

function buildImage(imageId: string, attrs: ImageAttributes, pixels: ArrayBuffer): { image: CornerstoneImage; info: ImageInfo } {
  const { rows, columns } = attrs;
  const values = storedValues(attrs, pixels);
  const color = attrs.samplesPerPixel === 3;
  let data: ArrayLike<number> = values;
  let min = Infinity;
  let max = -Infinity;
  if (color) {
    // cornerstone draws colour images from RGBA; the API sends interleaved RGB.
    const rgba = new Uint8ClampedArray(rows * columns * 4);
    for (let p = 0, s = 0; p < rgba.length; p += 4, s += 3) {
      rgba[p] = values[s];
      rgba[p + 1] = values[s + 1];
      rgba[p + 2] = values[s + 2];
      rgba[p + 3] = 255;
    }
    data = rgba;
    min = 0;
    max = 255;
  } else {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  const slope = attrs.rescaleSlope || 1;
  const intercept = attrs.rescaleIntercept || 0;
  const sample = color ? new Float64Array([0, 255]) : sortedSample(values, slope, intercept);
  const { windowCenter: center, windowWidth: width } = attrs;
  // A width under 1 is no window, for the server too.
  const headerWindow = center !== undefined && width !== undefined && width >= 1 ? { center, width } : undefined;
  const defaultWindow = headerWindow ?? percentileWindow(sample);
  const monochrome1 = attrs.photometricInterpretation === 'MONOCHROME1';
  const info: ImageInfo = {
    defaultWindow,
    defaultBasis: headerWindow ? 'dicom' : 'percentile',
    displayQuantile(q) {
      const fromLow = monochrome1 ? 1 - q : q;
      const i = Math.round(Math.min(1, Math.max(0, fromLow)) * (sample.length - 1));
      return sample[i];
    },
    color,
  };
  const image: CornerstoneImage = {
    imageId,
    minPixelValue: min,
    maxPixelValue: max,
    slope,
    intercept,
    windowCenter: defaultWindow.center,
    windowWidth: defaultWindow.width,
    getPixelData: () => data,
    rows,
    columns,
    height: rows,
    width: columns,
    color,
    rgba: false,
    invert: monochrome1,
    sizeInBytes: (data as Uint8Array).byteLength,
    columnPixelSpacing: 1,
    rowPixelSpacing: 1,
  };
  return { image, info };
}
