import sharp from 'sharp';
import type { DecodedFrame } from '../dicom/decode/index.ts';
import type { ImageAttributes } from '../dicom/parse.ts';
import { displayWindow, toDisplayGrey, toModalityValues } from '../dicom/pixels.ts';

/** A model's input image: one channel, row-major, values in [0, 1], bright = dense. */
export interface ModelImage {
  width: number;
  height: number;
  data: Float32Array;
  /** Where the model's square came from in the original image, to register heatmaps back onto it. */
  region: { left: number; top: number; size: number };
}

export type Preprocessor = (frame: DecodedFrame, image: ImageAttributes, size: [number, number]) => Promise<ModelImage>;

const U16_MAX = 65535;

/**
 * grey-square@1 — what PneumoniaMNIST's images are: a display-windowed greyscale
 * radiograph (MONOCHROME1 inverted so bone is bright), centre-cropped to a square and
 * downsampled to the model's size. The window is the file's VOI window when present,
 * otherwise the 0.5–99.5th percentiles, as a radiologist's default view would be.
 */
const greySquareV1: Preprocessor = async (frame, image, [width, height]) => {
  const values = toModalityValues(frame, image);
  const grey = toDisplayGrey(values, displayWindow(image, values), image.photometricInterpretation);
  const quantised = new Uint16Array(grey.length);
  for (let i = 0; i < grey.length; i++) quantised[i] = Math.round(Math.min(1, Math.max(0, grey[i])) * U16_MAX);
  const size = Math.min(frame.columns, frame.rows);
  const region = { left: Math.floor((frame.columns - size) / 2), top: Math.floor((frame.rows - size) / 2), size };
  // 16-bit in and out: sharp keeps the precision only when asked for grey16 explicitly.
  const { data } = await sharp(quantised, { raw: { width: frame.columns, height: frame.rows, channels: 1 } })
    .extract({ left: region.left, top: region.top, width: size, height: size })
    .resize(width, height, { kernel: 'lanczos3' })
    .toColourspace('grey16')
    .raw({ depth: 'ushort' })
    .toBuffer({ resolveWithObject: true });
  const resized = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
  const out = new Float32Array(width * height);
  for (let i = 0; i < out.length; i++) out[i] = resized[i] / U16_MAX;
  return { width, height, data: out, region };
};

/** Preprocessing steps by `id@version`; a model card names one, and the registry refuses unknown ones. */
export const preprocessors: Readonly<Record<string, Preprocessor>> = {
  'grey-square@1': greySquareV1,
};
