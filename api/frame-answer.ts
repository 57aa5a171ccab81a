import type { Context } from 'hono';
import type { DecodedFrame } from '../dicom/decode/index.ts';
import type { InstanceRecord } from '../store/types.ts';
import type { ApiDeps } from './deps.ts';
import { ApiError } from './errors.ts';
import type { ResponseSpec } from './route.ts';

/** Decoding a large JPEG 2000 costs ~1 s; a reader flicking between a few studies should pay it once. */
const CACHE_ENTRIES = 8;

/** The answer a frame route documents: decoded stored values, their geometry in headers. */
export const FRAME_RESPONSE: ResponseSpec = {
  description: 'The frame\'s pixels, row-major; their geometry in the headers.',
  media: { type: 'application/octet-stream', schema: { type: 'string', contentMediaType: 'application/octet-stream' } },
  headers: {
    'x-rows': 'Rows.', 'x-columns': 'Columns.', 'x-bits-allocated': '8, 16 or 32 bits per sample as sent.',
    'x-pixel-representation': '0 unsigned, 1 signed.', 'x-samples-per-pixel': '1 grey, 3 colour (interleaved).',
  },
};

/**
 * One frame of a stored instance as decoded pixels (stored values, little-endian), so a
 * viewer needs no codecs: what the clinical (WADO-RS) and the de-identified frame routes
 * both answer. Decoding runs on the decoder's own thread, never on the event loop that
 * answers risk and triage requests; the last few frames are kept.
 */
export function frameAnswers(deps: Pick<ApiDeps, 'blobs' | 'frameDecoder'>) {
  const cache = new Map<string, Promise<DecodedFrame>>();

  /** The frame's number, 1-based, checked against the instance: NO_SUCH_FRAME (404) otherwise. */
  function frameNumber(instance: InstanceRecord, frame: string): number {
    const number = Number(frame);
    const frames = Number((instance.image as { numberOfFrames?: number } | undefined)?.numberOfFrames ?? 1);
    if (!Number.isInteger(number) || number < 1 || number > frames) {
      throw new ApiError(404, 'NO_SUCH_FRAME', `frame ${frame} does not exist; this instance has ${frames} frame(s), numbered from 1`);
    }
    return number;
  }

  return {
    frameNumber,
    async answer(c: Context, instance: InstanceRecord, number: number): Promise<Response> {
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
    },
  };
}
