import { PixelDecodeError } from '../errors.ts';
import type { FrameDecoder } from './types.ts';

const HEADER_BYTES = 64;
const MAX_SEGMENTS = 15;

/**
 * RLE Lossless (.1.2.5, PS3.5 Annex G). Each segment is one byte plane: for every sample,
 * the most significant byte first. Planes are written straight into interleaved
 * little-endian order.
 */
export const rle: FrameDecoder = {
  encapsulated: true,
  async decode(frame) {
    const { rows, columns, samplesPerPixel, bitsAllocated } = frame.image;
    const bytesPerSample = bitsAllocated === 16 ? 2 : 1;
    const pixels = rows * columns;
    const offsets = segmentOffsets(frame.bytes);
    const expectedSegments = samplesPerPixel * bytesPerSample;
    if (offsets.length !== expectedSegments) {
      throw new PixelDecodeError(
        `RLE frame has ${offsets.length} segments; ${samplesPerPixel} sample(s) of ${bytesPerSample} byte(s) need ${expectedSegments}`,
      );
    }
    const output = new Uint8Array(pixels * expectedSegments);
    offsets.forEach((start, segment) => {
      const end = offsets[segment + 1] ?? frame.bytes.length;
      const sample = Math.floor(segment / bytesPerSample);
      const littleEndianByte = bytesPerSample - 1 - (segment % bytesPerSample);
      const firstIndex = sample * bytesPerSample + littleEndianByte;
      unpackBits(frame.bytes.subarray(start, end), output, firstIndex, expectedSegments, pixels);
    });
    return {
      bytes: output,
      bytesPerSample,
      photometricInterpretation: frame.image.photometricInterpretation,
      planar: false,
    };
  },
};

function segmentOffsets(bytes: Uint8Array): number[] {
  if (bytes.length < HEADER_BYTES) {
    throw new PixelDecodeError(`RLE frame is ${bytes.length} bytes, shorter than its 64-byte header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const count = view.getUint32(0, true);
  if (count < 1 || count > MAX_SEGMENTS) throw new PixelDecodeError(`RLE header declares ${count} segments`);
  const offsets = Array.from({ length: count }, (_, i) => view.getUint32(4 + 4 * i, true));
  offsets.forEach((offset, i) => {
    if (offset < HEADER_BYTES || offset > bytes.length || (i > 0 && offset < offsets[i - 1])) {
      throw new PixelDecodeError(`RLE segment ${i + 1} has an invalid offset ${offset}`);
    }
  });
  return offsets;
}

/** PackBits: header n >= 0 copies n+1 literal bytes, n in -127..-1 repeats the next byte 1-n times. */
function unpackBits(
  segment: Uint8Array,
  output: Uint8Array,
  firstIndex: number,
  stride: number,
  count: number,
): void {
  let written = 0;
  let position = 0;
  const put = (value: number) => {
    if (written < count) output[firstIndex + written * stride] = value;
    written++;
  };
  while (written < count && position < segment.length) {
    const header = (segment[position++] << 24) >> 24;
    if (header >= 0) {
      for (let i = 0; i <= header && position < segment.length; i++) put(segment[position++]);
    } else if (header !== -128) {
      const value = segment[position++];
      for (let i = 0; i < 1 - header; i++) put(value);
    }
  }
  if (written < count) {
    throw new PixelDecodeError(`RLE segment decoded to ${written} bytes; the frame needs ${count}`);
  }
}
