import { Hono } from 'hono';
import { studyParams } from '../../contract/dicomweb.ts';
import { READER_FINDING_LABELS, readerFindingAnswer, readerFindingRequest, type ReaderFinding } from '../../contract/reading.ts';
import type { ReaderFindingRecord } from '../../store/types.ts';
import type { ApiDeps } from '../deps.ts';
import { mount } from '../route.ts';
import { mountCodedTerms } from './coded-terms.ts';
import { ACCESS } from '../access.ts';

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
  mountCodedTerms(app, { path: '/v1/reader-finding-labels', operationId: 'listReaderFindingLabels', summary: 'The coded labels a reader-added finding may have' }, READER_FINDING_LABELS);
  mount(app, {
    method: 'post', path: '/v1/studies/{studyInstanceUid}/reader-findings', operationId: 'addReaderFinding', access: ACCESS.reading, tag: 'reading',
    summary: 'Add a finding the AI missed',
    description: 'Optionally on one image (`sopInstanceUid`) with a region inside it. Audited as `finding.reader-added`.',
    params: studyParams,
    body: readerFindingRequest,
    responses: { 201: { description: 'The reader finding as recorded.', json: readerFindingAnswer } },
    errors: { 404: 'No such study at the user\'s sites.' },
  }, async (c, { params, body, auth }) => {
    const record = await deps.store.recordReaderFinding(params.studyInstanceUid, { ...body, comment: body.comment || undefined, reviewer: auth.user.username }, auth.scope);
    return c.json({ readerFinding: presentReaderFinding(record) }, 201);
  });
  return app;
}
