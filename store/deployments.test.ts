import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from './db.ts';
import { databaseBackends, openMigratedStore } from './test-backends.ts';
import { ALL_SITES, NotFoundError, type Store } from './store.ts';
import { finding, newInstance } from './test-fixtures.ts';
import type { FindingInput, Prioritise } from './types.ts';

/** Priority = the most probable finding triage is given, ×100: a shadow finding reaching triage would show. */
const prioritise: Prioritise = (s) => ({
  priority: Math.max(0, ...s.findings.map((f) => (f.probability ?? 0) * 100)),
  why: s.findings.map((f) => `${f.model.id}@${f.model.version}`).join(',') || 'awaiting AI',
  whyZh: '—',
});

/** The next version of the fixture's model, run in shadow: same label, a confident positive. */
const shadowFinding = (sop: string): FindingInput => ({ ...finding(sop, 0.95), id: `f-${sop}-pneumonia-next`, model: { ...finding(sop).model, version: '2.0.0' } });

const today = new Date().toISOString().slice(0, 10);
const counts = { timeZone: 'UTC', clinicalModels: ['pneumonia-cxr'], feverCelsius: 38, tachypnoeaPerMin: 22 };

describe.each(databaseBackends({ inMemory: true }))('deployment states in the store on $name', (backend) => {
  let db: Database;
  let store: Store;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ db, store, close } = await openMigratedStore(backend, { prioritise }));
  });
  afterAll(() => close?.());

  it('when a shadow run\'s findings arrive (twice), then they are stored once, marked shadow, audited once each, and no clinician read, triage, surveillance count or status sees them', async () => {
    const input = newInstance({ study: { ...newInstance().study, patientId: `P-${Date.now()}` } });
    input.study.studyInstanceUid = input.sopInstanceUid.replace(/\.1\.1$/, '');
    await store.recordInstance(input, 'test');
    const shadow = shadowFinding(input.sopInstanceUid);
    await store.recordShadowFindings(input.sopInstanceUid, [shadow], 'model:pneumonia-cxr@2.0.0');
    await store.recordShadowFindings(input.sopInstanceUid, [shadow], 'model:pneumonia-cxr@2.0.0');

    const { rows } = await db.query<{ deployment: string; model: { version: string; weightsSha256: string } }>('select deployment, model from findings where sop_instance_uid = $1', [input.sopInstanceUid]);
    expect(rows).toEqual([{ deployment: 'shadow', model: expect.objectContaining({ version: '2.0.0', weightsSha256: 'b'.repeat(64) }) }]);
    const audits = await store.listAudit({ limit: 10, entityId: shadow.id });
    expect(audits.map((a) => [a.action, a.actor, (a.payload as { deployment?: string }).deployment])).toEqual([['finding.created', 'model:pneumonia-cxr@2.0.0', 'shadow']]);

    const uid = input.study.studyInstanceUid;
    const clinicianReads = async () => ({
      study: (await store.getStudy(uid, ALL_SITES)).findings.map((f) => f.id),
      worklist: (await store.getWorklist({ sites: ALL_SITES }, 1000)).find((w) => w.studyInstanceUid === uid)!.findings.map((f) => f.id),
      cdsHooks: (await store.patientStudies([input.study.patientId!], ALL_SITES)).flatMap((s) => s.findings.map((f) => `${f.model.id}@${f.model.version}`)),
      fhir: (await store.fhirFindings({ scope: ALL_SITES, studyInstanceUid: uid }, { count: 50, offset: 0 })).findings.map((f) => f.findingId),
    });
    expect(await clinicianReads()).toEqual({ study: [], worklist: [], cdsHooks: [], fhir: [] });
    await expect(store.studyOfFinding({ findingId: shadow.id }, ALL_SITES)).rejects.toThrow(NotFoundError);
    const detail = await store.getStudy(uid, ALL_SITES);
    // Still waiting for its clinical model; the confident shadow positive moved nothing.
    expect(detail.study).toMatchObject({ priority: 0, why: 'awaiting AI' });
    expect((await db.query<{ status: string; pending_models: string[] }>('select status, pending_models from instances where sop_instance_uid = $1', [input.sopInstanceUid])).rows)
      .toEqual([{ status: 'queued', pending_models: ['pneumonia-cxr@1.0.0'] }]);
    await store.recomputeSurveillanceCounts({ from: today, to: today }, counts);
    const positives = async () => (await store.surveillanceCounts({ signals: ['ai-positive:pneumonia'], from: today, to: today }, ALL_SITES)).reduce((n, r) => n + r.count, 0);
    expect(await positives()).toBe(0);

    // The clinical version's answer is what every read shows, and what triage and surveillance count.
    const clinical = finding(input.sopInstanceUid, 0.6);
    await store.recordFindings(input.sopInstanceUid, [clinical], 'model:pneumonia-cxr@1.0.0');
    expect(await clinicianReads()).toEqual({ study: [clinical.id], worklist: [clinical.id], cdsHooks: ['pneumonia-cxr@1.0.0'], fhir: [clinical.id] });
    expect((await store.getStudy(uid, ALL_SITES)).study).toMatchObject({ priority: 60, why: 'pneumonia-cxr@1.0.0' });
    await store.recomputeSurveillanceCounts({ from: today, to: today }, counts);
    expect(await positives()).toBe(1);
  });

  it('when a shadow run cannot read an image, then one failure is audited as shadow and the image\'s status stays its clinical models\' to say', async () => {
    const input = newInstance();
    await store.recordInstance(input, 'test');
    const model = { id: 'pneumonia-cxr', version: '2.0.0' };
    await store.recordShadowFailure(input.sopInstanceUid, model, { code: 'INFERENCE_FAILED', message: 'boom' }, 'model:pneumonia-cxr@2.0.0');
    await store.recordShadowFailure(input.sopInstanceUid, model, { code: 'INFERENCE_FAILED', message: 'boom' }, 'model:pneumonia-cxr@2.0.0');
    expect((await store.listAudit({ limit: 10, entityId: input.sopInstanceUid, action: 'inference.failed' })).map((a) => a.payload)).toEqual([{ model, error: { code: 'INFERENCE_FAILED', message: 'boom' }, deployment: 'shadow' }]);
    expect((await db.query('select status, error_code from instances where sop_instance_uid = $1', [input.sopInstanceUid])).rows).toEqual([{ status: 'queued', error_code: null }]);
    await expect(store.recordShadowFailure('1.2.3.no-such', model, { code: 'X', message: 'y' }, 'model:x')).rejects.toThrow(NotFoundError);
  });

  it('when the registry records deployments at each start, then a first sight and each change are audited once with before and after, and an unchanged start records nothing', async () => {
    const sha = (c: string) => c.repeat(64);
    const key = `dep-test-${Date.now()}`;
    const first = await store.recordModelDeployments([
      { modelKey: `${key}@1.0.0`, deployment: 'clinical', cardSha256: sha('1') },
      { modelKey: `${key}@2.0.0`, deployment: 'shadow', cardSha256: sha('2') },
    ]);
    expect(first.map((c) => [c.entityId, c.actor, c.payload])).toEqual([
      [`${key}@1.0.0`, 'system:registry', { before: null, after: { deployment: 'clinical' }, cardSha256: sha('1') }],
      [`${key}@2.0.0`, 'system:registry', { before: null, after: { deployment: 'shadow' }, cardSha256: sha('2') }],
    ]);
    expect(await store.recordModelDeployments([{ modelKey: `${key}@1.0.0`, deployment: 'clinical', cardSha256: sha('1') }])).toEqual([]);
    const promoted = await store.recordModelDeployments([
      { modelKey: `${key}@1.0.0`, deployment: 'clinical', cardSha256: sha('1') },
      { modelKey: `${key}@2.0.0`, deployment: 'canary', canary: { sites: ['north'], share: 0.1 }, cardSha256: sha('3') },
    ]);
    expect(promoted.map((c) => c.payload)).toEqual([{ before: { deployment: 'shadow' }, after: { deployment: 'canary', canary: { sites: ['north'], share: 0.1 } }, cardSha256: sha('3'), previousCardSha256: sha('2') }]);
    // The same canary written with its keys in another order is no change.
    expect(await store.recordModelDeployments([{ modelKey: `${key}@2.0.0`, deployment: 'canary', canary: { share: 0.1, sites: ['north'] }, cardSha256: sha('3') }])).toEqual([]);
    const audited = await store.listAudit({ limit: 50, action: 'model.deployment-changed' });
    expect(audited.filter((a) => a.entityId.startsWith(key))).toHaveLength(3);
  });
});
