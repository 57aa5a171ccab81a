import { Hono } from 'hono';
import type { DecodedFrame } from '../../dicom/decode/index.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';

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

  app.get('/dicomweb/studies/:study/series/:series/instances/:instance/frames/:frame', async (c) => {
    const number = Number(c.req.param('frame'));
    const instance = await deps.store.getInstance(c.req.param('instance'));
    if (instance.studyInstanceUid !== c.req.param('study') || instance.seriesInstanceUid !== c.req.param('series')) {
      throw new ApiError(404, 'NOT_FOUND', 'no such instance in that study and series');
    }
    const frames = Number((instance.image as { numberOfFrames?: number } | undefined)?.numberOfFrames ?? 1);
    if (!Number.isInteger(number) || number < 1 || number > frames) {
      throw new ApiError(404, 'NO_SUCH_FRAME', `frame ${c.req.param('frame')} does not exist; this instance has ${frames} frame(s), numbered from 1`);
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
