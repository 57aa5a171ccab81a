import { lazyModule, quietModule, runEmscriptenDecoder } from './emscripten.ts';
import { jpegStartOfFrame } from './codestream.ts';
import type { FrameDecoder } from './types.ts';

const charls = lazyModule(async () => (await import('@cornerstonejs/codec-charls/decodewasmjs')).default(quietModule));

/** JPEG-LS (.4.80 lossless, .4.81 near-lossless) via CharLS. */
export const jpegLs: FrameDecoder = {
  encapsulated: true,
  async decode(frame) {
    const { JpegLSDecoder } = await charls();
    const { bytes, bytesPerSample, details } = runEmscriptenDecoder(
      'CharLS',
      new JpegLSDecoder(),
      frame,
      jpegStartOfFrame(frame.bytes),
      (decoder) => decoder.getInterleaveMode(),
    );
    return {
      bytes,
      bytesPerSample,
      photometricInterpretation: frame.image.photometricInterpretation,
      // Interleave mode 0 ("none") leaves each component in its own plane.
      planar: frame.image.samplesPerPixel > 1 && details === 0,
    };
  },
};
