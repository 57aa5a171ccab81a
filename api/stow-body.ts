import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { getMultipartBoundary, MaxFileSizeExceededError, MaxPartsExceededError, MaxTotalSizeExceededError, MultipartParseError, parseMultipartStream } from '@remix-run/multipart-parser';
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
 * completes, and read back one at a time for ingest. One `application/dicom` body is one part
 * (held, as its parse needs it whole). Nothing is ingested until the whole body has been read
 * and found well-formed, so a refused upload stores nothing.
 */
export async function receiveDicomBody(contentType: string, body: ReadableStream<Uint8Array>, limits: StowBodyLimits): Promise<ReceivedParts> {
  const tooLarge = () => payloadTooLarge(limits.maxUploadBytes, 'LANTERN_MAX_UPLOAD_BYTES');
  if (/^application\/dicom\b/i.test(contentType)) {
    const bytes = await readAtMost(body, limits.maxUploadBytes);
    if (!bytes) throw tooLarge();
    if (bytes.byteLength === 0) throw new ApiError(400, 'EMPTY_BODY', 'the request has an empty body');
    return { count: 1, read: async () => bytes, dispose: async () => undefined };
  }
  if (!/^multipart\/related\b/i.test(contentType)) {
    throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `content-type ${contentType || '(none)'} is not accepted; send multipart/related; type="application/dicom"`);
  }
  const type = /type="?([^";]+)"?/i.exec(contentType)?.[1];
  if (type && type.toLowerCase() !== 'application/dicom') {
    throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `multipart/related parts of type ${type} are not accepted; only application/dicom`);
  }
  const boundary = getMultipartBoundary(contentType);
  if (!boundary) throw new ApiError(400, 'MALFORMED_MULTIPART', 'multipart/related without a boundary parameter');

  await fs.mkdir(limits.spoolDir, { recursive: true, mode: 0o700 });
  const spoolPath = path.join(limits.spoolDir, `stow-${randomUUID()}.parts`);
  const spool = await fs.open(spoolPath, 'wx+', 0o600);
  const spans: { offset: number; length: number }[] = [];
  const dispose = async () => {
    await spool.close().catch(() => undefined);
    await fs.rm(spoolPath, { force: true });
  };
  try {
    let offset = 0;
    const parts = parseMultipartStream(counted(body, limits.maxUploadBytes), {
      boundary, maxFileSize: limits.maxUploadBytes, maxTotalSize: limits.maxUploadBytes, maxParts: limits.maxParts,
    });
    for await (const part of parts) {
      const { bytesWritten } = await spool.writev(part.content, offset);
      spans.push({ offset, length: bytesWritten });
      offset += bytesWritten;
    }
  } catch (error) {
    await dispose();
    if (error instanceof UploadTooLarge || error instanceof MaxFileSizeExceededError || error instanceof MaxTotalSizeExceededError) throw tooLarge();
    if (error instanceof MaxPartsExceededError) throw new ApiError(413, 'TOO_MANY_PARTS', `at most ${limits.maxParts} parts per request`);
    if (error instanceof MultipartParseError) throw new ApiError(400, 'MALFORMED_MULTIPART', `the multipart body cannot be parsed: ${error.message.slice(0, 200)}`);
    throw error;
  }
  if (spans.length === 0) {
    await dispose();
    throw new ApiError(400, 'MALFORMED_MULTIPART', 'the multipart body has no parts');
  }
  return {
    count: spans.length,
    async read(index) {
      const { offset, length } = spans[index];
      const bytes = new Uint8Array(length);
      await spool.read(bytes, 0, length, offset);
      return bytes;
    },
    dispose,
  };
}

class UploadTooLarge extends Error {}

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
