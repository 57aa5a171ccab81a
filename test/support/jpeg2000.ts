import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import openjph from '@cornerstonejs/codec-openjph';

/**
 * JPEG 2000 and HTJ2K test peers. Debian's native OpenJPEG tools (libopenjp2-tools 2.5: `opj_decompress`, `opj_compress`), the
 * peer Lantern's WebAssembly decoders are checked against. OpenJPEG 2.5 also decodes HTJ2K
 * codestreams, so one peer serves both codecs.
 */

/** A greyscale or RGB image as a PNM file holds it: samples interleaved, row by row. */
export interface PnmImage {
  width: number;
  height: number;
  channels: 1 | 3;
  maxValue: number;
  samples: Uint8Array | Uint16Array;
}

/** Decodes a JPEG 2000 or HTJ2K codestream at resolution level `level` (`-r`), one thread. */
export function opjDecompress(codestream: Uint8Array, level = 0): PnmImage {
  return inScratch((dir) => {
    const input = path.join(dir, 'in.j2c');
    const output = path.join(dir, 'out.pnm');
    fs.writeFileSync(input, codestream);
    execFileSync('opj_decompress', ['-threads', '1', '-r', String(level), '-i', input, '-o', output], { stdio: 'pipe' });
    return readPnm(fs.readFileSync(output));
  });
}

/** Encodes a greyscale image as a JPEG 2000 codestream: lossless 5/3 with 5 decomposition levels unless `args` say otherwise. */
export function opjCompress(image: PnmImage, args: string[] = []): Uint8Array {
  return inScratch((dir) => {
    const input = path.join(dir, 'in.pgm');
    const output = path.join(dir, 'out.j2k');
    fs.writeFileSync(input, writePnm(image));
    execFileSync('opj_compress', ['-i', input, '-o', output, ...args], { stdio: 'pipe' });
    return new Uint8Array(fs.readFileSync(output));
  });
}

export interface Htj2kEncoding {
  /** Reversible 5/3 (lossless), else irreversible 9/7 with `quantizationStep`. */
  lossless: boolean;
  quantizationStep?: number;
  decompositions: number;
  /** 0 LRCP (OpenJPH's default), 2 RPCL (what transfer syntax .4.202 requires). */
  progressionOrder?: number;
}

/** Encodes a greyscale image as an HTJ2K codestream with OpenJPH, the encoder the decoder's package ships. */
export async function htj2kEncode(image: PnmImage, bitsPerSample: number, encoding: Htj2kEncoding): Promise<Uint8Array> {
  const { HTJ2KEncoder } = await openjph({ print: () => {}, printErr: () => {} });
  const encoder = new HTJ2KEncoder();
  try {
    const frameInfo = { width: image.width, height: image.height, bitsPerSample, componentCount: image.channels, isSigned: false, isUsingColorTransform: false };
    encoder.getDecodedBuffer(frameInfo).set(new Uint8Array(image.samples.buffer, image.samples.byteOffset, image.samples.byteLength));
    encoder.setQuality(encoding.lossless, encoding.quantizationStep ?? 0);
    encoder.setDecompositions(encoding.decompositions);
    if (encoding.progressionOrder !== undefined) encoder.setProgressionOrder(encoding.progressionOrder);
    encoder.encode();
    return encoder.getEncodedBuffer().slice();
  } finally {
    encoder.delete();
  }
}

function inScratch<T>(use: (dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-opj-'));
  try {
    return use(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Binary PGM (P5) or PPM (P6), with comments (OpenJPEG writes one); samples over 255 are two bytes, big-endian. */
export function readPnm(bytes: Buffer): PnmImage {
  const fields: string[] = [];
  let position = 0;
  while (fields.length < 4) {
    while (/\s/.test(String.fromCharCode(bytes[position]))) position++;
    if (bytes[position] === 0x23) {
      while (bytes[position] !== 0x0a) position++;
      continue;
    }
    const start = position;
    while (!/\s/.test(String.fromCharCode(bytes[position]))) position++;
    fields.push(bytes.subarray(start, position).toString('latin1'));
  }
  const [magic, width, height, maxValue] = [fields[0], Number(fields[1]), Number(fields[2]), Number(fields[3])];
  if (magic !== 'P5' && magic !== 'P6') throw new Error(`not a binary PGM or PPM: ${magic}`);
  const channels = magic === 'P5' ? 1 : 3;
  const raster = bytes.subarray(position + 1);
  const count = width * height * channels;
  const samples = maxValue > 255 ? Uint16Array.from({ length: count }, (_, i) => raster.readUInt16BE(i * 2)) : new Uint8Array(raster.subarray(0, count));
  return { width, height, channels, maxValue, samples };
}

function writePnm(image: PnmImage): Buffer {
  const header = Buffer.from(`${image.channels === 1 ? 'P5' : 'P6'}\n${image.width} ${image.height}\n${image.maxValue}\n`);
  if (image.maxValue <= 255) return Buffer.concat([header, Buffer.from(image.samples)]);
  const raster = Buffer.alloc(image.samples.length * 2);
  image.samples.forEach((value, i) => raster.writeUInt16BE(value, i * 2));
  return Buffer.concat([header, raster]);
}
