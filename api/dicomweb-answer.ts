import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import { ApiError } from './errors.ts';
import type { ResponseSpec } from './route.ts';

/**
 * How DICOMweb answers leave (PS3.18 §8.7): DICOM JSON with its own media type, and
 * multipart/related bodies written part by part, so a study of any size is sent without being
 * held in memory — each part is produced only when the client has read the one before.
 */

export const DICOM_JSON = 'application/dicom+json';

/** An array of DICOM JSON data sets (PS3.18 Annex F.2). */
export const DICOM_JSON_RESPONSE: ResponseSpec = {
  description: 'DICOM JSON data sets (PS3.18 Annex F.2), one per match.',
  media: { type: DICOM_JSON, schema: { type: 'array', items: { type: 'object', additionalProperties: { type: 'object', required: ['vr'] } } } },
  headers: { warning: 'Present when a query key was ignored or attributes were left out: `299 lantern "…"`.' },
};

/** Where this service's DICOMweb resources live, as the client addressed it (RetrieveURL, BulkDataURI). */
export function dicomwebRoot(c: Context): string {
  return `${new URL(c.req.url).origin}/dicomweb`;
}

/** A Warning header value (RFC 7234 §5.5) as PS3.18 §8.4.4 uses it. */
export const warning = (text: string) => `299 lantern "${text.replace(/["\\]/g, '')}"`;

/** 406 unless the request's Accept allows DICOM JSON (XML, PS3.19's other form, is not offered). */
export function requireDicomJsonAccepted(c: Context): void {
  const ranges = acceptedRanges(c.req.header('accept'));
  if (ranges.length && !ranges.some((r) => [DICOM_JSON, 'application/json', 'application/*', '*/*'].includes(r.type))) {
    throw new ApiError(406, 'NOT_ACCEPTABLE', `Lantern answers searches and metadata as ${DICOM_JSON} only`);
  }
}

export function dicomJsonAnswer(c: Context, datasets: unknown, warnings: string[] = []): Response {
  return c.body(JSON.stringify(datasets), 200, {
    'content-type': DICOM_JSON,
    'cache-control': 'private, no-store',
    ...(warnings.length && { warning: warnings.map(warning).join(', ') }),
  });
}

/** One part of a multipart/related answer. */
export interface Part {
  contentType: string;
  contentLocation?: string;
  bytes: Uint8Array;
}

/**
 * A multipart/related answer (RFC 2387) whose root type is `type`; the parts come from `parts`,
 * pulled one at a time as the client reads. Part headers are written `Content-Type:` exactly:
 * cornerstone's WADO-RS loader looks for that spelling to read a frame's transfer syntax.
 * An error after the first part has left can only end the body early (the status is sent).
 */
export function multipartAnswer(type: string, parts: AsyncIterable<Part>, extraParams = ''): Response {
  const boundary = `lantern-${randomUUID()}`;
  const encoder = new TextEncoder();
  const iterator = parts[Symbol.asyncIterator]();
  let first = true;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await iterator.next();
      if (next.done) {
        controller.enqueue(encoder.encode(`${first ? '' : '\r\n'}--${boundary}--\r\n`));
        controller.close();
        return;
      }
      const { contentType, contentLocation, bytes } = next.value;
      const head = `${first ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${contentType}\r\n${contentLocation ? `Content-Location: ${contentLocation}\r\n` : ''}\r\n`;
      first = false;
      controller.enqueue(encoder.encode(head));
      controller.enqueue(bytes);
    },
    async cancel() {
      await iterator.return?.();
    },
  });
  return new Response(body, {
    status: 200,
    headers: { 'content-type': `multipart/related; type="${type}"${extraParams}; boundary=${boundary}`, 'cache-control': 'private, no-store' },
  });
}

/** One media range of an Accept header: its type and parameters (lower-cased names; quotes removed). */
export interface MediaRange {
  type: string;
  params: Record<string, string>;
  q: number;
}

/**
 * An Accept header as media ranges, most preferred first (by q, then order). Parameters may be
 * quoted or not (OHIF sends `type=application/octet-stream` unquoted, dicomweb-client quotes it).
 */
export function acceptedRanges(accept: string | undefined): MediaRange[] {
  if (!accept?.trim()) return [];
  const ranges = splitOutsideQuotes(accept, ',').map((range, order) => {
    const [type, ...rawParams] = splitOutsideQuotes(range, ';').map((s) => s.trim());
    const params: Record<string, string> = {};
    for (const param of rawParams) {
      const eq = param.indexOf('=');
      if (eq < 0) continue;
      params[param.slice(0, eq).trim().toLowerCase()] = param.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    }
    const q = params.q === undefined ? 1 : Number(params.q);
    return { type: type.toLowerCase(), params, q: Number.isFinite(q) ? q : 0, order };
  });
  return ranges.filter((r) => r.q > 0 && r.type).sort((a, b) => b.q - a.q || a.order - b.order).map(({ order: _, ...r }) => r);
}

function splitOutsideQuotes(text: string, separator: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of text.slice(0, 4096)) {
    if (ch === '"') quoted = !quoted;
    if (ch === separator && !quoted) {
      out.push(current);
      current = '';
    } else current += ch;
  }
  out.push(current);
  return out;
}
