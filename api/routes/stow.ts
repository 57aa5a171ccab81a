import os from 'node:os';
import path from 'node:path';
import { Hono } from 'hono';
import { stowAnswer, type PartFailure, type StoredInstance } from '../../contract/dicomweb.ts';
import { DicomError } from '../../dicom/errors.ts';
import { dicomLimits } from '../../dicom/limits.ts';
import { createOffThreadParser } from '../../dicom/parse-off-thread/index.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError, toApiError } from '../errors.ts';
import { ingestInstance } from '../../pipeline/ingest.ts';
import { mount } from '../route.ts';
import { receiveDicomBody } from '../stow-body.ts';
import { ACCESS } from '../access.ts';

/** Parts in one request; each costs a parse and a database write, so an upload of more should be split. */
const MAX_PARTS = 10_000;

/**
 * STOW-RS: `POST /dicomweb/studies` with `multipart/related; type="application/dicom"`
 * (or one `application/dicom` body). Each part is ingested on its own: a bad part is
 * reported and stores nothing, the good ones are kept. All bad → 422 naming each.
 */
export function stowRoutes(deps: ApiDeps) {
  const app = new Hono();
  // Uploads are parsed on their own thread, within the configured limits: never on the event loop that answers everyone else.
  const parser = createOffThreadParser({ limits: dicomLimits(deps.config.dicomLimits) });
  mount(app, {
    method: 'post', path: '/dicomweb/studies', operationId: 'storeInstances', access: ACCESS.ingest, tag: 'dicomweb',
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
  }, async (c, { auth }) => {
    const body = c.req.raw.body;
    if (!body) throw new ApiError(400, 'EMPTY_BODY', 'the request has no body; send DICOM as multipart/related; type="application/dicom"');
    const parts = await receiveDicomBody(c.req.header('content-type') ?? '', body, {
      maxUploadBytes: deps.config.maxUploadBytes, maxParts: MAX_PARTS, spoolDir: path.join(deps.config.dataDir ?? os.tmpdir(), 'tmp'),
    });
    const ingestDeps = { ...deps, parse: parser.parse };
    const stored: StoredInstance[] = [];
    const failed: PartFailure[] = [];
    try {
      for (let index = 0; index < parts.count; index++) {
        try {
          stored.push(await ingestInstance(ingestDeps, await parts.read(index), { actor: auth.user.username, siteId: auth.user.sites[0] }));
        } catch (error) {
          if (!(error instanceof DicomError)) throw error;
          const { code, message } = toApiError(error);
          failed.push({ part: index, code, message });
        }
      }
    } finally {
      await parts.dispose();
    }
    if (stored.length === 0) {
      throw new ApiError(422, failed[0].code, failed[0].message, failed);
    }
    return c.json({ stored, failed }, 200);
  });
  return app;
}
