/**
 * What a client sees when the audit cannot be kept: /health degraded and naming why, and a
 * calculation answered 503 (or 422 for an unstorable actor), never a 200 without its record.
 */
import { describe, expect, it } from 'vitest';
import { AuditBrokenError, AuditUnavailableError, UnstorableTextError } from '../../store/store.ts';
import type { ApiDeps } from '../deps.ts';
import { toApiError } from '../errors.ts';
import { healthRoutes } from './health.ts';

const degraded = {
  state: 'degraded',
  records: { state: 'degraded', pending: 3, quarantined: 0, lastError: 'connection refused', lastErrorAt: '2026-12-02T15:00:00.000Z' },
  checkpoints: { state: 'ok', lastCheckpoint: { seq: 41, at: '2026-12-02T14:59:50.000Z' } },
};

function deps(auditStatus: () => unknown): ApiDeps {
  return {
    redis: { status: 'ready', ping: async () => 'PONG' },
    store: { db: { query: async () => ({ rows: [] }) }, auditStatus },
    registry: { models: [] },
  } as unknown as ApiDeps;
}

describe('audit failures are loud', () => {
  it('when audit records wait on a failed commit, then /health is 503 degraded and says how many and why', async () => {
    const response = await healthRoutes(deps(() => degraded)).request('/health');
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ status: 'degraded', redis: 'ok', database: 'ok', audit: degraded });
  });

  it('when every audit record is written, then /health is 200 and shows the last checkpoint', async () => {
    const ok = { ...degraded, state: 'ok', records: { state: 'ok', pending: 0, quarantined: 0 } };
    const response = await healthRoutes(deps(() => ok)).request('/health');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok', audit: { checkpoints: { lastCheckpoint: { seq: 41 } } } });
  });

  it('when a calculation\'s audit cannot be written in time, then its answer is 503; an unstorable actor 422; signing over a broken chain 409', () => {
    expect(toApiError(new AuditUnavailableError('not written within 2000 ms'))).toMatchObject({ status: 503, code: 'AUDIT_UNAVAILABLE' });
    expect(toApiError(new UnstorableTextError('actor', 'NUL'))).toMatchObject({ status: 422, code: 'VALIDATION_FAILED', details: [{ field: 'actor' }] });
    expect(toApiError(new AuditBrokenError('truncated'))).toMatchObject({ status: 409, code: 'AUDIT_BROKEN' });
  });
});
