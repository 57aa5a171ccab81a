import type { Context } from 'hono';
import type { DecodedFrame, DecodeOptions } from '../dicom/decode/index.ts';
import { encapsulatedFrame } from '../dicom/decode/frames.ts';
import { parseDicom } from '../dicom/parse.ts';
import type { InstanceRecord } from '../store/types.ts';
import type { ApiDeps } from './deps.ts';
import { acceptedRanges, multipartAnswer, type MediaRange, type Part } from './dicomweb-answer.ts';
import { ApiError } from './errors.ts';
import type { ResponseSpec } from './route.ts';

/** Decoding a large JPEG 2000 costs ~1 s; a reader flicking between a few studies should pay it once. */
const CACHE_ENTRIES = 8;
/** Frames one request may ask for (`/frames/1,2,3`): each is decoded, so the list is bounded. */
export const MAX_FRAMES_PER_REQUEST = 64;

export const EXPLICIT_LITTLE = '1.2.840.10008.1.2.1';

/**
 * The compressed bitstreams a client may ask for by media type (PS3.18 Table 8.7.3-2), and the
 * stored transfer syntaxes whose frames are that bitstream as they are.
 */
const BITSTREAMS: Readonly<Record<string, readonly string[]>> = {
  'image/jp2': ['1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.91'],
  'image/jphc': ['1.2.840.10008.1.2.4.201', '1.2.840.10008.1.2.4.202', '1.2.840.10008.1.2.4.203'],
  'image/jpeg': ['1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.51', '1.2.840.10008.1.2.4.57', '1.2.840.10008.1.2.4.70'],
  'image/jls': ['1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.81'],
  'image/x-jls': ['1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.81'],
  'image/dicom-rle': ['1.2.840.10008.1.2.5'],
  'image/x-dicom-rle': ['1.2.840.10008.1.2.5'],
};

/** The answer a frame route documents: decoded stored values, their geometry in headers. */
export const FRAME_RESPONSE: ResponseSpec = {
  description: 'The frame\'s pixels, row-major; their geometry in the headers.',
  media: { type: 'application/octet-stream', schema: { type: 'string', contentMediaType: 'application/octet-stream' } },
  headers: {
    'x-rows': 'Rows.', 'x-columns': 'Columns.', 'x-bits-allocated': '8, 16 or 32 bits per sample as sent.',
    'x-pixel-representation': '0 unsigned, 1 signed.', 'x-samples-per-pixel': '1 grey, 3 colour (interleaved).',
    'x-photometric-interpretation': 'The samples\' colour space after decoding (JPEG and JPEG 2000 colour: RGB).',
  },
};

/** The clinical WADO-RS frames answer: the raw form above, or multipart/related by Accept (PS3.18 §8.7.3). */
export const DICOMWEB_FRAMES_RESPONSE: ResponseSpec = {
  description: 'With `Accept: multipart/related; type="application/octet-stream"` (transfer-syntax absent, `*` or 1.2.840.10008.1.2.1): one part per '
    + 'frame, decoded stored values little-endian, each part labelled `transfer-syntax=1.2.840.10008.1.2.1`. With `multipart/related; type="image/jp2"` '
    + '(or image/jphc, image/jpeg, image/jls, image/x-dicom-rle): the stored bitstream, when the instance is stored in that syntax (else 406). '
    + 'Without Accept, `*/*` or a bare `application/octet-stream`, one frame: the raw pixels with their geometry in x- headers (Lantern\'s viewer).',
  media: { type: 'multipart/related', schema: { type: 'string', contentMediaType: 'multipart/related' } },
  headers: FRAME_RESPONSE.headers,
};

/**
 * One frame of a stored instance as decoded pixels (stored values, little-endian), so a
 * viewer needs no codecs: what the clinical (WADO-RS) and the de-identified frame routes
 * both answer. Decoding runs on the decoder's own thread, never on the event loop that
 * answers risk and triage requests; the last few frames are kept.
 */
export function frameAnswers(deps: Pick<ApiDeps, 'blobs' | 'frameDecoder'>) {
  // Reduced frames (a viewer's first look) are kept apart, so they never push out the full frames they precede.
  const caches = { full: new Map<string, Promise<DecodedFrame>>(), reduced: new Map<string, Promise<DecodedFrame>>() };

  const framesOf = (instance: InstanceRecord) => Number((instance.image as { numberOfFrames?: number } | undefined)?.numberOfFrames ?? 1);

  /** The frame's number, 1-based, checked against the instance: NO_SUCH_FRAME (404) otherwise. */
  function frameNumber(instance: InstanceRecord, frame: string): number {
    const number = Number(frame);
    const frames = framesOf(instance);
    if (!instance.image) throw new ApiError(404, 'NO_SUCH_FRAME', 'this instance has no Pixel Data, so no frames');
    if (!/^\d{1,9}$/.test(frame) || number < 1 || number > frames) {
      throw new ApiError(404, 'NO_SUCH_FRAME', `frame ${frame.slice(0, 32)} does not exist; this instance has ${frames} frame(s), numbered from 1`);
    }
    return number;
  }

  /** A frame list (`1,2,3`, PS3.18 §10.4.1.1.2), each checked; at most MAX_FRAMES_PER_REQUEST. */
  function frameNumbers(instance: InstanceRecord, list: string): number[] {
    const items = list.split(',');
    if (items.length > MAX_FRAMES_PER_REQUEST) {
      throw new ApiError(400, 'TOO_MANY_FRAMES', `at most ${MAX_FRAMES_PER_REQUEST} frames per request; ask for the others in further requests`);
    }
    return items.map((item) => frameNumber(instance, item));
  }

  function decoded(instance: InstanceRecord, number: number, options: DecodeOptions = {}): Promise<DecodedFrame> {
    const { atLeast } = options;
    const cache = atLeast ? caches.reduced : caches.full;
    const key = `${instance.sopInstanceUid}/${number}${atLeast ? `@${atLeast.columns}x${atLeast.rows}` : ''}`;
    let frame = cache.get(key);
    if (!frame) {
      frame = deps.blobs.get(instance.blobSha256).then((bytes) => deps.frameDecoder.decode(bytes, number - 1, options));
      cache.set(key, frame);
      frame.catch(() => cache.delete(key));
      if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
    }
    return frame;
  }

  const pixelBytes = (frame: DecodedFrame) => new Uint8Array(frame.pixels.buffer as ArrayBuffer, frame.pixels.byteOffset, frame.pixels.byteLength);

  /** Decoded frames, one part each, labelled with the syntax they are in (explicit VR little endian's pixel encoding). */
  async function* decodedParts(instance: InstanceRecord, numbers: number[], location: string): AsyncGenerator<Part> {
    for (const number of numbers) {
      yield { contentType: `application/octet-stream; transfer-syntax=${EXPLICIT_LITTLE}`, contentLocation: `${location}/${number}`, bytes: pixelBytes(await decoded(instance, number)) };
    }
  }

  /** The stored bitstream of each frame, as it is in the object (never re-encoded). */
  async function* storedParts(instance: InstanceRecord, numbers: number[], mediaType: string, location: string): AsyncGenerator<Part> {
    const parsed = parseDicom(await deps.blobs.get(instance.blobSha256));
    const pixelData = parsed.dataSet.elements.x7fe00010;
    for (const number of numbers) {
      yield { contentType: `${mediaType}; transfer-syntax=${instance.transferSyntaxUid}`, contentLocation: `${location}/${number}`, bytes: encapsulatedFrame(parsed, pixelData, number - 1) };
    }
  }

  /** What this instance's frames can be had as, for a 406 that names them. */
  function available(instance: InstanceRecord): string {
    const native = `multipart/related; type="application/octet-stream"; transfer-syntax=${EXPLICIT_LITTLE}`;
    const bitstream = Object.entries(BITSTREAMS).find(([, syntaxes]) => syntaxes.includes(instance.transferSyntaxUid))?.[0];
    return bitstream ? `${native}, or multipart/related; type="${bitstream}"; transfer-syntax=${instance.transferSyntaxUid}` : native;
  }

  /** The first acceptable range's answer: decoded pixels, or the stored bitstream; undefined when this range cannot be met. */
  function choose(range: MediaRange, instance: InstanceRecord): 'decoded' | { bitstream: string } | undefined {
    const multipart = range.type === 'multipart/related' || range.type === 'multipart/*';
    const type = multipart ? (range.params.type ?? 'application/octet-stream').toLowerCase() : range.type;
    const syntax = range.params['transfer-syntax'];
    if (type === 'application/octet-stream' || type === '*/*' || type === 'application/*') {
      return syntax === undefined || syntax === '*' || syntax === EXPLICIT_LITTLE ? 'decoded' : undefined;
    }
    if (BITSTREAMS[type]?.includes(instance.transferSyntaxUid) && (syntax === undefined || syntax === '*' || syntax === instance.transferSyntaxUid)) {
      return { bitstream: type };
    }
    return undefined;
  }

  return {
    frameNumber,
    frameNumbers,
    /** The decoded frame (1-based), from the cache when it was decoded lately; with `atLeast`, possibly reduced (its `scale`). */
    decoded,

    /** Lantern's own raw form: one frame's pixels, its geometry in headers. */
    async answer(c: Context, instance: InstanceRecord, number: number): Promise<Response> {
      const frame = await decoded(instance, number);
      return c.body(pixelBytes(frame), 200, {
        'content-type': 'application/octet-stream',
        'cache-control': 'private, max-age=3600',
        'x-rows': String(frame.rows),
        'x-columns': String(frame.columns),
        'x-bits-allocated': String(frame.pixels.BYTES_PER_ELEMENT * 8),
        'x-pixel-representation': String(frame.pixelRepresentation),
        'x-samples-per-pixel': String(frame.samplesPerPixel),
        'x-photometric-interpretation': frame.photometricInterpretation,
      });
    },

    /**
     * WADO-RS frames by the request's Accept (PS3.18 §8.7.3.5): `location` is the frames URL
     * (each part's Content-Location adds its number). A single frame asked for without a
     * multipart Accept gets the raw form Lantern's viewer reads; what cannot be produced is a
     * 406 naming what can.
     */
    async negotiated(c: Context, instance: InstanceRecord, numbers: number[], location: string): Promise<Response> {
      const ranges = acceptedRanges(c.req.header('accept'));
      const legacy = ranges.length === 0 || ranges[0].type === '*/*' || ranges[0].type === 'application/octet-stream';
      if (legacy && numbers.length === 1) return this.answer(c, instance, numbers[0]);
      for (const range of ranges.length ? ranges : [{ type: 'multipart/related', params: {}, q: 1 }]) {
        const choice = choose(range, instance);
        if (choice === 'decoded') {
          await decoded(instance, numbers[0]);
          return multipartAnswer('application/octet-stream', decodedParts(instance, numbers, location), `; transfer-syntax=${EXPLICIT_LITTLE}`);
        }
        if (choice) return multipartAnswer(choice.bitstream, storedParts(instance, numbers, choice.bitstream, location), `; transfer-syntax=${instance.transferSyntaxUid}`);
      }
      throw new ApiError(406, 'NOT_ACCEPTABLE', `Lantern cannot produce these frames as ${c.req.header('accept')?.slice(0, 200)}; available: ${available(instance)}`);
    },
  };
}
