import { Hono } from 'hono';
import { frameParams } from '../../contract/dicomweb.ts';
import type { DecodedFrame } from '../../dicom/decode/index.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { mount } from '../route.ts';
import { ACCESS } from '../access.ts';

/** Decoding a large JPEG 2000 costs ~1 s; a reader flicking between a few studies should pay it once. */
const CACHE_ENTRIES = 8;

/**
 * WADO-RS style frame retrieval, returning decoded pixels (stored values, little-endian)
 * so the viewer needs no codecs. Decoding runs on the decoder's own thread, never on
 * the event loop that answers risk and triage requests.
 */
export function frameRoutes(deps: ApiDeps) {
  const app = new Hono();
  const cache = new Map<string, Promise<DecodedFrame>>();

  mount(app, {
    method: 'get', path: '/dicomweb/studies/{study}/series/{series}/instances/{instance}/frames/{frame}', operationId: 'getFrame', access: ACCESS.patientData, tag: 'dicomweb',
    summary: 'WADO-RS frame: decoded stored values, little-endian, so a viewer needs no codecs',
    params: frameParams,
    responses: {
      200: {
        description: 'The frame\'s pixels, row-major; their geometry in the headers.',
        media: { type: 'application/octet-stream', schema: { type: 'string', contentMediaType: 'application/octet-stream' } },
        headers: {
          'x-rows': 'Rows.', 'x-columns': 'Columns.', 'x-bits-allocated': '8, 16 or 32 bits per sample as sent.',
          'x-pixel-representation': '0 unsigned, 1 signed.', 'x-samples-per-pixel': '1 grey, 3 colour (interleaved).',
        },
      },
    },
    errors: { 404: 'NOT_FOUND (no such instance in that study and series) or NO_SUCH_FRAME.' },
  }, async (c, { params }) => {
    const number = Number(params.frame);
    const instance = await deps.store.getInstance(params.instance);
    if (instance.studyInstanceUid !== params.study || instance.seriesInstanceUid !== params.series) {
      throw new ApiError(404, 'NOT_FOUND', 'no such instance in that study and series');
    }
    const frames = Number((instance.image as { numberOfFrames?: number } | undefined)?.numberOfFrames ?? 1);
    if (!Number.isInteger(number) || number < 1 || number > frames) {
      throw new ApiError(404, 'NO_SUCH_FRAME', `frame ${params.frame} does not exist; this instance has ${frames} frame(s), numbered from 1`);
    }
    const key = `${instance.sopInstanceUid}/${number}`;
    let decoded = cache.get(key);
    if (!decoded) {
      decoded = deps.blobs.get(instance.blobSha256).then((bytes) => deps.frameDecoder.decode(bytes, number - 1));
      cache.set(key, decoded);
      decoded.catch(() => cache.delete(key));
      if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
    }
    const frame = await decoded;
    const pixels = frame.pixels;
    return c.body(new Uint8Array(pixels.buffer as ArrayBuffer, pixels.byteOffset, pixels.byteLength), 200, {
      'content-type': 'application/octet-stream',
      'cache-control': 'private, max-age=3600',
      'x-rows': String(frame.rows),
      'x-columns': String(frame.columns),
      'x-bits-allocated': String(pixels.BYTES_PER_ELEMENT * 8),
      'x-pixel-representation': String(frame.pixelRepresentation),
      'x-samples-per-pixel': String(frame.samplesPerPixel),
    });
  });
  return app;
}
