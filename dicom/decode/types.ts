import type { ImageAttributes } from '../attributes.ts';

/** One frame's bytes as stored, plus what a decoder needs to know about them. */
export interface EncodedFrame {
  bytes: Uint8Array;
  image: ImageAttributes;
  /** VR of Pixel Data; big-endian OB is never byte-swapped, OW always is. */
  pixelVr?: string;
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
}

export interface FrameDecoder {
  /** Encapsulated syntaxes get one frame assembled from fragments; native ones a slice. */
  encapsulated: boolean;
  decode(frame: EncodedFrame): Promise<RawSamples>;
}
