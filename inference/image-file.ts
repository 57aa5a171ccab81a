import sharp from 'sharp';
import type { DecodedFrame } from '../dicom/decode/index.ts';
import type { ImageAttributes } from '../dicom/parse.ts';
import { preprocessors, type ModelImage } from './preprocess.ts';

/**
 * A PNG or JPEG film (the labelled research sets under ../shared/data) as a model sees
 * it: read as an 8-bit MONOCHROME2 frame with no VOI window and passed through the
 * card's own preprocessing step — exactly what a DICOM of the same pixels goes through
 * in the worker. Training recipes, `npm run eval` and `npm run bench:model` all prepare
 * image files here, so a model is trained and judged on what it will be served.
 */
export async function preprocessImageFile(file: string | Buffer, preprocessing: string, size: [number, number]): Promise<ModelImage> {
  const step = preprocessors[preprocessing];
  if (!step) throw new Error(`preprocessing ${preprocessing} is unknown; known: ${Object.keys(preprocessors).join(', ')}`);
  const { frame, image } = await readGreyImageFile(file);
  return step(frame, image, size);
}

/** Decodes an image file to one 8-bit grey channel (colour and alpha are flattened, as the source sets were). */
export async function readGreyImageFile(file: string | Buffer): Promise<{ frame: DecodedFrame; image: ImageAttributes }> {
  const { data, info } = await sharp(file).flatten().greyscale().raw().toBuffer({ resolveWithObject: true });
  const pixels = new Uint8Array(data.buffer, data.byteOffset, info.width * info.height);
  const frame: DecodedFrame = {
    rows: info.height, columns: info.width, samplesPerPixel: 1, photometricInterpretation: 'MONOCHROME2',
    bitsStored: 8, pixelRepresentation: 0, pixels,
  };
  const image: ImageAttributes = {
    rows: info.height, columns: info.width, samplesPerPixel: 1, photometricInterpretation: 'MONOCHROME2',
    bitsAllocated: 8, bitsStored: 8, highBit: 7, pixelRepresentation: 0, planarConfiguration: 0,
    numberOfFrames: 1, rescaleSlope: 1, rescaleIntercept: 0,
  };
  return { frame, image };
}
