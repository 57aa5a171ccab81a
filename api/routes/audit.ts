import { Hono } from 'hono';
import { accountabilityBundle, auditExportQuery, auditPage, auditQuery, auditSegment, auditVerification, signedHead } from '../../contract/audit.ts';
import type { ApiDeps } from '../deps.ts';
import { mount } from '../route.ts';
import { ACCESS } from '../access.ts';
import { auditStudyRead } from '../read-audit.ts';

const notSigned = 'AUDIT_BROKEN: the chain does not verify against its checkpoints; nothing is signed over it.';

export function auditRoutes(deps: ApiDeps) {
  const app = new Hono();
  mount(app, {
    method: 'get', path: '/v1/audit', operationId: 'listAudit', access: ACCESS.admin, tag: 'audit',
    summary: 'The audit trail, newest first',
    description: 'Every AI output, clinician decision, calculation and read of patient data, hash-chained. Page with `before` = the last `seq` seen; filter by `entityId` and `action` (`study.viewed`: who opened which study).',
    query: auditQuery,
    responses: { 200: { description: 'A page of records.', json: auditPage } },
  }, async (c, { query }) => c.json({ items: await deps.store.listAudit({ limit: query.limit, beforeSeq: query.before, entityId: query.entityId, action: query.action }) }));
  mount(app, {
    method: 'get', path: '/v1/audit/verify', operationId: 'verifyAudit', access: ACCESS.admin, tag: 'audit',
    summary: 'Re-hash the whole chain, compare it with the signed checkpoints, and name the first broken record',
    description: 'Detects an edited, deleted or swapped record (the hash chain), and a truncation or a re-hashing (the checkpoints of the signed head, kept outside the database).',
    responses: { 200: { description: 'Whether the chain is intact, and why not.', json: auditVerification } },
  }, async (c) => c.json(await deps.store.verifyAudit()));
  mount(app, {
    method: 'post', path: '/v1/audit/checkpoint', operationId: 'checkpointAudit', access: ACCESS.admin, tag: 'audit',
    summary: 'Sign the chain\'s head now and append it to the checkpoint file',
    description: 'Also done periodically (`LANTERN_AUDIT_CHECKPOINT_S`) and at stop. Refused when the chain no longer extends the last checkpoint.',
    responses: { 200: { description: 'The signed head.', json: signedHead } },
    errors: { 409: 'AUDIT_BROKEN: the chain no longer extends the last checkpoint (nothing is signed over it).', 503: 'AUDIT_UNAVAILABLE: signing is not configured.' },
  }, async (c) => c.json(await deps.store.checkpointAudit()));
  mount(app, {
    method: 'get', path: '/v1/audit/export', operationId: 'exportAudit', access: ACCESS.admin, tag: 'audit',
    summary: 'A segment of the chain with the signed heads covering it, for `lantern audit verify`',
    description: 'Records `from`–`to` with their payloads as stored; verifiable offline with the public key.',
    query: auditExportQuery,
    responses: { 200: { description: 'The segment.', json: auditSegment } },
    errors: { 409: notSigned },
  }, async (c, { query }) => c.json(await deps.store.exportAudit({ from: query.from, to: query.to })));
  mount(app, {
    method: 'get', path: '/v1/audit/bundle/{studyInstanceUid}', operationId: 'auditBundle', access: ACCESS.admin, tag: 'audit',
    summary: 'A study\'s accountability bundle: images\' SHA-256, findings with provenance, decisions, their audit records, a signed head',
    description: 'Signed as a whole after the chain verified against its checkpoints; `lantern audit verify` checks it offline.',
    responses: { 200: { description: 'The bundle.', json: accountabilityBundle } },
    errors: { 404: 'No such study.', 409: notSigned },
  }, async (c, { params, auth }) => {
    const bundle = await deps.store.auditBundle(params.studyInstanceUid);
    auditStudyRead(deps, auth, params.studyInstanceUid, 'export');
    return c.json(bundle);
  });
  return app;
}
