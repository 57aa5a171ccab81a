// The emscripten codec builds and jpeg-lossless-decoder-js ship without usable typings;
// these declare only the surface our decoders call.

interface EmscriptenFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned: boolean;
}

interface EmscriptenModuleOptions {
  print?: (text: string) => void;
  printErr?: (text: string) => void;
}

interface EmscriptenDecoder {
  getEncodedBuffer(encodedSize: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): EmscriptenFrameInfo;
  delete(): void;
}

/** OpenJPEG and OpenJPH stop at a coarser level of the wavelet pyramid: level r is ceil(size / 2^r). */
interface EmscriptenPyramidDecoder extends EmscriptenDecoder {
  /** `decodeLayer` 0 decodes every quality layer. */
  decodeSubResolution(decodeLevel: number, decodeLayer: number): void;
  calculateSizeAtDecompositionLevel(decodeLevel: number): { width: number; height: number };
}

declare module '@cornerstonejs/codec-openjpeg/decodewasmjs' {
  const factory: (module?: EmscriptenModuleOptions) => Promise<{ J2KDecoder: new () => EmscriptenPyramidDecoder }>;
  export default factory;
}

declare module '@cornerstonejs/codec-openjph' {
  /** Tests make HTJ2K frames with it (test/support/jpeg2000.ts). */
  interface HTJ2KEncoder {
    getDecodedBuffer(frameInfo: Omit<EmscriptenFrameInfo, 'isSigned'> & { isSigned: boolean; isUsingColorTransform: boolean }): Uint8Array;
    /** Lossless (reversible 5/3), else irreversible 9/7 with this quantisation step. */
    setQuality(lossless: boolean, quantizationStep: number): void;
    setDecompositions(levels: number): void;
    /** 0 LRCP, 1 RLCP, 2 RPCL, 3 PCRL, 4 CPRL. */
    setProgressionOrder(order: number): void;
    encode(): void;
    getEncodedBuffer(): Uint8Array;
    delete(): void;
  }
  const factory: (module?: EmscriptenModuleOptions) => Promise<{ HTJ2KDecoder: new () => EmscriptenPyramidDecoder; HTJ2KEncoder: new () => HTJ2KEncoder }>;
  export default factory;
}

declare module '@cornerstonejs/codec-charls/decodewasmjs' {
  interface JpegLSDecoder extends EmscriptenDecoder {
    /** 0 = planes one after another, 1 = line interleaved, 2 = sample interleaved. */
    getInterleaveMode(): number;
  }
  const factory: (module?: EmscriptenModuleOptions) => Promise<{ JpegLSDecoder: new () => JpegLSDecoder }>;
  export default factory;
}

declare module '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs' {
  const factory: (module?: EmscriptenModuleOptions) => Promise<{ JPEGDecoder: new () => EmscriptenDecoder }>;
  export default factory;
}

declare module 'jpeg-lossless-decoder-js' {
  export class Decoder {
    decompress(buffer: ArrayBufferLike, offset?: number, length?: number): ArrayBuffer;
  }
}
