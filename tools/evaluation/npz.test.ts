import { deflateRawSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { NpzFormatError, parseNpy, readNpz, readZipEntries } from './npz.ts';

const here = dirname(fileURLToPath(import.meta.url));
const NPZ = join(here, '../../../shared/data/images/pneumoniamnist/pneumoniamnist_varun19424.npz');

/** A .npy v1.0 file, built byte by byte as numpy writes it (header padded to 64 bytes). */
function npy(descr: string, shape: number[], data: Uint8Array): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  header = header.padEnd(Math.ceil((header.length + 11) / 64) * 64 - 11, ' ') + '\n';
  const out = new Uint8Array(10 + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(data, 10 + header.length);
  return out;
}

/** A minimal zip (CRC left 0: the reader does not check it) with stored or deflated entries. */
function zip(entries: { name: string; bytes: Uint8Array; method: 0 | 8 }[]): Uint8Array {
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = new TextEncoder().encode(e.name);
    const body = e.method === 8 ? new Uint8Array(deflateRawSync(e.bytes)) : e.bytes;
    const local = new Uint8Array(30 + name.length + body.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(8, e.method, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, e.bytes.length, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    local.set(body, 30 + name.length);
    const central = new Uint8Array(46 + name.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(10, e.method, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, e.bytes.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    central.set(name, 46);
    locals.push(local);
    centrals.push(central);
    offset += local.length;
  }
  const cdSize = centrals.reduce((a, c) => a + c.length, 0);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  return Buffer.concat([...locals, ...centrals, eocd]);
}

describe('npz reader', () => {
  it('when entries are stored and deflated, then both decode to the same arrays', () => {
    const f32 = new Float32Array([0.5, -1, 3.25, 1e-3, 7, 8]);
    const u8 = new Uint8Array([0, 1, 255]);
    const files = [
      { name: 'a.npy', bytes: npy('<f4', [2, 3], new Uint8Array(f32.buffer)) },
      { name: 'b.npy', bytes: npy('|u1', [3], u8) },
    ];
    for (const method of [0, 8] as const) {
      const entries = readZipEntries(zip(files.map((f) => ({ ...f, method }))));
      const a = parseNpy(entries.get('a.npy')!);
      const b = parseNpy(entries.get('b.npy')!);
      expect(a.shape).toEqual([2, 3]);
      expect(Array.from(a.data as Float32Array)).toEqual(Array.from(f32));
      expect(b.shape).toEqual([3]);
      expect(Array.from(b.data as Uint8Array)).toEqual([0, 1, 255]);
    }
  });

  it('when the data is big-endian, Fortran-ordered or truncated, then a NpzFormatError says so', () => {
    expect(() => parseNpy(npy('>f4', [1], new Uint8Array(4)))).toThrow(/big-endian/);
    const fortran = new TextDecoder('latin1').decode(npy('<f4', [1], new Uint8Array(4))).replace('False', 'True ');
    expect(() => parseNpy(Uint8Array.from(fortran, (c) => c.charCodeAt(0)))).toThrow(/Fortran/);
    expect(() => parseNpy(npy('<f4', [4], new Uint8Array(8)))).toThrow(NpzFormatError);
    expect(() => readZipEntries(new Uint8Array(100))).toThrow(/not a zip/);
  });

  it('when the shared PneumoniaMNIST copy is read, then its splits have the documented shapes and counts', () => {
    const npz = readNpz(NPZ);
    expect(npz.get('train_images')!.shape).toEqual([3882, 28, 28]);
    expect(npz.get('val_images')!.shape).toEqual([524, 28, 28]);
    expect(npz.get('test_images')!.shape).toEqual([624, 28, 28]);
    expect(npz.get('test_labels')!.shape).toEqual([624, 1]);
    const sum = (k: string) => (npz.get(k)!.data as Uint8Array).reduce((a, b) => a + b, 0);
    expect([sum('val_labels'), sum('test_labels')]).toEqual([389, 390]);
  });
});
