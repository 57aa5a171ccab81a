import { Hono } from 'hono';
import {
  accountabilityBundle, auditExportQuery, auditPage, auditQuery, auditSegment, auditVerification, auditVerifyQuery, signedHead,
  witnessedHeads, witnessHeadSubmission, witnessKeyParams, witnessReceipt,
} from '../../contract/audit.ts';
import { WitnessUnreachableError } from '../../store/audit-witness.ts';
import { WitnessRefusal } from '../../store/witnessed-heads.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { mount } from '../route.ts';
import { ACCESS } from '../access.ts';
import { auditStudyRead } from '../read-audit.ts';

/** A refused head's status: the two that are evidence of a rewritten chain conflict with what is held (409); the rest are bad input (422). */
const refusalStatus = (refusal: WitnessRefusal) => (refusal.code === 'AUDIT_HEAD_CONFLICT' || refusal.code === 'AUDIT_HEAD_ROLLBACK' ? 409 : 422);

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
    description: 'Detects an edited, deleted or swapped record (the hash chain), and a truncation or a re-hashing (the checkpoints of the signed head, kept outside the database). '
      + 'With `witness=true`, also compares the chain with every head the configured witness (`LANTERN_AUDIT_WITNESS_URL`) holds: what catches a checkpoint file rewritten and re-signed with this box\'s own key.',
    query: auditVerifyQuery,
    responses: { 200: { description: 'Whether the chain is intact, and why not.', json: auditVerification } },
    errors: { 502: 'WITNESS_UNREACHABLE: the witness could not be asked (nothing was verified).', 503: 'AUDIT_UNAVAILABLE: no witness is configured.' },
  }, async (c, { query }) => {
    if (query.witness !== 'true') return c.json(await deps.store.verifyAudit());
    try {
      return c.json(await deps.store.verifyAuditWithWitness());
    } catch (error) {
      if (error instanceof WitnessUnreachableError) throw new ApiError(502, error.code, error.message);
      throw error;
    }
  });
  mount(app, {
    method: 'post', path: '/v1/audit/witness', operationId: 'witnessAuditHead', access: ACCESS.auditWitness, tag: 'audit',
    summary: 'As another Lantern\'s witness: hold a signed head of its audit chain',
    description: 'Sent by a Lantern whose `LANTERN_AUDIT_WITNESS_URL` names this one, with a token of its `audit-witness` account here (the audited actor). '
      + 'The head must be signed by the key its `keyId` was first introduced with (trust on first use: the first head carries `publicKey`, whose id is the keyId). '
      + 'Heads are appended, never replaced: one with another hash at a seq already held, or below the newest held, is refused as evidence of a rewritten chain.',
    body: witnessHeadSubmission,
    responses: { 200: { description: 'Held: `new`, or `already` (this very head was held before; nothing written).', json: witnessReceipt } },
    errors: {
      409: 'AUDIT_HEAD_CONFLICT (another hash at a seq already witnessed) or AUDIT_HEAD_ROLLBACK (a seq below the newest witnessed): the sender\'s chain was rewritten; the head held before stays.',
      422: 'HEAD_SIGNATURE_INVALID (not signed by the keyId\'s key), WITNESS_KEY_UNKNOWN (first head without publicKey), WITNESS_KEY_MISMATCH (publicKey is not the keyId\'s), or a malformed field.',
    },
  }, async (c, { body, auth }) => {
    try {
      const witnessed = await deps.store.witnessHead(body, auth.user.username);
      return c.json({ keyId: body.keyId, seq: body.seq, witnessed });
    } catch (error) {
      if (error instanceof WitnessRefusal) throw new ApiError(refusalStatus(error), error.code, error.message);
      throw error;
    }
  });
  mount(app, {
    method: 'get', path: '/v1/audit/witness/{keyId}', operationId: 'witnessedAuditHeads', access: ACCESS.auditWitness, tag: 'audit',
    summary: 'As another Lantern\'s witness: every head held for one chain\'s key, oldest first',
    description: 'What `lantern audit verify --witness` and `GET /v1/audit/verify?witness=true` compare a chain with. The read is audited.',
    params: witnessKeyParams,
    responses: { 200: { description: 'The key as introduced and the heads held.', json: witnessedHeads } },
    errors: { 404: 'No head of this key was ever witnessed here.' },
  }, async (c, { params, auth }) => c.json(await deps.store.witnessedHeadsOf(params.keyId, auth.user.username)));
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
