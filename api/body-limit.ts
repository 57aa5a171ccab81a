import type { Context, MiddlewareHandler } from 'hono';
import { ApiError, errorResponse, payloadTooLarge } from './errors.ts';

export interface BodyLimits {
  /** Any request body except an upload's. */
  maxJsonBodyBytes: number;
  /** A STOW-RS upload: checked here against its declared length; its route counts what really arrives. */
  maxUploadBytes: number;
}

/** Routes that stream a large body themselves (and count it as it arrives): STOW-RS, to all studies or to one. */
const UPLOAD = /^POST \/dicomweb\/studies(\/[^/]+)?$/;

/**
 * Members and elements one body may hold (commas and colons outside strings). Parsing and
 * validating cost grows with them, on the event loop every request shares: 60,000 keys in
 * 650 KB, under the byte limit, held it 110–200 ms (JSON.parse, then the schema); the largest
 * real request (a triage with vitals and findings) has under a hundred.
 */
export const MAX_JSON_MEMBERS = 10_000;

/** `\u0000` as a JSON escape: an odd run of backslashes before it (an even run is an escaped backslash and literal text). */
const JSON_NUL = /(?:^|[^\\])(?:\\\\)*\\u0000/i;

/**
 * Every request's body is bounded before anyone reads it, whatever its route or content type:
 * a declared length over the limit is refused at once; a chunked body is counted as it
 * arrives and refused the moment it passes the limit, so neither is ever held whole (a 1.5 GB
 * chunked body once cost 4.7 GB and a 20 s stall). What passes is buffered (at most the limit)
 * and handed on, so a handler reading it directly, with `c.req.json()`, is bounded too.
 * A NUL character, which PostgreSQL cannot store in text, is refused at the same gate: in
 * the path or query (400) and as a JSON string escape in a body (422), never a 500 later;
 * so is a body of more than MAX_JSON_MEMBERS members (413), before anything parses it.
 */
export function bodyLimits(limits: BodyLimits): MiddlewareHandler {
  return async (c, next) => {
    if (/%00/.test(c.req.url)) {
      return refuse(c, new ApiError(400, 'NUL_CHARACTER', 'the path or query holds a NUL character (%00), which no identifier may contain'));
    }
    const body = c.req.raw.body;
    if (!body) return next();
    const upload = UPLOAD.test(`${c.req.method} ${c.req.path}`);
    const limit = upload ? limits.maxUploadBytes : limits.maxJsonBodyBytes;
    const setting = upload ? 'LANTERN_MAX_UPLOAD_BYTES' : 'LANTERN_MAX_JSON_BYTES';
    const declared = c.req.header('content-length');
    if (declared !== undefined && Number(declared) > limit) return refuse(c, payloadTooLarge(limit, setting));
    if (upload) {
      await next();
      // An upload refused before its body was touched (access, path, Accept, media type) leaves
      // all of it on the connection: closing it spares the client a next request that fails on
      // that socket. One refused while being read (413) is left to end as it always has.
      if (c.res.status >= 400 && !c.req.raw.bodyUsed) c.res.headers.set('connection', 'close');
      return;
    }

    const bytes = await readAtMost(body, limit);
    if (!bytes) return refuse(c, payloadTooLarge(limit, setting));
    if (JSON_NUL.test(new TextDecoder().decode(bytes))) {
      return refuse(c, new ApiError(422, 'NUL_CHARACTER', 'a string in the body holds a NUL character (\\u0000), which cannot be stored'));
    }
    if (membersOver(bytes, MAX_JSON_MEMBERS)) {
      return refuse(c, new ApiError(413, 'TOO_MANY_JSON_MEMBERS', `the body holds more than ${MAX_JSON_MEMBERS} JSON members and elements`));
    }
    c.req.raw = new Request(c.req.raw, { body: bytes, duplex: 'half' } as RequestInit);
    return next();
  };
}

/** Whether `bytes`, read as JSON, has more than `limit` commas and colons outside strings (one pass, no parse). */
function membersOver(bytes: Uint8Array, limit: number): boolean {
  let members = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (inString) {
      if (byte === 0x5c) i++; // a backslash: the next byte is escaped, whatever it is
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) {
      inString = true;
    } else if ((byte === 0x2c || byte === 0x3a) && ++members > limit) {
      return true;
    }
  }
  return false;
}

/** The whole body if it fits in `limit` bytes; undefined (and the stream cancelled) the moment it does not. */
export async function readAtMost(body: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array | undefined> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  const whole = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    whole.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return whole;
}

/**
 * The refusal, and the connection closed after it: the rest of an oversize body is then
 * neither buffered nor drained.
 */
function refuse(c: Context, error: ApiError): Response {
  const response = errorResponse(c, error);
  if (error.status === 413) response.headers.set('connection', 'close');
  return response;
}
