// A process that decodes JPEG 2000 codestreams with the machine's OpenJPEG (Debian's libopenjp2,
// the library of the bench's native reference) through koffi's C FFI, for ./index.ts. Native code
// is not sandboxed as WebAssembly is: a codestream that crashes the library ends this process, not
// the worker that asked. Plain JavaScript so that it starts without a TypeScript loader.
//
// Protocol (process.send, advanced serialisation): { ready: true } | { ready: false, error } once at
// start; then per request { id, codestream, level } the answer { id, width, height, components,
// precision, signed, samples } (samples little-endian, interleaved, 1 byte each up to 8 bits of
// precision, else 2) or { id, error }.
import koffi from 'koffi';

const OPJ_CODEC_J2K = 0;
/** Generous room for opj_dparameters_t (about 20 kB in OpenJPEG 2.5), filled by the library itself. */
const PARAMETERS_BYTES = 64 * 1024;

// The library to load (Debian's libopenjp2-7 unless the caller names another) and the threads a decode may use.
const library = process.argv[2] ?? 'libopenjp2.so.7';
const threads = Number(process.argv[3] ?? 1);
/** Answers the parent while it listens; one that has gone away needs no answer (and this process ends on disconnect). */
const reply = (message) => {
  if (process.connected) process.send(message, (error) => error && process.exit(0));
};
let lib;
try {
  lib = koffi.load(library);
} catch (error) {
  reply({ ready: false, error: `${library} could not be loaded: ${error.message}` });
  process.disconnect?.();
  process.exit(0);
}

const Component = koffi.struct('opj_image_comp_t', {
  dx: 'uint32', dy: 'uint32', w: 'uint32', h: 'uint32', x0: 'uint32', y0: 'uint32', prec: 'uint32',
  bpp: 'uint32', sgnd: 'uint32', resno_decoded: 'uint32', factor: 'uint32', data: 'int32 *', alpha: 'uint16',
});
const Image = koffi.struct('opj_image_t', {
  x0: 'uint32', y0: 'uint32', x1: 'uint32', y1: 'uint32', numcomps: 'uint32', color_space: 'int',
  comps: 'opj_image_comp_t *', icc_profile_buf: 'uint8 *', icc_profile_len: 'uint32',
});
const ReadFn = koffi.proto('size_t opj_read_fn(void *buffer, size_t n, void *user)');
const SkipFn = koffi.proto('int64 opj_skip_fn(int64 n, void *user)');
const SeekFn = koffi.proto('int opj_seek_fn(int64 n, void *user)');
const opj = {
  createDecompress: lib.func('void *opj_create_decompress(int format)'),
  setDefaultParameters: lib.func('void opj_set_default_decoder_parameters(void *parameters)'),
  setupDecoder: lib.func('int opj_setup_decoder(void *codec, void *parameters)'),
  setThreads: lib.func('int opj_codec_set_threads(void *codec, int threads)'),
  streamCreate: lib.func('void *opj_stream_create(size_t bufferSize, int isInput)'),
  setRead: lib.func('void opj_stream_set_read_function(void *stream, opj_read_fn *fn)'),
  setSkip: lib.func('void opj_stream_set_skip_function(void *stream, opj_skip_fn *fn)'),
  setSeek: lib.func('void opj_stream_set_seek_function(void *stream, opj_seek_fn *fn)'),
  setLength: lib.func('void opj_stream_set_user_data_length(void *stream, uint64 length)'),
  readHeader: lib.func('int opj_read_header(void *stream, void *codec, _Out_ opj_image_t **image)'),
  decode: lib.func('int opj_decode(void *codec, void *stream, opj_image_t *image)'),
  endDecompress: lib.func('int opj_end_decompress(void *codec, void *stream)'),
  streamDestroy: lib.func('void opj_stream_destroy(void *stream)'),
  destroyCodec: lib.func('void opj_destroy_codec(void *codec)'),
  imageDestroy: lib.func('void opj_image_destroy(opj_image_t *image)'),
};

// The codestream being decoded and the library's read position in it: one decode at a time.
let source = new Uint8Array(0);
let position = 0;
const read = koffi.register((buffer, wanted) => {
  const count = Math.min(Number(wanted), source.length - position);
  if (count <= 0) return -1; // (OPJ_SIZE_T)-1: end of stream
  new Uint8Array(koffi.view(buffer, count)).set(source.subarray(position, position + count));
  position += count;
  return count;
}, koffi.pointer(ReadFn));
const skip = koffi.register((by) => {
  const moved = Math.max(-position, Math.min(Number(by), source.length - position));
  position += moved;
  return moved;
}, koffi.pointer(SkipFn));
const seek = koffi.register((to) => {
  if (Number(to) > source.length) return 0;
  position = Number(to);
  return 1;
}, koffi.pointer(SeekFn));
const parameters = Buffer.alloc(PARAMETERS_BYTES);

/** Decodes resolution level `level` (cp_reduce, the first field of opj_dparameters_t) with every quality layer. */
function decode(codestream, level) {
  source = codestream;
  position = 0;
  const codec = opj.createDecompress(OPJ_CODEC_J2K);
  const stream = opj.streamCreate(codestream.length, 1);
  let image = null;
  try {
    opj.setDefaultParameters(parameters);
    parameters.writeUInt32LE(level, 0);
    if (!opj.setupDecoder(codec, parameters)) throw new Error('opj_setup_decoder refused the parameters');
    // Code-blocks decoded on `threads` threads (one: none started).
    if (threads > 1) opj.setThreads(codec, threads);
    opj.setRead(stream, read);
    opj.setSkip(stream, skip);
    opj.setSeek(stream, seek);
    opj.setLength(stream, codestream.length);
    const out = [null];
    if (!opj.readHeader(stream, codec, out)) throw new Error('opj_read_header failed');
    image = out[0];
    if (!opj.decode(codec, stream, image) || !opj.endDecompress(codec, stream)) throw new Error('opj_decode failed');
    return samplesOf(koffi.decode(image, Image));
  } finally {
    if (image) opj.imageDestroy(image);
    opj.streamDestroy(stream);
    opj.destroyCodec(codec);
    source = new Uint8Array(0);
  }
}

/** The components' values interleaved, in 1 or 2 bytes each as the WebAssembly build returns them. */
function samplesOf(image) {
  const components = koffi.decode(image.comps, koffi.array(Component, image.numcomps));
  const [first] = components;
  if (components.some((c) => c.w !== first.w || c.h !== first.h || c.prec !== first.prec || c.sgnd !== first.sgnd)) {
    throw new Error('components differ in size or precision');
  }
  const pixels = first.w * first.h;
  const count = pixels * components.length;
  const wide = first.prec > 8;
  const out = wide ? (first.sgnd ? new Int16Array(count) : new Uint16Array(count)) : (first.sgnd ? new Int8Array(count) : new Uint8Array(count));
  components.forEach((component, c) => {
    const values = new Int32Array(koffi.view(component.data, pixels * 4));
    if (components.length === 1) out.set(values);
    else for (let i = 0; i < pixels; i++) out[i * components.length + c] = values[i];
  });
  return {
    width: first.w, height: first.h, components: components.length, precision: first.prec, signed: first.sgnd === 1,
    samples: new Uint8Array(out.buffer),
  };
}

process.on('message', ({ id, codestream, level }) => {
  try {
    reply({ id, ...decode(codestream, level) });
  } catch (error) {
    reply({ id, error: error.message });
  }
});
process.on('disconnect', () => process.exit(0));
reply({ ready: true });
