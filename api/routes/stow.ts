import { getMultipartBoundary, MaxFileSizeExceededError, MaxPartsExceededError, MaxTotalSizeExceededError, MultipartParseError, parseMultipartStream } from '@remix-run/multipart-parser';
import { Hono } from 'hono';
import { stowAnswer, type PartFailure, type StoredInstance } from '../../contract/dicomweb.ts';
import { DicomError } from '../../dicom/errors.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError, toApiError } from '../errors.ts';
import { ingestInstance } from '../../pipeline/ingest.ts';
import { mount } from '../route.ts';

const MAX_PARTS = 10_000;

/**
 * STOW-RS: `POST /dicomweb/studies` with `multipart/related; type="application/dicom"`
 * (or one `application/dicom` body). Each part is ingested on its own: a bad part is
 * reported and stores nothing, the good ones are kept. All bad → 422 naming each.
 */
export function stowRoutes(deps: ApiDeps) {
  const app = new Hono();
  mount(app, {
    method: 'post', path: '/dicomweb/studies', operationId: 'storeInstances', tag: 'dicomweb',
    summary: 'STOW-RS: store DICOM instances; each image is queued for the models that apply to it',
    description: 'Each part is ingested on its own: a bad part is reported and stores nothing, the good ones are kept.',
    rawBody: {
      description: 'DICOM Part 10 files as `multipart/related; type="application/dicom"`, or one file as `application/dicom`.',
      mediaTypes: ['multipart/related; type="application/dicom"', 'application/dicom'],
      schema: { type: 'string', contentMediaType: 'application/dicom' },
    },
    responses: { 200: { description: 'What was stored (or already held) and which parts were refused.', json: stowAnswer } },
    errors: {
      400: 'EMPTY_BODY or MALFORMED_MULTIPART.',
      413: 'PAYLOAD_TOO_LARGE or TOO_MANY_PARTS.',
      415: 'UNSUPPORTED_MEDIA_TYPE.',
      422: 'Every part was refused: the first failure, with all of them in `details`.',
    },
  }, async (c) => {
    const contentType = c.req.header('content-type') ?? '';
    const declaredLength = Number(c.req.header('content-length') ?? 0);
    if (declaredLength > deps.config.maxUploadBytes) throw tooLarge(deps.config.maxUploadBytes);
    const body = c.req.raw.body;
    if (!body) throw new ApiError(400, 'EMPTY_BODY', 'the request has no body; send DICOM as multipart/related; type="application/dicom"');

    const parts: Uint8Array[] = [];
    if (/^application\/dicom\b/i.test(contentType)) {
      parts.push(new Uint8Array(await c.req.arrayBuffer()));
      if (parts[0].byteLength > deps.config.maxUploadBytes) throw tooLarge(deps.config.maxUploadBytes);
    } else if (/^multipart\/related\b/i.test(contentType)) {
      const type = /type="?([^";]+)"?/i.exec(contentType)?.[1];
      if (type && type.toLowerCase() !== 'application/dicom') {
        throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `multipart/related parts of type ${type} are not accepted; only application/dicom`);
      }
      const boundary = getMultipartBoundary(contentType);
      if (!boundary) throw new ApiError(400, 'MALFORMED_MULTIPART', 'multipart/related without a boundary parameter');
      try {
        for await (const part of parseMultipartStream(body, { boundary, maxFileSize: deps.config.maxUploadBytes, maxTotalSize: deps.config.maxUploadBytes, maxParts: MAX_PARTS })) {
          parts.push(part.bytes);
        }
      } catch (error) {
        if (error instanceof MaxFileSizeExceededError || error instanceof MaxTotalSizeExceededError) throw tooLarge(deps.config.maxUploadBytes);
        if (error instanceof MaxPartsExceededError) throw new ApiError(413, 'TOO_MANY_PARTS', `at most ${MAX_PARTS} parts per request`);
        if (error instanceof MultipartParseError) throw new ApiError(400, 'MALFORMED_MULTIPART', `the multipart body cannot be parsed: ${error.message}`);
        throw error;
      }
      if (parts.length === 0) throw new ApiError(400, 'MALFORMED_MULTIPART', 'the multipart body has no parts');
    } else {
      throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `content-type ${contentType || '(none)'} is not accepted; send multipart/related; type="application/dicom"`);
    }

    const stored: StoredInstance[] = [];
    const failed: PartFailure[] = [];
    for (const [index, bytes] of parts.entries()) {
      try {
        stored.push(await ingestInstance(deps, bytes, 'stow-rs'));
      } catch (error) {
        if (!(error instanceof DicomError)) throw error;
        const { code, message } = toApiError(error);
        failed.push({ part: index, code, message });
      }
    }
    if (stored.length === 0) {
      throw new ApiError(422, failed[0].code, failed[0].message, failed);
    }
    return c.json({ stored, failed }, 200);
  });
  return app;
}

const tooLarge = (limit: number) => new ApiError(413, 'PAYLOAD_TOO_LARGE', `the upload exceeds the ${Math.round(limit / 1024 / 1024)} MiB limit (LANTERN_MAX_UPLOAD_BYTES)`);
