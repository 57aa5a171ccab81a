/**
 * How a STOW-RS multipart body is held on its way to ingest: a part completed before the close
 * delimiter arrived goes to the spool file, the parts that complete with it stay in memory (so
 * the one-part upload, the common one, never touches the disk), and every part comes back
 * whole, in order, as a buffer of its own that the parsing thread can take over without a copy.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { receiveDicomBody } from './stow-body.ts';

const boundary = 'stow-body-test';
const contentType = `multipart/related; type="application/dicom"; boundary=${boundary}`;
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

/** A folder for the spool that does not exist yet: whether it was ever created says whether anything was spooled. */
function spoolDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stow-body-'));
  dirs.push(dir);
  return path.join(dir, 'tmp');
}

/** Distinct bytes per part, large enough to span several chunks. */
const partBytes = (seed: number, size = 200_000) => Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed * 7) & 0xff);

/** The multipart framing of `parts`, as separate pieces: opening of each part, its bytes, the close delimiter. */
function pieces(parts: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const [i, part] of parts.entries()) out.push(Buffer.from(`${i ? '\r\n' : ''}--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), part);
  out.push(Buffer.from(`\r\n--${boundary}--\r\n`));
  return out;
}

/** A stream delivering `chunks` one per pull, as a socket would. */
const streamOf = (chunks: Uint8Array[]) => new ReadableStream<Uint8Array>({
  pull(controller) {
    const next = chunks.shift();
    if (next) controller.enqueue(next);
    else controller.close();
  },
});

async function receive(chunks: Uint8Array[], dir: string) {
  const parts = await receiveDicomBody(contentType, streamOf(chunks), { maxUploadBytes: 10_000_000, maxParts: 10, spoolDir: dir });
  const read: Uint8Array[] = [];
  for (let i = 0; i < parts.count; i++) read.push(await parts.read(i));
  const spooled = fs.existsSync(dir) ? fs.readdirSync(dir) : undefined;
  await parts.dispose();
  return { read, spooled, left: fs.existsSync(dir) ? fs.readdirSync(dir) : [] };
}

describe('a STOW-RS body on its way to ingest', () => {
  it('when one part arrives with the close delimiter, then it is held in memory, nothing is spooled, and its bytes are a whole buffer of their own', async () => {
    const part = partBytes(1);
    const dir = spoolDir();
    // Streamed in 64 KiB pieces, the close delimiter in the last one.
    const body = Buffer.concat(pieces([part]));
    const chunks = Array.from({ length: Math.ceil(body.length / 65_536) }, (_, i) => body.subarray(i * 65_536, (i + 1) * 65_536));
    const { read, spooled } = await receive(chunks, dir);
    expect(read).toHaveLength(1);
    expect(Buffer.compare(read[0], part)).toBe(0);
    expect(spooled).toBeUndefined();
    expect(read[0].byteOffset).toBe(0);
    expect(read[0].byteLength).toBe(read[0].buffer.byteLength);
  });

  it('when parts complete before the close delimiter arrives, then they are spooled and read back in order, the last one held, and the spool is removed', async () => {
    const parts = [partBytes(1), partBytes(2), partBytes(3, 1000)];
    const dir = spoolDir();
    const { read, spooled, left } = await receive(pieces(parts), dir);
    expect(read.map((bytes) => Buffer.from(bytes).toString('hex'))).toEqual(parts.map((bytes) => Buffer.from(bytes).toString('hex')));
    expect(spooled).toHaveLength(1);
    expect(left).toEqual([]);
    for (const bytes of read) expect(bytes.byteLength).toBe(bytes.buffer.byteLength);
  });

  it('when several parts arrive in one piece with the close delimiter, then all come back in order and none is spooled', async () => {
    const parts = [partBytes(4, 3000), partBytes(5, 5000), partBytes(6, 7)];
    const dir = spoolDir();
    const { read, spooled } = await receive([Buffer.concat(pieces(parts))], dir);
    expect(read.map((bytes) => Buffer.from(bytes).toString('hex'))).toEqual(parts.map((bytes) => Buffer.from(bytes).toString('hex')));
    expect(spooled).toBeUndefined();
  });

  it('when the close delimiter is split between two chunks at any byte, then the part comes back whole and is held, never spooled', async () => {
    const part = partBytes(7, 3000);
    const body = Buffer.concat(pieces([part]));
    const close = body.lastIndexOf(`\r\n--${boundary}--`);
    for (let split = close - 2; split <= body.length; split++) {
      const dir = spoolDir();
      const { read, spooled } = await receive([body.subarray(0, split), body.subarray(split)], dir);
      expect(Buffer.compare(read[0], part), `split at ${split}`).toBe(0);
      expect(spooled, `split at ${split}`).toBeUndefined();
    }
  });

  it('when a body with a preamble and an epilogue arrives a byte at a time, then its parts come back whole and in order', async () => {
    const parts = [partBytes(8, 300), partBytes(9, 200)];
    const body = Buffer.concat([Buffer.from('a preamble\r\n'), ...pieces(parts), Buffer.from('an epilogue\r\n')]);
    const { read, left } = await receive(Array.from(body, (byte) => Uint8Array.of(byte)), spoolDir());
    expect(read.map((bytes) => Buffer.from(bytes).toString('hex'))).toEqual(parts.map((bytes) => Buffer.from(bytes).toString('hex')));
    expect(left).toEqual([]);
  });
});
