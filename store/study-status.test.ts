/**
 * A study's status is stored (migration 027), kept by the writes that rank a study and by a
 * review: after every kind of write that moves a study — an image received, an AI results SR,
 * findings, a failure, a review, a patient refusing AI — the stored status is what
 * study_status() computes afresh, and the worklist reads its page through its index instead of
 * every study.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from './db.ts';
import { ALL_SITES, type Store } from './store.ts';
import { worklistStatement } from './study-reads.ts';
import { databaseBackends, openMigratedStore } from './test-backends.ts';
import { finding, newInstance, unranked } from './test-fixtures.ts';
import type { StudyStatus } from './types.ts';

interface PlanNode { 'Node Type': string; 'Relation Name'?: string; 'Index Name'?: string; 'Actual Rows': number; 'Actual Loops': number; Plans?: PlanNode[] }
const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)];

describe.each(databaseBackends({ inMemory: true }))('stored study status on $name', (backend) => {
  let db: Database;
  let store: Store;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ db, store, close } = await openMigratedStore(backend, { prioritise: unranked }));
  });
  afterAll(() => close?.());

  /** The stored status, after checking it is what the study computes afresh, and that the worklist shows it. */
  async function statusOf(study: string): Promise<StudyStatus> {
    const { rows: [row] } = await db.query<{ stored: StudyStatus; fresh: StudyStatus }>(
      'select status as stored, study_status(study_instance_uid) as fresh from studies where study_instance_uid = $1', [study]);
    expect(row.stored).toBe(row.fresh);
    const listed = (await store.getWorklist({ sites: ALL_SITES }, 10_000)).find((w) => w.studyInstanceUid === study);
    expect(listed?.status).toBe(row.stored);
    return row.stored;
  }

  it('when a study receives films, findings, a failure and a review, then after each its stored status is a fresh one', async () => {
    const first = newInstance();
    const study = first.study.studyInstanceUid;
    await store.recordInstance(first, 'test');
    expect(await statusOf(study)).toBe('pending');
    const made = finding(first.sopInstanceUid, 0.9);
    await store.recordFindings(first.sopInstanceUid, [made], 'model:pneumonia-cxr@1.0.0');
    expect(await statusOf(study)).toBe('ready');
    // The AI results SR is received like an image with nothing for AI to do: the study stays where it was.
    await store.recordInstance({ ...first, sopInstanceUid: `${study}.9.1`, seriesInstanceUid: `${study}.9`, modality: 'SR', pendingModels: [] }, 'model:pneumonia-cxr@1.0.0');
    expect(await statusOf(study)).toBe('ready');
    await store.recordReview(made.id, { decision: 'accept', reviewer: 'dr-li' }, ALL_SITES);
    expect(await statusOf(study)).toBe('reviewed');
    // A second film of the same study puts it back in front of the AI, then of a reader.
    const second = newInstance({ study: first.study, seriesInstanceUid: `${study}.2`, sopInstanceUid: `${study}.2.1` });
    await store.recordInstance(second, 'test');
    expect(await statusOf(study)).toBe('pending');
    await store.recordInferenceFailure(second.sopInstanceUid, { id: 'pneumonia-cxr', version: '1.0.0' }, { code: 'DECODE_FAILED', message: 'test' }, 'model:pneumonia-cxr@1.0.0');
    // A failed film beside a reviewed claim: every claim has its decision.
    expect(await statusOf(study)).toBe('reviewed');

    const unread = newInstance();
    await store.recordInstance(unread, 'test');
    await store.recordInferenceFailure(unread.sopInstanceUid, { id: 'pneumonia-cxr', version: '1.0.0' }, { code: 'DECODE_FAILED', message: 'test' }, 'model:pneumonia-cxr@1.0.0');
    expect(await statusOf(unread.study.studyInstanceUid)).toBe('failed');
  });

  it('when a patient refuses AI while a film waits for it, then the study leaves "pending" with its film', async () => {
    const film = newInstance({ study: { ...newInstance().study, patientId: `refuses-${Date.now()}` } });
    await store.recordInstance(film, 'test');
    expect(await statusOf(film.study.studyInstanceUid)).toBe('pending');
    await store.recordConsent({ siteId: film.siteId, patientId: film.study.patientId!, purpose: 'ai-processing', decision: 'refused' }, 'dr-li', ALL_SITES);
    expect(await statusOf(film.study.studyInstanceUid)).toBe('ready');
  });

  it('when 20,000 studies are stored, then the worklist reads its first page through its index, not every study', async () => {
    const tag = `scale-${Date.now()}`;
    await db.query(`insert into studies (study_instance_uid, priority, received_at) select $1 || g, random(), now() - g * interval '1 second' from generate_series(1, 20000) g`, [tag]);
    await db.query('analyze studies');
    const { sql, params } = worklistStatement({ sites: ALL_SITES }, 200);
    const { rows: [explained] } = await db.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] | string }>(`explain (analyze, format json) ${sql}`, params);
    const plan = explained['QUERY PLAN'];
    const studiesRead = nodesOf((typeof plan === 'string' ? JSON.parse(plan) : plan)[0].Plan).filter((n) => n['Relation Name'] === 'studies');
    expect(studiesRead.map((n) => n['Index Name'])).toEqual(['studies_worklist']);
    expect(studiesRead[0]['Actual Rows'] * studiesRead[0]['Actual Loops']).toBeLessThanOrEqual(200);
  });
});
