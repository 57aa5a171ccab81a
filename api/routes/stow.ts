import os from 'node:os';
import path from 'node:path';
import { Hono, type Context } from 'hono';
import { apiErrorBody } from '../../contract/errors.ts';
import { stowAnswer, storeInstancesResponse as storeInstancesResponseSchema, type StoredInstance } from '../../contract/dicomweb.ts';
import { dicomwebStudyPath } from '../../contract/dicomweb-query.ts';
import { DicomError } from '../../dicom/errors.ts';
import { dicomLimits } from '../../dicom/limits.ts';
import { createOffThreadParser } from '../../dicom/parse-off-thread/index.ts';
import type { ApiDeps } from '../deps.ts';
import { acceptedRanges, DICOM_JSON, dicomwebRoot } from '../dicomweb-answer.ts';
import { ApiError } from '../errors.ts';
import { ingestInstance } from '../../pipeline/ingest.ts';
import { componentRef, mount, type ResponseSpec } from '../route.ts';
import { receiveDicomBody } from '../stow-body.ts';
import { refusedPart, storeInstancesResponse, stowStatus, type RefusedPart } from '../stow-answer.ts';
import { ACCESS } from '../access.ts';

/** Parts in one request; each costs a parse and a database write, so an upload of more should be split. */
const MAX_PARTS = 10_000;

const LANTERN_JSON = 'application/json';

const dicomJsonAnswer = { type: DICOM_JSON, schema: componentRef(storeInstancesResponseSchema) };

const RESPONSES: Record<number, ResponseSpec> = {
  200: { description: 'Every instance is held (stored now, or already). DICOM JSON by default; Lantern\'s `{ stored, failed }` with `Accept: application/json`.', json: stowAnswer, media: dicomJsonAnswer },
  202: { description: 'Some instances are held, others were refused: each refused one in the Failed SOP Sequence (or `failed`).', json: stowAnswer, media: dicomJsonAnswer },
  409: { description: 'No instance was stored. DICOM JSON: each in the Failed SOP Sequence. `application/json`: the first failure as the error, all of them in `details`.', json: apiErrorBody, media: dicomJsonAnswer },
};

const ERRORS = {
  400: 'EMPTY_BODY or MALFORMED_MULTIPART.',
  406: 'NOT_ACCEPTABLE: Accept names neither application/dicom+json nor application/json.',
  413: 'PAYLOAD_TOO_LARGE or TOO_MANY_PARTS.',
  415: 'UNSUPPORTED_MEDIA_TYPE: not multipart/related of application/dicom (nor one application/dicom body), or a part of another type.',
};

const RAW_BODY = {
  description: 'DICOM Part 10 files as `multipart/related; type="application/dicom"` (PS3.18 §10.5), or one file as `application/dicom`.',
  mediaTypes: ['multipart/related; type="application/dicom"', 'application/dicom'],
  schema: { type: 'string', contentMediaType: 'application/dicom' },
};

/**
 * STOW-RS (PS3.18 §10.5): `POST /dicomweb/studies` and `POST /dicomweb/studies/{study}`. Each
 * part is ingested on its own — a refused part stores nothing, the others are kept — and the
 * answer is the Store Instances Response in DICOM JSON with 200 / 202 / 409 (stow-answer.ts).
 * Objects without pixels (SR, KOS, PR) are stored and listed like images, with nothing queued.
 */
export function stowRoutes(deps: ApiDeps) {
  const app = new Hono();
  // Uploads are parsed on their own thread, within the configured limits: never on the event loop that answers everyone else.
  const parser = createOffThreadParser({ limits: dicomLimits(deps.config.dicomLimits) });

  async function store(c: Context, actor: { username: string; sites: string[] }, addressedStudy?: string): Promise<Response> {
    const answerType = negotiate(c);
    if (addressedStudy !== undefined) {
      // A study of another site does not exist for this user (as everywhere else): 404 before a byte is read.
      const site = await deps.store.studySite(addressedStudy);
      if (site !== undefined && !actor.sites.includes(site)) throw new ApiError(404, 'NOT_FOUND', `study ${addressedStudy} does not exist`);
    }
    const body = c.req.raw.body;
    if (!body) throw new ApiError(400, 'EMPTY_BODY', 'the request has no body; send DICOM as multipart/related; type="application/dicom"');
    const parts = await receiveDicomBody(c.req.header('content-type') ?? '', body, {
      maxUploadBytes: deps.config.maxUploadBytes, maxParts: MAX_PARTS, spoolDir: path.join(deps.config.dataDir ?? os.tmpdir(), 'tmp'),
    });
    const ingestDeps = { ...deps, parse: parser.parse };
    const uploader = { actor: actor.username, siteId: actor.sites[0], intoStudy: addressedStudy };
    const held: StoredInstance[] = [];
    const refused: RefusedPart[] = [];
    try {
      for (let index = 0; index < parts.count; index++) {
        try {
          held.push(await ingestInstance(ingestDeps, await parts.read(index), uploader));
        } catch (error) {
          if (!(error instanceof DicomError)) throw error;
          refused.push(refusedPart(index, error));
        }
      }
    } finally {
      await parts.dispose();
    }
    const status = stowStatus(held.length, refused.length);
    if (answerType === LANTERN_JSON) {
      const failed = refused.map(({ part, code, message }) => ({ part, code, message }));
      if (status === 409) throw new ApiError(409, failed[0].code, failed[0].message, failed);
      return c.json({ stored: held, failed }, status);
    }
    const answer = storeInstancesResponse(dicomwebRoot(c), held, refused, addressedStudy);
    return c.body(JSON.stringify(answer), status, { 'content-type': DICOM_JSON });
  }

  mount(app, {
    method: 'post', path: '/dicomweb/studies', operationId: 'storeInstances', access: ACCESS.ingest, tag: 'dicomweb',
    summary: 'STOW-RS: store DICOM instances; each image is queued for the models that apply to it',
    description: 'Each part is ingested on its own: a refused part stores nothing, the others are kept. Objects without Pixel Data (SR, KOS, PR, …) are stored and listed, never queued for AI.',
    rawBody: RAW_BODY, responses: RESPONSES, errors: ERRORS,
  }, (c, { auth }) => store(c, auth.user));

  mount(app, {
    method: 'post', path: '/dicomweb/studies/{study}', operationId: 'storeStudyInstances', access: ACCESS.ingest, tag: 'dicomweb',
    summary: 'STOW-RS: store DICOM instances of one study',
    description: 'As `POST /dicomweb/studies`, and an instance of another study is refused (Failure Reason 0xC409, STUDY_INSTANCE_UID_MISMATCH) and not stored.',
    params: dicomwebStudyPath, rawBody: RAW_BODY, responses: RESPONSES,
    errors: { ...ERRORS, 404: 'NOT_FOUND: the study is filed under a site the user does not belong to.', 422: 'VALIDATION_FAILED: the path holds no DICOM UID.' },
  }, (c, { auth, params }) => store(c, auth.user, params.study));
  return app;
}

/**
 * The answer's media type, settled before the body is read (a refusal stores nothing): DICOM
 * JSON unless the client prefers `application/json`, Lantern's own shape for its CLI. An
 * Accept naming neither (nor a wildcard) is 406.
 */
function negotiate(c: Context): string {
  const ranges = acceptedRanges(c.req.header('accept'));
  if (!ranges.length) return DICOM_JSON;
  for (const { type } of ranges) {
    if (type === DICOM_JSON || type === '*/*' || type === '*' || type === 'application/*') return DICOM_JSON;
    if (type === LANTERN_JSON) return LANTERN_JSON;
  }
  throw new ApiError(406, 'NOT_ACCEPTABLE', `Accept: ${c.req.header('accept')?.slice(0, 100)} — this answer is ${DICOM_JSON} (or ${LANTERN_JSON})`);
}
