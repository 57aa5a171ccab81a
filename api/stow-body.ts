import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { MaxFileSizeExceededError, MaxPartsExceededError, MaxTotalSizeExceededError, MultipartParseError, parseMultipartStream } from '@remix-run/multipart-parser';
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
  const framed = withoutPreambleAndEpilogue(counted(body, limits.maxUploadBytes), boundary);
  const source = framed.stream;
  try {
    let offset = 0;
    const parts = parseMultipartStream(source, {
      boundary, maxFileSize: limits.maxUploadBytes, maxTotalSize: limits.maxUploadBytes, maxParts: limits.maxParts,
    });
    for await (const part of parts) {
      const partType = part.headers['content-type'];
      if (partType && mediaType(partType).type !== 'application/dicom') {
        throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `part ${held.length} is ${partType.slice(0, 100)}; every part of multipart/related; type="application/dicom" must be application/dicom`);
      }
      // Once the close delimiter has arrived, what is left of the body is in memory already: holding it adds nothing.
      if (framed.closed()) {
        held.push(part.content);
        continue;
      }
      const { bytesWritten } = await (await spoolFile()).writev(part.content, offset);
      held.push({ offset, length: bytesWritten });
      offset += bytesWritten;
    }
  } catch (error) {
    await dispose();
    if (error instanceof UploadTooLarge || error instanceof MaxFileSizeExceededError || error instanceof MaxTotalSizeExceededError) throw tooLarge();
    // Any other refusal reads the rest of the body, within the limit: left unread, it would hold
    // the connection, and the client's next request on it would fail.
    await discardRest(source);
    if (error instanceof MaxPartsExceededError) throw new ApiError(413, 'TOO_MANY_PARTS', `at most ${limits.maxParts} parts per request`);
    if (error instanceof MultipartParseError) throw new ApiError(400, 'MALFORMED_MULTIPART', `the multipart body cannot be parsed: ${error.message.slice(0, 200)}`);
    throw error;
  }
  if (held.length === 0) {
    await dispose();
    throw new ApiError(400, 'MALFORMED_MULTIPART', 'the multipart body has no parts');
  }
  return {
    count: held.length,
    async read(index) {
      const part = held[index];
      if (Array.isArray(part)) return joined(part);
      const bytes = new Uint8Array(part.length);
      await spool!.handle.read(bytes, 0, part.length, part.offset);
      return bytes;
    },
    dispose,
  };
}

/** The chunks as one buffer of their own (not Buffer.concat's, which may be a slice of a shared pool). */
function joined(chunks: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

class UploadTooLarge extends Error {}

/** Reads what is left of `stream` (the parser released it) and drops it; stops at its end or its error. */
async function discardRest(stream: ReadableStream<Uint8Array>): Promise<void> {
  if (stream.locked) return;
  const reader = stream.getReader();
  try {
    while (!(await reader.read()).done);
  } catch {
    // Past the upload limit or cut off: nothing more to read.
  } finally {
    reader.releaseLock();
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
 * preamble and an epilogue that RFC 2046 allows. `closed()` says whether the close delimiter
 * has arrived (and been handed on).
 */
function withoutPreambleAndEpilogue(body: ReadableStream<Uint8Array>, boundary: string): { stream: ReadableStream<Uint8Array>; closed(): boolean } {
  const opening = Buffer.from(`--${boundary}`);
  const close = Buffer.from(`\r\n--${boundary}--`);
  let state: 'preamble' | 'parts' | 'epilogue' = 'preamble';
  let boundaryMissing = false;
  let held = Buffer.alloc(0);
  const stream = body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      if (state === 'epilogue') return;
      let bytes = Buffer.concat([held, chunk]);
      held = Buffer.alloc(0);
      if (state === 'preamble') {
        const at = firstBoundary(bytes, opening);
        if (at === -1) {
          // Refused at the end, once the rest is read and dropped: erroring now would cancel the
          // request's body under the answer and break the connection.
          if (bytes.length > MAX_PREAMBLE_BYTES) {
            boundaryMissing = true;
            state = 'epilogue';
          } else {
            held = bytes;
          }
          return;
        }
        bytes = bytes.subarray(at);
        state = 'parts';
      }
      const end = bytes.indexOf(close);
      if (end !== -1) {
        controller.enqueue(bytes.subarray(0, end + close.length));
        state = 'epilogue';
        return;
      }
      const keep = Math.min(bytes.length, close.length - 1);
      controller.enqueue(bytes.subarray(0, bytes.length - keep));
      held = Buffer.from(bytes.subarray(bytes.length - keep));
    },
    flush(controller) {
      // A body that never closes is the parser's to refuse ("not finished").
      if (state === 'parts' && held.length > 0) controller.enqueue(held);
      if (state === 'preamble' || boundaryMissing) controller.error(new MultipartParseError(`no boundary "--${boundary}" ${boundaryMissing ? `in the first ${MAX_PREAMBLE_BYTES} bytes` : 'in the body'}`));
    },
  }));
  return { stream, closed: () => state === 'epilogue' && !boundaryMissing };
}

/** Where `--boundary` first starts a line (or the body); -1 if nowhere yet. */
function firstBoundary(bytes: Buffer, opening: Buffer): number {
  for (let at = bytes.indexOf(opening); at !== -1; at = bytes.indexOf(opening, at + 1)) {
    if (at === 0 || bytes[at - 1] === 0x0a) return at;
  }
  return -1;
}

/** The body, erroring as soon as more than `limit` bytes have arrived. */
function counted(body: ReadableStream<Uint8Array>, limit: number): ReadableStream<Uint8Array> {
  let size = 0;
  return body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      size += chunk.byteLength;
      if (size > limit) controller.error(new UploadTooLarge());
      else controller.enqueue(chunk);
    },
  }));
}
