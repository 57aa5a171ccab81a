/**
 * The study writes rank a study without re-reading it: recordInstance and recordFindings read
 * the snapshot in their own statements and add what their writes change, and recordInstance
 * skips re-ranking for an object that changes nothing triage reads (an AI results SR). Proved against a prioritiser that answers every part of the
 * snapshot in its "why", so any part a write missed would show: after every write the stored
 * ranking is exactly what a fresh re-ranking (reprioritise) stores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudits, auditedTransaction } from './audit.ts';
import type { Database } from './db.ts';
import { ALL_SITES, type Store } from './store.ts';
import { reprioritise } from './studies.ts';
import { databaseBackends, openMigratedStore } from './test-backends.ts';
import { finding, newInstance, notApplicableFinding } from './test-fixtures.ts';
import type { NewInstance, Prioritise } from './types.ts';

/** Every input of triage, in the answer: the snapshot itself is the "why". */
const prioritise: Prioritise = (s) => ({
  priority: (s.instances.any ? 1 : 0) + (s.instances.queued ? 10 : 0) + s.findings.length * 100,
  why: JSON.stringify(s),
  whyZh: JSON.stringify(s.instances),
  detail: { level: s.instances.queued ? 'III' : 'IV' },
});

describe.each(databaseBackends({ inMemory: true }))('study ranking on $name', (backend) => {
  let db: Database;
  let store: Store;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ db, store, close } = await openMigratedStore(backend, { prioritise }));
  });
  afterAll(() => close?.());

  const ranking = async (study: string) => (await db.query<{ priority: number; why: string; why_zh: string; triage: unknown }>(
    'select priority, why, why_zh, triage from studies where study_instance_uid = $1', [study])).rows[0];
  /** The stored ranking, after checking it is what re-ranking the study from scratch stores. */
  async function rankedAsFresh(study: string) {
    const stored = await ranking(study);
    await auditedTransaction(db, (tx) => reprioritise(tx, prioritise, study));
    expect(await ranking(study)).toEqual(stored);
    return stored;
  }
  const sr = (of: NewInstance, n: number): NewInstance => ({
    ...of, sopInstanceUid: `${of.study.studyInstanceUid}.9.${n}`, seriesInstanceUid: `${of.study.studyInstanceUid}.9`, modality: 'SR', pendingModels: [],
    study: { ...of.study, modality: undefined },
  });

  it('when a film, its findings and two AI results SRs arrive, then after each the stored ranking is a fresh one, and an SR changes it not at all', async () => {
    const film = newInstance();
    const study = film.study.studyInstanceUid;
    expect(await store.recordInstance(film, 'test')).toEqual({ status: 'stored', priority: 11 });
    expect(JSON.parse((await rankedAsFresh(study)).why)).toMatchObject({ instances: { any: true, queued: true }, findings: [] });
    await store.recordFindings(film.sopInstanceUid, [finding(film.sopInstanceUid, 0.7)], 'worker');
    const answered = await rankedAsFresh(study);
    expect(answered).toMatchObject({ priority: 101, triage: { level: 'IV' } });
    for (const n of [1, 2]) {
      expect(await store.recordInstance(sr(film, n), 'ai-results')).toEqual({ status: 'stored', priority: 101 });
      expect(await rankedAsFresh(study)).toEqual(answered);
    }
    expect((await store.listAudit({ limit: 10, entityId: sr(film, 2).sopInstanceUid })).map((a) => a.action)).toEqual(['instance.received']);
    expect(await store.verifyAudit()).toMatchObject({ intact: true });
  });

  it('when two models answer two films, leaders change hands, one declines and a job runs twice, then after each answer the stored ranking is a fresh one', async () => {
    const first = newInstance({ pendingModels: ['pneumonia-cxr@1.0.0', 'cxr-pneumonia-adult@2.0.0'] });
    const study = first.study.studyInstanceUid;
    const second = { ...first, sopInstanceUid: `${study}.1.2` };
    const adult = (sop: string, probability: number, label = 'pneumonia') => ({
      ...finding(sop, probability), id: `f-${sop}-adult-${label}`, label, refer: probability > 0.4 && probability < 0.6,
      model: { ...finding(sop).model, id: 'cxr-pneumonia-adult', version: '2.0.0' },
    });
    const declined = (sop: string) => notApplicableFinding(sop, { code: 'age', text: 'adult', textZh: '成人' });
    await store.recordInstance(first, 'test');
    await store.recordInstance(second, 'test');
    const answers: [string, ReturnType<typeof finding>[]][] = [
      [first.sopInstanceUid, [declined(first.sopInstanceUid)]],
      [first.sopInstanceUid, [adult(first.sopInstanceUid, 0.45), adult(first.sopInstanceUid, 0.2, 'effusion')]],
      [second.sopInstanceUid, [declined(second.sopInstanceUid)]],
      [second.sopInstanceUid, [adult(second.sopInstanceUid, 0.48), adult(second.sopInstanceUid, 0.3, 'effusion')]],
      [first.sopInstanceUid, [adult(first.sopInstanceUid, 0.45), adult(first.sopInstanceUid, 0.2, 'effusion')]],
    ];
    for (const [sop, findings] of answers) {
      await store.recordFindings(sop, findings, 'worker');
      await rankedAsFresh(study);
    }
    const snapshot = JSON.parse((await ranking(study)).why);
    expect(snapshot.instances).toEqual({ any: true, queued: false });
    expect(snapshot.findings.map((f: { label: string; probability: number | null }) => [f.label, f.probability]))
      .toEqual([['effusion', 0.3], ['pneumonia', 0.48], ['pneumonia', null]]);
    expect(await store.verifyAudit()).toMatchObject({ intact: true });
  });

  it('when films, SRs and other records are written at once, then each instance has one record and the chain, planned on the head read with the lock, verifies', async () => {
    const films = Array.from({ length: 6 }, () => newInstance());
    await Promise.all([
      ...films.flatMap((film, n) => [store.recordInstance(film, 'test'), store.recordInstance(sr(film, n), 'ai-results'), store.recordInstance(film, 'test')]),
      ...films.map((film) => auditedTransaction(db, (tx) => appendAudits(tx, [{ actor: 'test', action: 'test.noted', entityType: 'study', entityId: film.study.studyInstanceUid, payload: {} }]))),
    ]);
    for (const [n, film] of films.entries()) {
      for (const sop of [film.sopInstanceUid, sr(film, n).sopInstanceUid]) expect((await store.listAudit({ limit: 5, entityId: sop })).map((a) => a.action)).toEqual(['instance.received']);
      await rankedAsFresh(film.study.studyInstanceUid);
    }
    expect(await store.verifyAudit()).toMatchObject({ intact: true });
  });

  it('when an SR is a study\'s first object, then it ranks the study (it now has an image-less instance), and a film after it is ranked as awaiting AI', async () => {
    const film = newInstance();
    const study = film.study.studyInstanceUid;
    expect(await store.recordInstance(sr(film, 1), 'test')).toEqual({ status: 'stored', priority: 1 });
    expect(JSON.parse((await rankedAsFresh(study)).why)).toMatchObject({ instances: { any: true, queued: false } });
    expect(await store.recordInstance(film, 'test')).toEqual({ status: 'stored', priority: 11 });
    await rankedAsFresh(study);
    expect((await store.getStudy(study, ALL_SITES)).study.modality).toBe('CR');
  });

  it('when a second film awaiting AI arrives in a study whose first is answered, then the study is awaiting AI again, as a fresh ranking says', async () => {
    const first = newInstance();
    const study = first.study.studyInstanceUid;
    await store.recordInstance(first, 'test');
    await store.recordFindings(first.sopInstanceUid, [finding(first.sopInstanceUid, 0.7)], 'worker');
    const second = { ...first, sopInstanceUid: `${study}.1.2` };
    expect(await store.recordInstance(second, 'test')).toEqual({ status: 'stored', priority: 111 });
    expect(await rankedAsFresh(study)).toMatchObject({ priority: 111, triage: { level: 'III' } });
    // A film no model applies to (none pending) changes nothing, like an SR.
    expect(await store.recordInstance({ ...first, sopInstanceUid: `${study}.1.3`, pendingModels: [] }, 'test')).toEqual({ status: 'stored', priority: 111 });
    await rankedAsFresh(study);
  });
});
