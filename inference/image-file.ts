import sharp from 'sharp';
import type { ImageAttributes } from '../dicom/attributes.ts';
import type { DecodedFrame } from '../dicom/decode/index.ts';
import { coarsestLevel, reduceFrame } from '../dicom/decode/reduce.ts';
import { namedChain, type Chain, type ModelImage } from './preprocess/index.ts';

/**
 * A PNG or JPEG film (the labelled research sets under ../shared/data) as a model sees
 * it: read as an 8-bit MONOCHROME2 frame with no VOI window and passed through the
 * card's own preprocessing chain — exactly what a DICOM of the same pixels goes through
 * in the worker. Training recipes, `npm run eval` and `npm run bench:model` all prepare
 * image files here, so a model is trained and judged on what it will be served.
 *
 * `preprocessing` is a loaded model's chain (`model.chain`), or the name of a chain
 * Lantern knows (`'grey-square@1'`) with the size to make.
 */
export async function preprocessImageFile(file: string | Buffer, preprocessing: Chain | string, size?: [number, number]): Promise<ModelImage> {
  let chain: Chain;
  if (typeof preprocessing === 'string') {
    if (!size) throw new Error(`preprocessing ${preprocessing} by name needs the size to make`);
    chain = namedChain(preprocessing, size);
  } else {
    chain = preprocessing;
  }
  const { frame, image } = await readGreyImageFileFor(file, chain);
  return chain.run(frame, image);
}

/** An image file decoded for `chain`: reduced as decodeFrame reduces an uncompressed DICOM of these pixels for it. */
export async function readGreyImageFileFor(file: string | Buffer, chain: Chain): Promise<{ frame: DecodedFrame; image: ImageAttributes }> {
  const { frame, image } = await readGreyImageFile(file);
  return { frame: reduceFrame(frame, coarsestLevel(frame, chain.decode.atLeast)), image };
}

/** Decodes an image file to one 8-bit grey channel (colour and alpha are flattened, as the source sets were). */
export async function readGreyImageFile(file: string | Buffer): Promise<{ frame: DecodedFrame; image: ImageAttributes }> {
  const { data, info } = await sharp(file).flatten().greyscale().raw().toBuffer({ resolveWithObject: true });
  const pixels = new Uint8Array(data.buffer, data.byteOffset, info.width * info.height);
  const frame: DecodedFrame = {
    rows: info.height, columns: info.width, samplesPerPixel: 1, photometricInterpretation: 'MONOCHROME2',
    bitsStored: 8, pixelRepresentation: 0, pixels, scale: 1,
  };
  const image: ImageAttributes = {
    rows: info.height, columns: info.width, samplesPerPixel: 1, photometricInterpretation: 'MONOCHROME2',
    bitsAllocated: 8, bitsStored: 8, highBit: 7, pixelRepresentation: 0, planarConfiguration: 0,
    numberOfFrames: 1, rescaleSlope: 1, rescaleIntercept: 0,
  };
  return { frame, image };
}
