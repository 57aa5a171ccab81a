import { lazyModule, quietModule, runEmscriptenDecoder } from './emscripten.ts';
import { j2kReducibleLevels, j2kSize } from './codestream.ts';
import type { FrameDecoder } from './types.ts';

const openjpeg = lazyModule(async () => (await import('@cornerstonejs/codec-openjpeg/decodewasmjs')).default(quietModule));

/**
 * JPEG 2000 (.4.90 lossless, .4.91 lossy) via OpenJPEG, which undoes the colour transform itself.
 * A caller that needs less than full resolution gets a level of the codestream's wavelet pyramid
 * (as deep as its decomposition levels go), which skips the finer levels' work entirely.
 */
export const jpeg2000: FrameDecoder = {
  encapsulated: true,
  async decode(frame) {
    const { J2KDecoder } = await openjpeg();
    const level = Math.min(frame.maxLevel ?? 0, j2kReducibleLevels(frame.bytes));
    const { bytes, bytesPerSample } = runEmscriptenDecoder('OpenJPEG', new J2KDecoder(), frame, j2kSize(frame.bytes), () => null, level);
    const { photometricInterpretation, samplesPerPixel } = frame.image;
    const colourTransformed = samplesPerPixel === 3 && photometricInterpretation.startsWith('YBR_');
    return {
      bytes,
      bytesPerSample,
      photometricInterpretation: colourTransformed ? 'RGB' : photometricInterpretation,
      planar: false,
      level,
    };
  },
};
