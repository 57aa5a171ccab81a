import { InvalidDicomError, UnsupportedTransferSyntaxError } from '../errors.ts';
import { requirePixelData, type DicomInstance } from '../parse.ts';
import { encapsulatedFrame, nativeFrame } from './frames.ts';
import { htj2k, jpeg2000 } from './jpeg2000.ts';
import { jpegBaseline } from './jpeg-baseline.ts';
import { jpegLossless } from './jpeg-lossless.ts';
import { jpegLs } from './jpeg-ls.ts';
import { nativeBigEndian, nativeLittleEndian } from './native.ts';
import { coarsestLevel, reduceFrame } from './reduce.ts';
import { rle } from './rle.ts';
import { shapeFrame } from './shape.ts';
import type { FrameDecoder } from './types.ts';

export interface DecodeOptions {
  /**
   * The smallest image the caller needs; a decoder may return a reduced frame no smaller than
   * this in both axes: the coarsest resolution level r with ceil(size / 2^r) ≥ atLeast, from
   * the JPEG 2000 pyramid where the codestream has it, else a 2^r box average of the decoded
   * frame (reduce.ts). Absent: full resolution.
   */
  atLeast?: { columns: number; rows: number };
}

export interface DecodedFrame {
  /** The decoded (possibly reduced) size: ceil(full / scale). */
  rows: number;
  columns: number;
  /**
   * Original pixels per decoded pixel along each axis: 1 at full resolution, 2^r at JPEG 2000
   * level r (or a native r-fold reduction). Decoded pixel (x, y) covers original pixels
   * [x·scale, (x+1)·scale) clipped to the image.
   */
  scale: number;
  samplesPerPixel: number;
  /** After decoding: JPEG and JPEG 2000 colour comes out as RGB, uncompressed 4:2:2 as YBR_FULL. */
  photometricInterpretation: string;
  bitsStored: number;
  pixelRepresentation: 0 | 1;
  /** Stored values before rescale, interleaved, masked or sign-extended to Bits Stored. */
  pixels: Uint8Array | Int8Array | Uint16Array | Int16Array;
}

/** Adding a transfer syntax means adding a row here. */
const decoders: Readonly<Record<string, FrameDecoder>> = {
  '1.2.840.10008.1.2': nativeLittleEndian,
  '1.2.840.10008.1.2.1': nativeLittleEndian,
  '1.2.840.10008.1.2.1.99': nativeLittleEndian,
  '1.2.840.10008.1.2.2': nativeBigEndian,
  '1.2.840.10008.1.2.5': rle,
  '1.2.840.10008.1.2.4.50': jpegBaseline,
  // Only 8-bit frames: 12-bit ones throw UnsupportedTransferSyntaxError.
  '1.2.840.10008.1.2.4.51': jpegBaseline,
  '1.2.840.10008.1.2.4.57': jpegLossless,
  '1.2.840.10008.1.2.4.70': jpegLossless,
  '1.2.840.10008.1.2.4.80': jpegLs,
  '1.2.840.10008.1.2.4.81': jpegLs,
  '1.2.840.10008.1.2.4.90': jpeg2000,
  '1.2.840.10008.1.2.4.91': jpeg2000,
  '1.2.840.10008.1.2.4.201': htj2k,
  '1.2.840.10008.1.2.4.202': htj2k,
  '1.2.840.10008.1.2.4.203': htj2k,
};

export const supportedTransferSyntaxes: readonly string[] = Object.freeze(Object.keys(decoders));

export async function decodeFrame(instance: DicomInstance, frameIndex: number, options: DecodeOptions = {}): Promise<DecodedFrame> {
  const image = requirePixelData(instance);
  const decoder = decoders[instance.transferSyntaxUid];
  if (!decoder) {
    throw new UnsupportedTransferSyntaxError(
      `Transfer syntax ${instance.transferSyntaxUid} cannot be decoded; supported: ${supportedTransferSyntaxes.join(', ')}`,
    );
  }
  if (image.bitsAllocated !== 8 && image.bitsAllocated !== 16) {
    throw new UnsupportedTransferSyntaxError(
      `Pixel data with ${image.bitsAllocated} bits allocated cannot be decoded; only 8 and 16 are supported`,
      { code: 'UNSUPPORTED_PIXEL_FORMAT' },
    );
  }
  if (!Number.isInteger(frameIndex) || frameIndex < 0 || frameIndex >= image.numberOfFrames) {
    throw new InvalidDicomError(
      `Frame ${frameIndex} does not exist; the instance has ${image.numberOfFrames} frame(s)`,
      { code: 'FRAME_OUT_OF_RANGE' },
    );
  }
  const pixelData = instance.dataSet.elements.x7fe00010;
  const bytes = decoder.encapsulated
    ? encapsulatedFrame(instance, pixelData, frameIndex)
    : nativeFrame(instance, pixelData, frameIndex);
  const maxLevel = coarsestLevel(image, options.atLeast);
  const raw = await decoder.decode({ bytes, image, pixelVr: pixelData.vr, maxLevel });
  return reduceFrame(shapeFrame(raw, image), maxLevel - (raw.level ?? 0));
}
