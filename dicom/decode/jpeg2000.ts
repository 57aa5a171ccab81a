import { checkDimensions } from './codec-error.ts';
import { checkDeclaredSize, j2kReducibleLevels, j2kSigned, j2kSize } from './codestream.ts';
import { lazyModule, quietModule, runEmscriptenDecoder, type Decoder } from './emscripten.ts';
import { createNativeOpenJpeg, type NativeOpenJpeg, type NativeSamples } from './openjpeg-native/index.ts';
import { sizeAtLevel } from './reduce.ts';
import type { EncodedFrame, FrameDecoder } from './types.ts';

const openjpeg = lazyModule(async () => (await import('@cornerstonejs/codec-openjpeg/decodewasmjs')).default(quietModule));
const openjph = lazyModule(async () => (await import('@cornerstonejs/codec-openjph')).default(quietModule));

/**
 * Native OpenJPEG, once a role that decodes for models has enabled it (enableNativeJpeg2000):
 * tried first, with this module's WebAssembly build as its fallback — except past its deadline,
 * which fails the decode (openjpeg-native/index.ts).
 */
let native: NativeOpenJpeg | undefined;

/**
 * Decodes JPEG 2000 with the machine's OpenJPEG in a sandboxed sidecar process where it can, on
 * `threads` threads a decode, with the folders `hidden` out of its sight (the worker role's
 * composition root calls it with the data folder and the blob store).
 */
export function enableNativeJpeg2000(options: { threads?: number; hidden?: readonly string[] } = {}): NativeOpenJpeg {
  native ??= createNativeOpenJpeg({ threads: options.threads, sandbox: { hidden: options.hidden ?? [] } });
  return native;
}

/** JPEG 2000 (.4.90 lossless, .4.91 lossy) via OpenJPEG: native where enabled and present, else its WebAssembly build. */
export const jpeg2000 = waveletDecoder('OpenJPEG', async () => new (await openjpeg()).J2KDecoder(), (frame, level) => native?.decode(frame.bytes, level));

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
function waveletDecoder(codec: string, create: () => Promise<Decoder>, decodeNatively?: (frame: EncodedFrame, level: number) => Promise<NativeSamples | undefined> | undefined): FrameDecoder {
  return {
    encapsulated: true,
    async decode(frame) {
      // A codestream whose sign is not Pixel Representation's comes out reinterpreted (shapeFrame):
      // its levels average the codec's values, which across the wrap are not the stored values'
      // averages, so the frame is reduced from the full decode instead.
      const signAgrees = j2kSigned(frame.bytes) === (frame.image.pixelRepresentation === 1);
      const level = signAgrees ? Math.min(frame.maxLevel ?? 0, j2kReducibleLevels(frame.bytes)) : 0;
      // Before any codec sees it: a codestream of another size is not this image.
      checkDeclaredSize(codec, frame.image, j2kSize(frame.bytes));
      const nativeSamples = await decodeNatively?.(frame, level);
      const { bytes, bytesPerSample } = nativeSamples
        ? fromNative(codec, frame, level, nativeSamples)
        : runEmscriptenDecoder(codec, await create(), frame, undefined, () => null, level);
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

/** The native decode as the WebAssembly build returns it, held to the same checks: the size at `level` the header implies. */
function fromNative(codec: string, frame: EncodedFrame, level: number, decoded: NativeSamples): { bytes: Uint8Array; bytesPerSample: 1 | 2 } {
  checkDimensions(codec, { ...frame.image, ...sizeAtLevel(frame.image, level) }, { width: decoded.width, height: decoded.height, componentCount: decoded.components });
  return { bytes: decoded.samples, bytesPerSample: decoded.precision > 8 ? 2 : 1 };
}
