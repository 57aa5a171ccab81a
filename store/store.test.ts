import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from './db.ts';
import { appendAudits, auditedTransaction } from './audit.ts';
import { migrate } from './migrate.ts';
import { databaseBackends, openMigratedStore } from './test-backends.ts';
import { ALL_SITES, NotApplicableError, type Store } from './store.ts';
import { finding, newInstance, notApplicableFinding } from './test-fixtures.ts';
import type { Prioritise } from './types.ts';

const prioritise: Prioritise = (s) => ({
  priority: Math.max(0, ...s.findings.map((f) => (f.probability ?? 0) * 100), (s.clinical as { news2?: { score: number } } | undefined)?.news2?.score ?? 0),
  why: s.findings.length ? `${s.findings[0].label} p=${s.findings[0].probability}` : 'awaiting AI',
  whyZh: s.findings.length ? `${s.findings[0].label} p=${s.findings[0].probability}` : '等待 AI',
  detail: s.clinical ? { level: 'II' } : undefined,
});

const backends = databaseBackends({ inMemory: true });

describe.each(backends)('store on $name', (backend) => {
  let db: Database;
  let store: Store;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ db, store, close } = await openMigratedStore(backend, { prioritise }));
  });
  afterAll(() => close?.());

  it('when migrations run twice, then the second run applies nothing', async () => {
    expect(await migrate(db)).toEqual([]);
  });

  it('when the same instance is recorded twice, then one row and one audit record exist', async () => {
    const input = newInstance();
    expect(await store.recordInstance(input, 'test')).toEqual({ status: 'stored', priority: 0 });
    expect(await store.recordInstance(input, 'test')).toEqual({ status: 'duplicate', priority: 0 });
    const rows = await db.query('select * from instances where sop_instance_uid = $1', [input.sopInstanceUid]);
    expect(rows.rows).toHaveLength(1);
    const audit = await store.listAudit({ limit: 10, entityId: input.sopInstanceUid });
    expect(audit.map((a) => a.action)).toEqual(['instance.received']);
  });

  it('when findings for one job are recorded twice, then one finding and one audit record exist, and the study is re-prioritised', async () => {
    const input = newInstance();
    await store.recordInstance(input, 'test');
    const f = finding(input.sopInstanceUid, 0.91);
    await store.recordFindings(input.sopInstanceUid, [f], 'worker');
    await store.recordFindings(input.sopInstanceUid, [f], 'worker');
    const detail = await store.getStudy(input.study.studyInstanceUid, ALL_SITES);
    expect(detail.findings).toHaveLength(1);
    expect(detail.study.status).toBe('ready');
    expect(detail.study.priority).toBeCloseTo(91);
    expect(detail.study.why).toBe('pneumonia p=0.91');
    expect(detail.findings[0].aiAssisted).toMatch(/AI-assisted/);
    const audit = await store.listAudit({ limit: 10, entityId: f.id });
    expect(audit.map((a) => a.action)).toEqual(['finding.created']);
  });

  it('when a model was not applicable, then its finding keeps no probability and its reason, needs no decision, refuses one and counts in no agreement', async () => {
    const counted = async () => (await store.agreement({ modelId: 'pneumonia-cxr' })).reduce((n, g) => n + g.findings, 0);
    const before = await counted();
    const input = newInstance();
    await store.recordInstance(input, 'test');
    const reason = { code: 'OUTSIDE_POPULATION_AGE', text: 'patient age 64 y outside 1–5 y', textZh: '患者年龄 64 岁 不在 1–5 岁之内' };
    const f = notApplicableFinding(input.sopInstanceUid, reason);
    await store.recordFindings(input.sopInstanceUid, [f], 'worker');
    const detail = await store.getStudy(input.study.studyInstanceUid, ALL_SITES);
    expect(detail.findings[0]).toMatchObject({ probability: null, positive: false, applicability: { applicable: false, reason } });
    expect(detail.study.status).toBe('ready');
    await expect(store.recordReview(f.id, { decision: 'accept', reviewer: 'Dr Li' }, ALL_SITES)).rejects.toBeInstanceOf(NotApplicableError);
    expect((await store.listAudit({ limit: 10, entityId: f.id })).map((a) => [a.action, (a.payload as { applicability?: unknown }).applicability]))
      .toEqual([['finding.created', { applicable: false, reason, caveats: [] }]]);
    expect(await counted()).toBe(before);
    const applicable = newInstance();
    await store.recordInstance(applicable, 'test');
    await store.recordFindings(applicable.sopInstanceUid, [finding(applicable.sopInstanceUid, 0.7)], 'worker');
    expect(await counted()).toBe(before + 1);
  });

  it('when two models read one instance, then it stays pending until both answer, and one model\'s failure stays visible beside the other\'s answer', async () => {
    const input = newInstance({ pendingModels: ['pneumonia-cxr@1.0.0', 'cxr-pneumonia-adult@1.0.0'] });
    await store.recordInstance(input, 'test');
    const adult = { ...finding(input.sopInstanceUid, 0.7), id: `f-${input.sopInstanceUid}-adult`, model: { ...finding(input.sopInstanceUid).model, id: 'cxr-pneumonia-adult' } };
    await store.recordFindings(input.sopInstanceUid, [adult], 'worker');
    expect((await store.getStudy(input.study.studyInstanceUid, ALL_SITES)).study.status).toBe('pending');
    await store.recordInferenceFailure(input.sopInstanceUid, { id: 'pneumonia-cxr', version: '1.0.0' }, { code: 'PIXEL_DECODE_FAILED', message: 'bad' }, 'worker');
    const detail = await store.getStudy(input.study.studyInstanceUid, ALL_SITES);
    expect(detail.study.status).toBe('ready');
    expect(detail.errors.map((e) => e.code)).toEqual(['PIXEL_DECODE_FAILED']);
    // A re-run of the model that already answered changes nothing.
    await store.recordInferenceFailure(input.sopInstanceUid, { id: 'cxr-pneumonia-adult', version: '1.0.0' }, { code: 'INFERENCE_FAILED', message: 'late' }, 'worker');
    expect((await store.getStudy(input.study.studyInstanceUid, ALL_SITES)).errors.map((e) => e.code)).toEqual(['PIXEL_DECODE_FAILED']);
  });

  it('when an inference failure is recorded, then the study shows the error and is failed, and a later success is not erased', async () => {
    const input = newInstance();
    await store.recordInstance(input, 'test');
    const model = { id: 'pneumonia-cxr', version: '1.0.0' };
    await store.recordInferenceFailure(input.sopInstanceUid, model, { code: 'UNSUPPORTED_TRANSFER_SYNTAX', message: 'no decoder' }, 'worker');
    await store.recordInferenceFailure(input.sopInstanceUid, model, { code: 'UNSUPPORTED_TRANSFER_SYNTAX', message: 'no decoder' }, 'worker');
    const detail = await store.getStudy(input.study.studyInstanceUid, ALL_SITES);
    expect(detail.study.status).toBe('failed');
    expect(detail.errors).toEqual([{ sopInstanceUid: input.sopInstanceUid, code: 'UNSUPPORTED_TRANSFER_SYNTAX', message: 'no decoder' }]);
    expect((await store.listAudit({ limit: 10, entityId: input.sopInstanceUid })).map((a) => a.action))
      .toEqual(['inference.failed', 'instance.received']);
  });

  it('when a finding is overridden then accepted, then both decisions are kept and the latest is current', async () => {
    const input = newInstance();
    await store.recordInstance(input, 'test');
    const f = finding(input.sopInstanceUid);
    await store.recordFindings(input.sopInstanceUid, [f], 'worker');
    await store.recordReview(f.id, { decision: 'override', reasonCode: 'false-positive', comment: 'old scar', reviewer: 'Dr Li' }, ALL_SITES);
    await store.recordReview(f.id, { decision: 'accept', reviewer: 'Dr Wang' }, ALL_SITES);
    const detail = await store.getStudy(input.study.studyInstanceUid, ALL_SITES);
    expect(detail.reviews.map((r) => r.decision)).toEqual(['override', 'accept']);
    expect(detail.findings[0].review?.reviewer).toBe('Dr Wang');
    expect(detail.study.status).toBe('reviewed');
    const audit = await store.listAudit({ limit: 10, entityId: f.id });
    expect(audit.map((a) => [a.action, a.actor])).toEqual([['finding.accept', 'Dr Wang'], ['finding.override', 'Dr Li'], ['finding.created', 'worker']]);
    expect(audit[1].payload).toMatchObject({ reasonCode: 'false-positive', comment: 'old scar' });
  });

  it('when a bedside assessment is recorded, then triage sees it, the study is re-prioritised and the assessment audited', async () => {
    const input = newInstance();
    await store.recordInstance(input, 'test');
    const result = await store.recordClinical(input.study.studyInstanceUid, { news2: { score: 7, band: 'high' } }, 'Nurse Li', ALL_SITES);
    expect(result.priority).toBe(7);
    const detail = await store.getStudy(input.study.studyInstanceUid, ALL_SITES);
    expect(detail.study).toMatchObject({ priority: 7, triage: { level: 'II' } });
    expect((await store.listAudit({ limit: 5, entityId: input.study.studyInstanceUid }))[0]).toMatchObject({ action: 'study.assessed', actor: 'Nurse Li' });
    await expect(store.recordClinical('9.9.9', {}, 'x', ALL_SITES)).rejects.toThrow(/study 9.9.9 does not exist/);
  });

  it('when calculations are audited, then they are group-committed into the chain in order', async () => {
    const model = { id: 'pce-ascvd', version: '1.0.0', sha256: 'c'.repeat(64) };
    store.recordCalculation('Dr Wu', { kind: 'risk', model, inputs: { age: 55 }, result: { risk: 0.05 } });
    store.recordCalculation('Dr Wu', { kind: 'risk', model, inputs: { age: 65 }, result: { risk: 0.09 } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const audit = await store.listAudit({ limit: 2, entityId: 'pce-ascvd@1.0.0' });
    expect(audit.map((a) => [a.action, a.actor, (a.payload.inputs as { age: number }).age])).toEqual([['risk.calculated', 'Dr Wu', 65], ['risk.calculated', 'Dr Wu', 55]]);
    expect(await store.verifyAudit()).toMatchObject({ intact: true });
  });

  it('when a batch repeats an idempotency key, or reuses one already stored, then each is written once and the chain verifies', async () => {
    const entry = (key: string) => ({ actor: 't', action: 'test.batch', entityType: 'test', entityId: key, payload: { key }, idempotencyKey: `batch:${key}` });
    const first = await auditedTransaction(db, (tx) => appendAudits(tx, [entry('a'), entry('b'), entry('a')]));
    expect(first[2]).toEqual(first[0]);
    expect(first[1].seq).toBe(first[0].seq + 1);
    const again = await auditedTransaction(db, (tx) => appendAudits(tx, [entry('b'), entry('c')]));
    expect(again[0]).toEqual(first[1]);
    const rows = await db.query<{ n: number }>(`select count(*)::int as n from audit where action = 'test.batch'`);
    expect(rows.rows[0].n).toBe(3);
    expect(await store.verifyAudit()).toMatchObject({ intact: true });
  });

  it('when many appends race, then the chain stays linear and verifies', async () => {
    await Promise.all(Array.from({ length: 20 }, () => store.recordInstance(newInstance(), 'racer')));
    expect(await store.verifyAudit()).toMatchObject({ intact: true });
  });

  it('when an audit row is edited in the database, then verify names it as the first broken link', async () => {
    const before = await store.verifyAudit();
    expect(before.intact).toBe(true);
    const target = Math.max(2, Math.floor(before.checked / 2));
    await db.query(`update audit set payload = replace(payload, 'pending', 'tampered') where seq = $1`, [target]);
    await db.query(`update audit set actor = 'mallory' where seq = $1`, [target]);
    expect(await store.verifyAudit()).toEqual({ intact: false, checked: target - 1, firstBrokenSeq: target });
  });

  it('when a finding or study does not exist, then a NotFoundError says so', async () => {
    await expect(store.recordReview('nope', { decision: 'accept', reviewer: 'x' }, ALL_SITES)).rejects.toThrow(/finding nope does not exist/);
    await expect(store.getStudy('1.2.3', ALL_SITES)).rejects.toThrow(/study 1.2.3 does not exist/);
  });
});
