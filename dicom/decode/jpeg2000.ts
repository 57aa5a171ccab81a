import { lazyModule, quietModule, runEmscriptenDecoder, type Decoder } from './emscripten.ts';
import { j2kReducibleLevels, j2kSigned, j2kSize } from './codestream.ts';
import type { FrameDecoder } from './types.ts';

const openjpeg = lazyModule(async () => (await import('@cornerstonejs/codec-openjpeg/decodewasmjs')).default(quietModule));
const openjph = lazyModule(async () => (await import('@cornerstonejs/codec-openjph')).default(quietModule));

/** JPEG 2000 (.4.90 lossless, .4.91 lossy) via OpenJPEG. */
export const jpeg2000 = waveletDecoder('OpenJPEG', async () => new (await openjpeg()).J2KDecoder());

/**
 * High-Throughput JPEG 2000 (.4.201 lossless, .4.202 lossless RPCL, .4.203) via OpenJPH: the
 * same codestream syntax and wavelet pyramid with a faster block coder (ISO/IEC 15444-15).
 */
export const htj2k = waveletDecoder('OpenJPH', async () => new (await openjph()).HTJ2KDecoder());

/**
 * A JPEG 2000-family decoder; its codec undoes the colour transform itself. A caller that needs
 * less than full resolution gets a level of the codestream's wavelet pyramid (as deep as its
 * decomposition levels go): the codec still reads every packet header, but decodes no code-block
 * and runs no inverse wavelet step of the finer levels.
 */
function waveletDecoder(codec: string, create: () => Promise<Decoder>): FrameDecoder {
  return {
    encapsulated: true,
    async decode(frame) {
      const decoder = await create();
      // A codestream whose sign is not Pixel Representation's comes out reinterpreted (shapeFrame):
      // its levels average the codec's values, which across the wrap are not the stored values'
      // averages, so the frame is reduced from the full decode instead.
      const signAgrees = j2kSigned(frame.bytes) === (frame.image.pixelRepresentation === 1);
      const level = signAgrees ? Math.min(frame.maxLevel ?? 0, j2kReducibleLevels(frame.bytes)) : 0;
      const { bytes, bytesPerSample } = runEmscriptenDecoder(codec, decoder, frame, j2kSize(frame.bytes), () => null, level);
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
}
