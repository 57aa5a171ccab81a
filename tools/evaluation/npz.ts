/**
 * Minimal reader for numpy `.npz` archives (a zip of `.npy` files), enough to read the
 * labelled image splits in `../shared/data` from TypeScript tests and evaluation.
 *
 * Supports stored (method 0) and deflated (method 8) entries, zip64 size fields (numpy's
 * `savez` forces zip64 headers), `.npy` format versions 1–3, C order, little-endian or
 * byte-sized dtypes. Anything else is refused with a clear error rather than misread.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

export type NpyData = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array
  | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

export interface NpyArray {
  dtype: string;
  shape: number[];
  data: NpyData;
}

export class NpzFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NpzFormatError';
  }
}

const DTYPES: Record<string, { bytes: number; make: (b: ArrayBuffer, off: number, n: number) => NpyData }> = {
  u1: { bytes: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  b1: { bytes: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  i1: { bytes: 1, make: (b, o, n) => new Int8Array(b, o, n) },
  u2: { bytes: 2, make: (b, o, n) => new Uint16Array(b, o, n) },
  i2: { bytes: 2, make: (b, o, n) => new Int16Array(b, o, n) },
  u4: { bytes: 4, make: (b, o, n) => new Uint32Array(b, o, n) },
  i4: { bytes: 4, make: (b, o, n) => new Int32Array(b, o, n) },
  f4: { bytes: 4, make: (b, o, n) => new Float32Array(b, o, n) },
  f8: { bytes: 8, make: (b, o, n) => new Float64Array(b, o, n) },
  i8: { bytes: 8, make: (b, o, n) => new BigInt64Array(b, o, n) },
  u8: { bytes: 8, make: (b, o, n) => new BigUint64Array(b, o, n) },
};

/** Parse one `.npy` file. The returned typed array owns a fresh, aligned buffer. */
export function parseNpy(buf: Uint8Array, name = '.npy'): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (buf.length < 10 || magic.some((m, i) => buf[i] !== m)) throw new NpzFormatError(`${name}: not a .npy file`);
  const major = buf[6];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    throw new NpzFormatError(`${name}: unsupported .npy version ${major}`);
  }
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(buf.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new NpzFormatError(`${name}: unreadable header ${JSON.stringify(header)}`);
  }
  if (fortran === 'True') throw new NpzFormatError(`${name}: Fortran-order arrays are not supported`);
  const order = descr[0];
  const kind = descr.slice(1);
  const spec = DTYPES[kind];
  if (!spec) throw new NpzFormatError(`${name}: unsupported dtype ${descr}`);
  if (order === '>' && spec.bytes > 1) throw new NpzFormatError(`${name}: big-endian dtype ${descr} is not supported`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLen;
  const bytes = count * spec.bytes;
  if (offset + bytes > buf.length) {
    throw new NpzFormatError(`${name}: truncated data (${buf.length - offset} bytes, need ${bytes})`);
  }
  const copy = new ArrayBuffer(bytes); // aligned for the typed-array view
  new Uint8Array(copy).set(buf.subarray(offset, offset + bytes));
  return { dtype: descr, shape, data: spec.make(copy, 0, count) };
}

/** Read the raw bytes of every entry in a zip archive, keyed by entry name. */
export function readZipEntries(zip: Uint8Array): Map<string, Uint8Array> {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  // End of central directory: signature 0x06054b50, within the last 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new NpzFormatError('not a zip archive (no end-of-central-directory record)');
  let entries = view.getUint16(eocd + 10, true);
  let cd = view.getUint32(eocd + 16, true);
  if (cd === 0xffffffff || entries === 0xffff) {
    // Zip64 end-of-central-directory locator sits just before the EOCD.
    const loc = eocd - 20;
    if (loc < 0 || view.getUint32(loc, true) !== 0x07064b50) throw new NpzFormatError('zip64 locator missing');
    const z64 = Number(view.getBigUint64(loc + 8, true));
    if (view.getUint32(z64, true) !== 0x06064b50) throw new NpzFormatError('zip64 end record missing');
    entries = Number(view.getBigUint64(z64 + 32, true));
    cd = Number(view.getBigUint64(z64 + 48, true));
  }
  const out = new Map<string, Uint8Array>();
  let p = cd;
  for (let e = 0; e < entries; e++) {
    if (view.getUint32(p, true) !== 0x02014b50) throw new NpzFormatError(`bad central directory entry at ${p}`);
    const method = view.getUint16(p + 10, true);
    let compSize = view.getUint32(p + 20, true);
    let size = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    let local = view.getUint32(p + 42, true);
    const name = new TextDecoder().decode(zip.subarray(p + 46, p + 46 + nameLen));
    // Zip64 extended information (header id 0x0001): only the fields that overflowed, in this order.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = view.getUint16(x, true);
      const len = view.getUint16(x + 2, true);
      if (id === 0x0001) {
        let q = x + 4;
        if (size === 0xffffffff) { size = Number(view.getBigUint64(q, true)); q += 8; }
        if (compSize === 0xffffffff) { compSize = Number(view.getBigUint64(q, true)); q += 8; }
        if (local === 0xffffffff) { local = Number(view.getBigUint64(q, true)); q += 8; }
      }
      x += 4 + len;
    }
    if (view.getUint32(local, true) !== 0x04034b50) throw new NpzFormatError(`${name}: bad local header`);
    const dataStart = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const raw = zip.subarray(dataStart, dataStart + compSize);
    let bytes: Uint8Array;
    if (method === 0) bytes = raw;
    else if (method === 8) bytes = inflateRawSync(raw);
    else throw new NpzFormatError(`${name}: unsupported zip compression method ${method}`);
    if (bytes.length !== size) throw new NpzFormatError(`${name}: size ${bytes.length} != declared ${size}`);
    out.set(name, bytes);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** Load a `.npz` file; keys are the array names without the `.npy` suffix. */
export function readNpz(path: string): Map<string, NpyArray> {
  const arrays = new Map<string, NpyArray>();
  for (const [name, bytes] of readZipEntries(readFileSync(path))) {
    if (!name.endsWith('.npy')) continue;
    arrays.set(name.slice(0, -4), parseNpy(bytes, name));
  }
  return arrays;
}

/** Writes a C-order .npy (format 1.0) of float32 or uint16 values: what the training recipes hand to numpy. */
export function writeNpy(path: string, data: Float32Array | Uint16Array, shape: number[]): void {
  const descr = data instanceof Float32Array ? '<f4' : '<u2';
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  // The data starts on a 64-byte boundary: 10 bytes of preamble, the header, its newline.
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const preamble = Buffer.alloc(10);
  preamble.write('\x93NUMPY', 0, 'latin1');
  preamble[6] = 1;
  preamble.writeUInt16LE(header.length, 8);
  writeFileSync(path, Buffer.concat([preamble, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

