import { Decoder } from 'jpeg-lossless-decoder-js';
import { PixelDecodeError } from '../errors.ts';
import { codecFailure } from './codec-error.ts';
import { checkDeclaredSize, jpegStartOfFrame } from './codestream.ts';
import type { FrameDecoder } from './types.ts';

/** JPEG lossless process 14 (.4.57, and .4.70 which is its selection-value-1 subset). */
export const jpegLossless: FrameDecoder = {
  encapsulated: true,
  async decode(frame) {
    const { rows, columns, samplesPerPixel } = frame.image;
    checkDeclaredSize('JPEG lossless decoder', frame.image, jpegStartOfFrame(frame.bytes));
    let output: ArrayBuffer;
    try {
      const stream = withFillBeforeEndOfImage(frame.bytes);
      output = new Decoder().decompress(stream.buffer, stream.byteOffset, stream.length);
    } catch (thrown) {
      throw codecFailure('JPEG lossless decoder', thrown);
    }
    const bytesPerSample = output.byteLength / (rows * columns * samplesPerPixel);
    if (bytesPerSample !== 1 && bytesPerSample !== 2) {
      throw new PixelDecodeError(
        `JPEG lossless decoder produced ${output.byteLength} bytes for a ${columns}x${rows}x${samplesPerPixel} frame`,
      );
    }
    return {
      bytes: new Uint8Array(output),
      bytesPerSample,
      photometricInterpretation: frame.image.photometricInterpretation,
      planar: false,
    };
  },
};

const END_OF_IMAGE = [0xff, 0xd9];
// A stuffed 0xFF byte: eight 1-bits of entropy-coded data.
const FILL = [0xff, 0x00, 0xff, 0x00];

/**
 * jpeg-lossless-decoder-js drops the last pixel when that pixel's Huffman code ends in the
 * byte just before EOI (it mistakes the code for running into the marker). Bits after the
 * last pixel are never read as pixels, so padding the entropy-coded data with 1-bits before
 * EOI gives the decoder the slack it expects without changing any value.
 */
function withFillBeforeEndOfImage(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  while (end > 2 && bytes[end - 1] === 0) end--;
  if (bytes[end - 2] !== END_OF_IMAGE[0] || bytes[end - 1] !== END_OF_IMAGE[1]) return bytes;
  const padded = new Uint8Array(end + FILL.length);
  padded.set(bytes.subarray(0, end - 2), 0);
  padded.set(FILL, end - 2);
  padded.set(END_OF_IMAGE, end - 2 + FILL.length);
  return padded;
}
