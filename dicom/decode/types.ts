import type { ImageAttributes } from '../attributes.ts';

/** One frame's bytes as stored, plus what a decoder needs to know about them. */
export interface EncodedFrame {
  bytes: Uint8Array;
  image: ImageAttributes;
  /** VR of Pixel Data; big-endian OB is never byte-swapped, OW always is. */
  pixelVr?: string;
  /**
   * The most resolution levels the caller lets a decoder drop: level r is ceil(size / 2^r),
   * each pixel covering a 2^r × 2^r block. Absent or 0: full resolution. A decoder whose codestream holds
   * the pyramid (JPEG 2000) decodes at a level up to this; the rest are box-averaged after it.
   */
  maxLevel?: number;
}

/**
 * Decoder output before it is shaped into a DecodedFrame: little-endian samples in
 * 1 or 2 bytes each, in the colour space the codec produced.
 */
export interface RawSamples {
  bytes: Uint8Array;
  bytesPerSample: 1 | 2;
  photometricInterpretation: string;
  /** True when samples come plane by plane (RRR…GGG…BBB…) rather than interleaved. */
  planar: boolean;
  /** The resolution level the codec decoded at (at most the frame's maxLevel); absent: 0, full resolution. */
  level?: number;
}

export interface FrameDecoder {
  /** Encapsulated syntaxes get one frame assembled from fragments; native ones a slice. */
  encapsulated: boolean;
  decode(frame: EncodedFrame): Promise<RawSamples>;
}
