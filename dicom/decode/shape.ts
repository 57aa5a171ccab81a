import type { ImageAttributes } from '../attributes.ts';
import type { DecodedFrame } from './index.ts';
import { sizeAtLevel } from './reduce.ts';
import type { RawSamples } from './types.ts';

/**
 * Turns codec output into the stored values callers see: one typed array sized by Bits
 * Allocated, interleaved, with only the Bits Stored bits kept (sign-extended when
 * Pixel Representation says signed, whatever sign the codec assumed), at the codec's
 * resolution level.
 */
export function shapeFrame(raw: RawSamples, image: ImageAttributes): DecodedFrame {
  const samples = readSamples(raw);
  const ordered = raw.planar ? interleave(samples, image.samplesPerPixel) : samples;
  const level = raw.level ?? 0;
  return {
    ...sizeAtLevel(image, level),
    scale: 2 ** level,
    samplesPerPixel: image.samplesPerPixel,
    photometricInterpretation: raw.photometricInterpretation,
    bitsStored: image.bitsStored,
    pixelRepresentation: image.pixelRepresentation,
    pixels: storedValues(ordered, image),
  };
}

function readSamples(raw: RawSamples): Uint8Array | Uint16Array {
  if (raw.bytesPerSample === 1) return raw.bytes;
  // Copy to guarantee 2-byte alignment; the host is little-endian like the samples.
  const aligned = raw.bytes.byteOffset % 2 === 0 ? raw.bytes : raw.bytes.slice();
  return new Uint16Array(aligned.buffer, aligned.byteOffset, Math.floor(aligned.length / 2));
}

function interleave<T extends Uint8Array | Uint16Array>(planes: T, samplesPerPixel: number): T {
  const pixels = Math.floor(planes.length / samplesPerPixel);
  const out = new (planes.constructor as new (n: number) => T)(planes.length);
  for (let plane = 0; plane < samplesPerPixel; plane++) {
    for (let pixel = 0; pixel < pixels; pixel++) out[pixel * samplesPerPixel + plane] = planes[plane * pixels + pixel];
  }
  return out;
}

function storedValues(source: Uint8Array | Uint16Array, image: ImageAttributes): DecodedFrame['pixels'] {
  const wide = image.bitsAllocated > 8;
  const signed = image.pixelRepresentation === 1;
  const out = wide
    ? signed ? new Int16Array(source.length) : new Uint16Array(source.length)
    : signed ? new Int8Array(source.length) : new Uint8Array(source.length);
  const bits = Math.min(image.bitsStored, wide ? 16 : 8);
  // A High Bit above Bits Stored - 1 places the stored bits higher in the word (native data may).
  const shift = Math.max(0, image.highBit + 1 - bits);
  const mask = bits >= 32 ? -1 : (1 << bits) - 1;
  const extend = 32 - bits;
  for (let i = 0; i < source.length; i++) {
    const value = (source[i] >>> shift) & mask;
    out[i] = signed ? (value << extend) >> extend : value;
  }
  return out;
}
