import { Hono } from 'hono';
import { auditPage, auditQuery, auditVerification } from '../../contract/audit.ts';
import type { ApiDeps } from '../deps.ts';
import { mount } from '../route.ts';

export function auditRoutes(deps: ApiDeps) {
  const app = new Hono();
  mount(app, {
    method: 'get', path: '/v1/audit', operationId: 'listAudit', tag: 'audit',
    summary: 'The audit trail, newest first',
    description: 'Every AI output, clinician decision and calculation, hash-chained. Page with `before` = the last `seq` seen.',
    query: auditQuery,
    responses: { 200: { description: 'A page of records.', json: auditPage } },
  }, async (c, { query }) => c.json({ items: await deps.store.listAudit({ limit: query.limit, beforeSeq: query.before, entityId: query.entityId }) }));
  mount(app, {
    method: 'get', path: '/v1/audit/verify', operationId: 'verifyAudit', tag: 'audit',
    summary: 'Re-hash the whole chain and name the first broken record',
    responses: { 200: { description: 'Whether the chain is intact.', json: auditVerification } },
  }, async (c) => c.json(await deps.store.verifyAudit()));
  return app;
}
