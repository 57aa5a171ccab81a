import { Hono } from 'hono';
import { z } from 'zod';
import type { ReaderFindingRecord } from '../../store/types.ts';
import type { ApiDeps } from '../deps.ts';
import { parseBody } from '../errors.ts';

/**
 * Coded labels for findings a reader adds that the AI missed: coded so that model teams
 * can count misses per label. `other` needs a comment.
 */
export const READER_FINDING_LABELS = [
  { code: 'pneumonia', display: 'Pneumonia', displayZh: '肺炎' },
  { code: 'nodule', display: 'Nodule or mass', displayZh: '结节或肿块' },
  { code: 'effusion', display: 'Pleural effusion', displayZh: '胸腔积液' },
  { code: 'pneumothorax', display: 'Pneumothorax', displayZh: '气胸' },
  { code: 'cardiomegaly', display: 'Cardiomegaly', displayZh: '心影增大' },
  { code: 'fracture', display: 'Fracture', displayZh: '骨折' },
  { code: 'other', display: 'Other (describe in the comment)', displayZh: '其他（请在备注中说明）' },
] as const;

const labelCodes = READER_FINDING_LABELS.map((l) => l.code) as [string, ...string[]];

/** In the image's pixels (fractions allowed: a box drawn on a zoomed view); the store checks the far edges against the image's size. */
const region = z.object({
  x: z.number().min(0),
  y: z.number().min(0),
  width: z.number().positive(),
  height: z.number().positive(),
}).strict();

const readerFindingBody = z.object({
  label: z.enum(labelCodes, { error: `one of ${labelCodes.join(', ')} (GET /v1/reader-finding-labels)` }),
  sopInstanceUid: z.string().min(1).max(64).optional(),
  region: region.optional(),
  comment: z.string().trim().max(2000).optional(),
  reviewer: z.string().trim().min(1, 'say who adds it').max(100),
}).strict().superRefine((body, ctx) => {
  if (body.region && !body.sopInstanceUid) ctx.addIssue({ code: 'custom', path: ['region'], message: 'a region needs the sopInstanceUid of the image it is on' });
  if (body.label === 'other' && !body.comment) ctx.addIssue({ code: 'custom', path: ['comment'], message: 'label "other" needs a comment' });
});

/** A stored reader finding with its label's names, as every answer shows it. */
export function presentReaderFinding(record: ReaderFindingRecord) {
  const label = READER_FINDING_LABELS.find((l) => l.code === record.label);
  return { ...record, display: label?.display ?? record.label, displayZh: label?.displayZh ?? record.label };
}

/**
 * `POST /v1/studies/{uid}/reader-findings`: a finding the AI missed, added by a reader;
 * audited as `finding.reader-added`. `GET /v1/reader-finding-labels`: the coded labels.
 */
export function readerFindingRoutes(deps: ApiDeps) {
  const app = new Hono();
  app.get('/v1/reader-finding-labels', (c) => c.json({ items: READER_FINDING_LABELS }));
  app.post('/v1/studies/:studyInstanceUid/reader-findings', async (c) => {
    const body = parseBody(readerFindingBody, await c.req.json().catch(() => undefined));
    const record = await deps.store.recordReaderFinding(c.req.param('studyInstanceUid'), { ...body, comment: body.comment || undefined });
    return c.json({ readerFinding: presentReaderFinding(record) }, 201);
  });
  return app;
}
