import { Hono, type Context } from 'hono';
import sharp from 'sharp';
import { z } from 'zod';
import { dicomwebInstancePath } from '../../contract/dicomweb-query.ts';
import type { DecodedFrame } from '../../dicom/decode/index.ts';
import { displayTable, displayWindowOfStored, modalityTable } from '../../dicom/pixels.ts';
import type { InstanceRecord } from '../../store/types.ts';
import { ACCESS } from '../access.ts';
import type { ApiDeps } from '../deps.ts';
import { acceptedRanges } from '../dicomweb-answer.ts';
import { ApiError } from '../errors.ts';
import { frameAnswers } from '../frame-answer.ts';
import { auditStudyRead } from '../read-audit.ts';
import { mount } from '../route.ts';

/**
 * WADO-RS rendered (PS3.18 §10.4.1.1.3): one frame as a consumer image for thumbnails and
 * reports, JPEG by default or PNG by Accept. Grey frames go through the modality rescale and a
 * linear VOI window — the `window=center,width[,linear]` asked for, else the object's own, else
 * one over the 0.5–99.5th percentiles (dicom/pixels.ts, what the AI and the viewer also use) —
 * to 8 bits, MONOCHROME1 inverted; 8-bit colour as it decodes. `viewport=width,height` scales
 * it to fit inside that box (at most MAX_VIEWPORT each way), and only the resolution that box
 * needs is decoded (a JPEG 2000 level, dicom/decode): a viewer's first look at a 1841 × 1955 film
 * costs a fraction of the full decode. The pixel work is sharp's (its own threads); the
 * windowing is one table read per pixel of the (possibly reduced) frame. `Server-Timing` says
 * what the decode (blob read included) and the rendering took, so a client's resource timing
 * tells the server's part of its wait from the rest (the viewer's first-pixels benchmark splits it so).
 */

const MAX_VIEWPORT = 4096;

export const renderedQuery = z.object({
  window: z.string().max(100).regex(/^-?[\d.]+,[\d.]+(,(linear|LINEAR))?$/, 'center,width[,linear] (only the linear VOI function is offered)').optional()
    .meta({ description: 'VOI window: center,width[,linear], in modality units (after Rescale Slope/Intercept).' }),
  viewport: z.string().max(40).regex(/^\d{1,4},\d{1,4}$/, 'width,height in pixels').optional()
    .meta({ description: `Fit inside width,height (each 1–${MAX_VIEWPORT}); aspect kept. Only the resolution the box needs is decoded (a JPEG 2000 level).` }),
  quality: z.string().regex(/^\d{1,3}$/, '1–100').optional().meta({ description: 'JPEG quality, 1–100 (default 90).' }),
});
type RenderedQuery = z.infer<typeof renderedQuery>;

const RENDERED_RESPONSE = {
  description: 'The frame as an 8-bit consumer image.',
  media: { type: 'image/jpeg', schema: { type: 'string', contentMediaType: 'image/jpeg' } },
  headers: { 'server-timing': 'decode;dur=ms (the frame read and decoded), render;dur=ms (windowed, resized and encoded).' },
};

/** JPEG unless the client prefers PNG; 406 when it accepts neither. */
function chosenType(c: Context): 'image/jpeg' | 'image/png' {
  const ranges = acceptedRanges(c.req.header('accept'));
  if (!ranges.length) return 'image/jpeg';
  for (const { type } of ranges) {
    if (type === 'image/png') return 'image/png';
    if (type === 'image/jpeg' || type === 'image/*' || type === '*/*') return 'image/jpeg';
  }
  throw new ApiError(406, 'NOT_ACCEPTABLE', 'rendered frames are offered as image/jpeg or image/png');
}

/**
 * The size a rendering fitted inside `viewport` has, computed from the full image as sharp's
 * `fit: 'inside'` does, so the answer has one size whatever resolution level it was made from.
 */
export function fittedSize(image: { columns: number; rows: number }, viewport: string): { columns: number; rows: number } {
  const [width, height] = viewport.split(',').map(Number);
  if (width < 1 || height < 1 || width > MAX_VIEWPORT || height > MAX_VIEWPORT) {
    throw new ApiError(422, 'VALIDATION_FAILED', `viewport must be 1–${MAX_VIEWPORT} each way`, [{ field: 'viewport', message: 'out of range' }]);
  }
  const factor = Math.max(image.columns / width, image.rows / height);
  return { columns: Math.max(1, Math.round(image.columns / factor)), rows: Math.max(1, Math.round(image.rows / factor)) };
}

/** The frame as 8-bit samples (1 grey or 3 colour) sharp can take as raw input. */
function eightBit(frame: DecodedFrame, instance: InstanceRecord, query: RenderedQuery): { pixels: Uint8Array; channels: 1 | 3 } {
  const image = instance.image!;
  if (frame.samplesPerPixel === 3) {
    if (frame.pixels.BYTES_PER_ELEMENT !== 1 || frame.photometricInterpretation !== 'RGB') {
      throw new ApiError(406, 'NOT_ACCEPTABLE', `rendering ${frame.photometricInterpretation} at ${frame.pixels.BYTES_PER_ELEMENT * 8} bits is not offered; retrieve the frames instead`);
    }
    return { pixels: new Uint8Array(frame.pixels.buffer as ArrayBuffer, frame.pixels.byteOffset, frame.pixels.byteLength), channels: 3 };
  }
  // The window, inversion and 8-bit quantisation as one table over the stored values, as the AI's preprocessing does.
  const table = modalityTable(frame, image);
  const [center, width] = query.window ? query.window.split(',').map(Number) : [];
  const window = query.window ? { center, width: Math.max(1, width) } : displayWindowOfStored(image, frame.pixels, table);
  const codes = displayTable(table, window, frame.photometricInterpretation === 'MONOCHROME1', 255);
  const pixels = new Uint8Array(frame.pixels.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = codes[frame.pixels[i] + table.offset];
  return { pixels, channels: 1 };
}

export function renderedRoutes(deps: ApiDeps) {
  const app = new Hono();
  const frames = frameAnswers(deps);

  async function rendered(c: Context, instance: InstanceRecord, number: number, query: RenderedQuery): Promise<Response> {
    const type = chosenType(c);
    const image = instance.image!;
    const size = query.viewport ? fittedSize(image, query.viewport) : undefined;
    const smaller = size && size.columns < image.columns && size.rows < image.rows;
    const started = performance.now();
    const frame = await frames.decoded(instance, number, smaller ? { atLeast: size } : {});
    const decoded = performance.now();
    const { pixels, channels } = eightBit(frame, instance, query);
    // Grey stays one channel (sharp would otherwise write three).
    let picture = sharp(pixels, { raw: { width: frame.columns, height: frame.rows, channels } }).toColourspace(channels === 1 ? 'b-w' : 'srgb');
    // 'fill': a reduced level's aspect differs from the image's by its rounding; the size is the full image's fit.
    if (size) picture = picture.resize(size.columns, size.rows, { fit: 'fill' });
    const quality = query.quality ? Math.min(100, Math.max(1, Number(query.quality))) : 90;
    const bytes = await (type === 'image/png' ? picture.png() : picture.jpeg({ quality })).toBuffer();
    const timing = `decode;dur=${(decoded - started).toFixed(1)}, render;dur=${(performance.now() - decoded).toFixed(1)}`;
    return c.body(new Uint8Array(bytes), 200, { 'content-type': type, 'cache-control': 'private, max-age=3600', 'server-timing': timing });
  }

  /** The instance at that path of the user's sites, as the frames route finds it. */
  async function instanceAt(params: { study: string; series: string; instance: string }, sites: readonly string[]): Promise<InstanceRecord> {
    const instance = await deps.store.getInstance(params.instance, sites);
    if (instance.studyInstanceUid !== params.study || instance.seriesInstanceUid !== params.series) throw new ApiError(404, 'NOT_FOUND', 'no such instance in that study and series');
    return instance;
  }

  const errors = {
    404: 'NOT_FOUND (no such instance at the user\'s sites), NO_SUCH_FRAME (or an object without pixels).',
    406: 'NOT_ACCEPTABLE: neither image/jpeg nor image/png is accepted, or the frame\'s colour encoding is not offered rendered.',
    503: 'AUDIT_UNAVAILABLE: reads of patient data cannot be recorded at the moment.',
  };
  const path = '/dicomweb/studies/{study}/series/{series}/instances/{instance}';
  mount(app, {
    method: 'get', path: `${path}/rendered`, operationId: 'retrieveInstanceRendered', access: ACCESS.patientData, tag: 'dicomweb',
    summary: 'WADO-RS rendered instance: its first frame as JPEG or PNG', params: dicomwebInstancePath, query: renderedQuery, responses: { 200: RENDERED_RESPONSE }, errors,
  }, async (c, { params, query, auth }) => {
    const instance = await instanceAt(params, auth.scope);
    const answer = await rendered(c, instance, frames.frameNumber(instance, '1'), query);
    auditStudyRead(deps, auth, params.study, 'frames');
    return answer;
  });
  mount(app, {
    method: 'get', path: `${path}/frames/{frame}/rendered`, operationId: 'retrieveFrameRendered', access: ACCESS.patientData, tag: 'dicomweb',
    summary: 'WADO-RS rendered frame as JPEG or PNG', params: dicomwebInstancePath.extend({ frame: z.string().max(10) }), query: renderedQuery, responses: { 200: RENDERED_RESPONSE }, errors,
  }, async (c, { params, query, auth }) => {
    const instance = await instanceAt(params, auth.scope);
    const answer = await rendered(c, instance, frames.frameNumber(instance, params.frame), query);
    auditStudyRead(deps, auth, params.study, 'frames');
    return answer;
  });
  return app;
}
