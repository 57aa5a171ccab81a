import sharp from 'sharp';
import type { ImageAttributes } from '../../dicom/attributes.ts';
import type { DecodedFrame } from '../../dicom/decode/index.ts';
import { displayWindow, toDisplayGrey, toModalityValues } from './float-pixels.ts';

const U16_MAX = 65535;

/**
 * grey-square@1 as Lantern computed it before issue 16, kept as the oracle the served chain
 * is checked against: a float per pixel at every stage over the whole frame (modality values,
 * percentile window, VOI window with photometric inversion, 16-bit quantisation), then sharp
 * extracts the centred square and resizes it with lanczos3. Tests pin its SHA-256 on real
 * films (inference/preprocess/grey-square.test.ts); tools/hot-path measures a model on it.
 */
export async function referenceGreySquare(frame: DecodedFrame, image: ImageAttributes, [width, height]: [number, number]) {
  const values = toModalityValues(frame, image);
  const grey = toDisplayGrey(values, displayWindow(image, values), frame.photometricInterpretation);
  const quantised = new Uint16Array(grey.length);
  for (let i = 0; i < grey.length; i++) quantised[i] = Math.round(Math.min(1, Math.max(0, grey[i])) * U16_MAX);
  const size = Math.min(frame.columns, frame.rows);
  const region = { left: Math.floor((frame.columns - size) / 2), top: Math.floor((frame.rows - size) / 2), size };
  const { data } = await sharp(quantised, { raw: { width: frame.columns, height: frame.rows, channels: 1 } })
    .extract({ left: region.left, top: region.top, width: size, height: size })
    .resize(width, height, { kernel: 'lanczos3', fit: 'fill' })
    .toColourspace('grey16')
    .raw({ depth: 'ushort' })
    .toBuffer({ resolveWithObject: true });
  const resized = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
  return { data: Float32Array.from(resized, (code) => code / U16_MAX), region };
}
