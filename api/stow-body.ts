import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { MaxFileSizeExceededError, MaxPartsExceededError, MaxTotalSizeExceededError, MultipartParseError, MultipartParser } from '@remix-run/multipart-parser';
import { joinedBytes } from '../dicom/bytes.ts';
import { readAtMost } from './body-limit.ts';
import { ApiError, payloadTooLarge } from './errors.ts';

export interface StowBodyLimits {
  maxUploadBytes: number;
  maxParts: number;
  /** Folder for the spool file of a multipart body (under the data folder). */
  spoolDir: string;
}

/** The parts of one upload, read one at a time; `dispose` removes what was spooled. */
export interface ReceivedParts {
  count: number;
  read(index: number): Promise<Uint8Array>;
  dispose(): Promise<void>;
}

/**
 * Reads a STOW-RS body without ever holding more than one part: every byte is counted as it
 * arrives (chunked bodies too) and the upload is refused with 413 the moment it passes
 * LANTERN_MAX_UPLOAD_BYTES; a multipart body's parts are appended to one spool file as each
 * completes, and read back one at a time for ingest — except the parts that complete once the
 * close delimiter has arrived: every byte left is then in memory already, so they stay there
 * (the last part, the only one of most uploads, no longer makes the round trip through a spool
 * file: 2–6 ms of a 677 kB radiograph's way to its job, measured with tools/hot-path/upload-ab.ts). One `application/dicom` body is one part
 * (held, as its parse needs it whole). Each part is read as a buffer of its own, which the
 * parsing thread takes over without a copy. Nothing is ingested until the whole body has been
 * read and found well-formed, so a refused upload stores nothing.
 *
 * The multipart syntax is read as RFC 2046 §5.1.1 and PS3.18 §8.6 allow it: a preamble (or the
 * CRLF dicomweb-client sends) before the first boundary and an epilogue after the last are
 * skipped; `boundary` and `type` may be quoted or not, `type` may be absent; a part without a
 * Content-Type is application/dicom, one of another type refuses the request (415).
 */
export async function receiveDicomBody(contentType: string, body: ReadableStream<Uint8Array>, limits: StowBodyLimits): Promise<ReceivedParts> {
  const tooLarge = () => payloadTooLarge(limits.maxUploadBytes, 'LANTERN_MAX_UPLOAD_BYTES');
  const media = mediaType(contentType);
  if (media.type === 'application/dicom') {
    const bytes = await readAtMost(body, limits.maxUploadBytes);
    if (!bytes) throw tooLarge();
    if (bytes.byteLength === 0) throw new ApiError(400, 'EMPTY_BODY', 'the request has an empty body');
    return { count: 1, read: async () => bytes, dispose: async () => undefined };
  }
  if (media.type !== 'multipart/related') {
    throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `content-type ${contentType || '(none)'} is not accepted; send multipart/related; type="application/dicom"`);
  }
  const type = media.params.get('type');
  if (type !== undefined && mediaType(type).type !== 'application/dicom') {
    throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `multipart/related parts of type ${type} are not accepted; only application/dicom`);
  }
  const boundary = media.params.get('boundary');
  if (!boundary) throw new ApiError(400, 'MALFORMED_MULTIPART', 'multipart/related without a boundary parameter');

  // The spool file is opened when a part has to go there: an upload whose parts all arrive with the close delimiter needs none.
  let spool: { handle: fs.FileHandle; path: string } | undefined;
  const spoolFile = async () => {
    if (spool) return spool.handle;
    await fs.mkdir(limits.spoolDir, { recursive: true, mode: 0o700 });
    const spoolPath = path.join(limits.spoolDir, `stow-${randomUUID()}.parts`);
    spool = { handle: await fs.open(spoolPath, 'wx+', 0o600), path: spoolPath };
    return spool.handle;
  };
  const dispose = async () => {
    if (!spool) return;
    await spool.handle.close().catch(() => undefined);
    await fs.rm(spool.path, { force: true });
  };
  /** Each part: where it was spooled, or its chunks (a part completed once the close delimiter had arrived). */
  const held: ({ offset: number; length: number } | Uint8Array[])[] = [];
  // Read chunk by chunk and handed to the parser as they come, with no stream between: the two
  // transform streams this once went through (count, frame) cost ~1 ms of a radiograph's upload
  // on the API's event loop, on the way to its job.
  const reader = body.getReader();
  const framing = new Framing(boundary);
  const parser = new MultipartParser(boundary, { maxFileSize: limits.maxUploadBytes, maxTotalSize: limits.maxUploadBytes, maxParts: limits.maxParts });
  let size = 0;
  let offset = 0;
  const take = async (bytes: Uint8Array) => {
    if (bytes.byteLength === 0) return;
    for (const part of parser.write(bytes)) {
      const partType = part.headers['content-type'];
      if (partType && mediaType(partType).type !== 'application/dicom') {
        throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `part ${held.length} is ${partType.slice(0, 100)}; every part of multipart/related; type="application/dicom" must be application/dicom`);
      }
      // Once the close delimiter has arrived, what is left of the body is in memory already: holding it adds nothing.
      if (framing.closed) {
        held.push(part.content);
        continue;
      }
      const { bytesWritten } = await (await spoolFile()).writev(part.content, offset);
      held.push({ offset, length: bytesWritten });
      offset += bytesWritten;
    }
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limits.maxUploadBytes) throw new UploadTooLarge();
      for (const bytes of framing.push(value)) await take(bytes);
    }
    for (const bytes of framing.end()) await take(bytes);
    parser.finish();
  } catch (error) {
    await dispose();
    if (error instanceof UploadTooLarge || error instanceof MaxFileSizeExceededError || error instanceof MaxTotalSizeExceededError) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    // Any other refusal reads the rest of the body, within the limit: left unread, it would hold
    // the connection, and the client's next request on it would fail.
    await discardRest(reader, limits.maxUploadBytes - size);
    if (error instanceof MaxPartsExceededError) throw new ApiError(413, 'TOO_MANY_PARTS', `at most ${limits.maxParts} parts per request`);
    if (error instanceof MultipartParseError) throw new ApiError(400, 'MALFORMED_MULTIPART', `the multipart body cannot be parsed: ${error.message.slice(0, 200)}`);
    throw error;
  } finally {
    reader.releaseLock();
  }
  if (held.length === 0) {
    await dispose();
    throw new ApiError(400, 'MALFORMED_MULTIPART', 'the multipart body has no parts');
  }
  return {
    count: held.length,
    async read(index) {
      const part = held[index];
      if (Array.isArray(part)) return joinedBytes(part);
      const bytes = new Uint8Array(part.length);
      await spool!.handle.read(bytes, 0, part.length, part.offset);
      return bytes;
    },
    dispose,
  };
}

class UploadTooLarge extends Error {}

/** Reads what is left of the body and drops it, at most `allowance` more bytes; stops at its end or its error. */
async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>, allowance: number): Promise<void> {
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      allowance -= value.byteLength;
      if (allowance < 0) {
        await reader.cancel();
        return;
      }
    }
  } catch {
    // Cut off: nothing more to read.
  }
}

/** A media type, lower-cased, and its parameters (names lower-cased, quoted values unquoted), as RFC 9110 §8.3.1 writes them. */
function mediaType(header: string): { type: string; params: Map<string, string> } {
  const [type = '', ...rest] = header.split(';');
  const params = new Map<string, string>();
  const parameter = /^\s*([!#$%&'*+.^_`|~0-9a-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s";]*))\s*$/i;
  // Parameters are split on every semicolon first; a quoted value holding one is put back together.
  for (let i = 0; i < rest.length; i++) {
    let raw = rest[i];
    while ((raw.split('"').length - 1) % 2 === 1 && i + 1 < rest.length) raw += `;${rest[++i]}`;
    const match = parameter.exec(raw);
    if (match) params.set(match[1].toLowerCase(), match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3]);
  }
  return { type: type.trim().toLowerCase(), params };
}

/** Bytes of preamble looked through for the first boundary before the body is called malformed. */
const MAX_PREAMBLE_BYTES = 64 * 1024;

/**
 * The body from its first boundary (`--boundary` at the start or after a line break) through
 * its close delimiter (`CRLF--boundary--`): what the multipart parser reads, which refuses a
 * preamble and an epilogue that RFC 2046 allows. `push` takes each chunk as it arrives and
 * answers what to hand on; `closed` says whether the close delimiter has arrived (and been
 * handed on); `end` answers what is still held, or throws for a body without a boundary.
 */
class Framing {
  closed = false;
  private readonly opening: Buffer;
  private readonly close: Buffer;
  private state: 'preamble' | 'parts' | 'epilogue' = 'preamble';
  private boundaryMissing = false;
  /** The tail of the last chunk that could be the start of the close delimiter (or the preamble so far). */
  private held: Buffer = Buffer.alloc(0);

  constructor(private readonly boundary: string) {
    this.opening = Buffer.from(`--${boundary}`);
    this.close = Buffer.from(`\r\n--${boundary}--`);
  }

  push(chunk: Uint8Array): Uint8Array[] {
    if (this.state === 'epilogue') return [];
    let bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.state === 'preamble') {
      bytes = this.held.length ? Buffer.concat([this.held, bytes]) : bytes;
      this.held = Buffer.alloc(0);
      const at = firstBoundary(bytes, this.opening);
      if (at === -1) {
        // Refused at the end, once the rest is read and dropped: refusing now would leave the
        // body on the connection.
        if (bytes.length > MAX_PREAMBLE_BYTES) {
          this.boundaryMissing = true;
          this.state = 'epilogue';
        } else {
          this.held = Buffer.from(bytes);
        }
        return [];
      }
      this.state = 'parts';
      return this.parts(bytes.subarray(at));
    }
    return this.parts(bytes);
  }

  end(): Uint8Array[] {
    // A body that never closes is the parser's to refuse ("not finished").
    if (this.state === 'preamble' || this.boundaryMissing) {
      throw new MultipartParseError(`no boundary "--${this.boundary}" ${this.boundaryMissing ? `in the first ${MAX_PREAMBLE_BYTES} bytes` : 'in the body'}`);
    }
    const rest = this.state === 'parts' && this.held.length > 0 ? [this.held] : [];
    this.held = Buffer.alloc(0);
    return rest;
  }

  /** Hands on all but what could start the close delimiter; through the close delimiter once it is found. */
  private parts(bytes: Buffer): Uint8Array[] {
    const { close } = this;
    const held = this.held;
    this.held = Buffer.alloc(0);
    // The close delimiter may straddle the held tail and this chunk: looked for there first, in a few bytes.
    if (held.length > 0) {
      const straddle = Buffer.concat([held, bytes.subarray(0, close.length - 1)]);
      const at = straddle.indexOf(close);
      if (at !== -1) return this.closing([straddle.subarray(0, at + close.length)]);
    }
    const at = bytes.indexOf(close);
    if (at !== -1) return this.closing([held, bytes.subarray(0, at + close.length)]);
    // The last bytes, which may begin the close delimiter, wait for the next chunk (copied: the
    // chunk's memory is handed on as the part's).
    const keep = close.length - 1;
    if (bytes.length >= keep) {
      this.held = Buffer.from(bytes.subarray(bytes.length - keep));
      return [held, bytes.subarray(0, bytes.length - keep)];
    }
    const both = Buffer.concat([held, bytes]);
    const on = Math.max(0, both.length - keep);
    this.held = both.subarray(on);
    return [both.subarray(0, on)];
  }

  private closing(pieces: Uint8Array[]): Uint8Array[] {
    this.state = 'epilogue';
    this.closed = true;
    return pieces;
  }
}

/** Where `--boundary` first starts a line (or the body); -1 if nowhere yet. */
function firstBoundary(bytes: Buffer, opening: Buffer): number {
  for (let at = bytes.indexOf(opening); at !== -1; at = bytes.indexOf(opening, at + 1)) {
    if (at === 0 || bytes[at - 1] === 0x0a) return at;
  }
  return -1;
}
