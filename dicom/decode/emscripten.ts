import { codecFailure, checkDimensions } from './codec-error.ts';
import { checkDeclaredSize, type DeclaredSize } from './codestream.ts';
import { sizeAtLevel } from './reduce.ts';
import type { EncodedFrame } from './types.ts';

export interface Decoder {
  getEncodedBuffer(encodedSize: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number };
  delete(): void;
  /** Wavelet codecs (OpenJPEG, OpenJPH): decodes level `level` (each pixel a 2^level block) with all quality layers (`layer` 0). */
  decodeSubResolution?(level: number, layer: number): void;
  calculateSizeAtDecompositionLevel?(level: number): { width: number; height: number };
}

export interface EmscriptenResult<T> {
  bytes: Uint8Array;
  bytesPerSample: 1 | 2;
  details: T;
}

/** OpenJPEG logs progress to stdout; failures still surface as thrown errors. */
export const quietModule = { print: () => {}, printErr: () => {} };

/**
 * Loads a codec's WebAssembly build once per process. Instantiation costs tens of
 * milliseconds, so it happens on first use rather than at import.
 */
export function lazyModule<M>(load: () => Promise<M>): () => Promise<M> {
  let module: Promise<M> | undefined;
  return () => {
    module ??= load().catch((error: unknown) => {
      module = undefined;
      throw error;
    });
    return module;
  };
}

/**
 * Runs one decode on a cornerstone emscripten codec, once the size its codestream declares
 * (`declared`) matches the header. The decoded buffer is a view into WebAssembly memory, so
 * it is copied out before the decoder is freed; `inspect` reads anything else it needs from
 * the live decoder. A pyramid codec given `level` > 0 decodes that resolution level, which must
 * come out ceil(size / 2^level).
 */
export function runEmscriptenDecoder<D extends Decoder, T>(
  codec: string,
  decoder: D,
  frame: EncodedFrame,
  declared: DeclaredSize | undefined,
  inspect: (decoder: D) => T,
  level = 0,
): EmscriptenResult<T> {
  try {
    checkDeclaredSize(codec, frame.image, declared);
    decoder.getEncodedBuffer(frame.bytes.length).set(frame.bytes);
    if (level > 0) decodeLevel(codec, decoder, frame, level);
    else decoder.decode();
    const info = decoder.getFrameInfo();
    checkDimensions(codec, frame.image, info);
    const bytes = decoder.getDecodedBuffer().slice();
    return { bytes, bytesPerSample: info.bitsPerSample > 8 ? 2 : 1, details: inspect(decoder) };
  } catch (thrown) {
    throw codecFailure(codec, thrown);
  } finally {
    decoder.delete();
  }
}

/** Decodes resolution level `level`, which must come out ceil(size / 2^level) as the frame's caller was told. */
function decodeLevel(codec: string, decoder: Decoder, frame: EncodedFrame, level: number): void {
  if (!decoder.decodeSubResolution || !decoder.calculateSizeAtDecompositionLevel) throw new Error(`${codec} has no resolution levels to decode`);
  decoder.decodeSubResolution(level, 0);
  const produced = decoder.calculateSizeAtDecompositionLevel(level);
  checkDimensions(codec, { ...frame.image, ...sizeAtLevel(frame.image, level) }, { ...produced, componentCount: frame.image.samplesPerPixel });
}
