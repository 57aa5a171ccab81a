import { Hono } from 'hono';
import { READER_FINDING_LABELS, readerFindingRequest, type ReaderFinding } from '../../contract/reading.ts';
import type { ReaderFindingRecord } from '../../store/types.ts';
import type { ApiDeps } from '../deps.ts';
import { parseBody } from '../errors.ts';

/** A stored reader finding with its label's names, as every answer shows it. */
export function presentReaderFinding(record: ReaderFindingRecord): ReaderFinding {
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
    const body = parseBody(readerFindingRequest, await c.req.json().catch(() => undefined));
    const record = await deps.store.recordReaderFinding(c.req.param('studyInstanceUid'), { ...body, comment: body.comment || undefined });
    return c.json({ readerFinding: presentReaderFinding(record) }, 201);
  });
  return app;
}
