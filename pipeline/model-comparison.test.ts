import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wilson, Z95 } from '../inference/proportion.ts';
import type { Database } from '../store/db.ts';
import { migrate } from '../store/migrate.ts';
import type { ModelComparisonQuery } from '../store/model-comparison.ts';
import type { FindingInput } from '../store/types.ts';
import { ALL_SITES, createStore, type Store } from '../store/store.ts';
import { databaseBackends } from '../store/test-backends.ts';
import { finding, newInstance, notApplicableFinding } from '../store/test-fixtures.ts';
import { cohensKappa, compareModels, promotion } from './model-comparison.ts';

const [backend] = databaseBackends({ inMemory: true });
const incumbent = { id: 'pneumonia-cxr', version: '1.0.0' };
const candidate = { id: 'pneumonia-cxr', version: '1.1.0' };
const query: ModelComparisonQuery = { a: incumbent, b: candidate, label: 'pneumonia', limit: 1000 };

/**
 * Eight studies read by both versions (S1–S8), one by the incumbent only and one by another
 * model: every number below is counted by hand from this table.
 *
 *   study patient  incumbent  candidate  reader (latest word)                    week of decision
 *   S1    P1       +          +          accept of +                 → positive  2026-11-16
 *   S2    P1       +          −          accept, then override FP    → negative  2026-11-16
 *   S3    P2       −          −          accept of −                 → negative  2026-11-23
 *   S4    P3       −          +          added a pneumonia           → positive  2026-11-23
 *   S5    P4       +          +          override wrong location     → positive  2026-11-23
 *   S6    P5       +          −          none                        → undecided
 *   S7    P6       −          n/a (OOD)  accept of −                 → negative  2026-11-23
 *   S8    P7       +          +          override poor image quality → no word
 */
describe('comparing two versions of a model on the same studies', () => {
  let db: Database;
  let store: Store;
  const uids: string[] = [];

  async function study(n: number, patientId: string, a: number | null, b: number | null | 'ood', options: { bMs?: number } = {}) {
    const input = newInstance();
    input.study.patientId = patientId;
    await store.recordInstance(input, 'test');
    const sop = input.sopInstanceUid;
    const made: FindingInput[] = [];
    if (a !== null) made.push({ ...finding(sop, a), id: `a-${sop}`, model: { ...finding(sop).model, ...incumbent }, timingMs: { queueWait: 1000, parse: 4, inference: 6 } });
    if (b === 'ood') {
      made.push({ ...notApplicableFinding(sop, { code: 'OUT_OF_DISTRIBUTION', text: 'unlike the training images', textZh: '与训练图像不同' }), id: `b-${sop}`, model: { ...finding(sop).model, ...candidate }, timingMs: { inference: 20 } });
    } else if (b !== null) {
      made.push({ ...finding(sop, b), id: `b-${sop}`, model: { ...finding(sop).model, ...candidate }, timingMs: { inference: options.bMs ?? 20 } });
    }
    for (const one of made) await store.recordFindings(sop, [one], 'worker'); // one job per model
    await db.query('update findings set created_at = $2 where sop_instance_uid = $1', [sop, `2026-11-${String(n + 9).padStart(2, '0')}T08:00:00Z`]);
    uids[n] = input.study.studyInstanceUid;
    return { aId: `a-${sop}`, bId: `b-${sop}`, sop, uid: input.study.studyInstanceUid };
  }
  const review = async (findingId: string, decision: 'accept' | 'override', at: string, reasonCode?: string) => {
    await store.recordReview(findingId, { decision, reasonCode, reviewer: 'dr-li' }, ALL_SITES);
    await db.query('update reviews set created_at = $2 where id = (select max(id) from reviews where finding_id = $1)', [findingId, at]);
  };

  const compared = async (q: ModelComparisonQuery) => {
    const answer = await compareModels(store, q);
    if (answer.tooMany) throw new Error('too many studies');
    return answer;
  };

  beforeAll(async () => {
    db = await backend.open();
    await migrate(db);
    store = createStore(db, { prioritise: () => ({ priority: 0, why: '', whyZh: '' }) });
    const s1 = await study(1, 'P1', 0.8, 0.9);
    const s2 = await study(2, 'P1', 0.7, 0.3);
    const s3 = await study(3, 'P2', 0.2, 0.1);
    const s4 = await study(4, 'P3', 0.3, 0.6, { bMs: 40 });
    const s5 = await study(5, 'P4', 0.9, 0.8);
    await study(6, 'P5', 0.6, 0.4);
    const s7 = await study(7, 'P6', 0.1, 'ood');
    const s8 = await study(8, 'P7', 0.9, 0.9);
    await study(9, 'P8', 0.9, null);
    const other = await study(10, 'P9', null, null);
    await store.recordFindings(other.sop, [{ ...finding(other.sop, 0.9), id: 'other', model: { ...finding(other.sop).model, id: 'cxr-pneumonia-adult' } }], 'worker');

    await review(s1.aId, 'accept', '2026-11-17T09:00:00Z');
    await review(s2.aId, 'accept', '2026-11-18T09:00:00Z');
    await review(s2.aId, 'override', '2026-11-18T10:00:00Z', 'false-positive');
    await review(s3.aId, 'accept', '2026-11-24T09:00:00Z');
    await store.recordReaderFinding(s4.uid, { label: 'pneumonia', reviewer: 'dr-li' }, ALL_SITES);
    await db.query(`update reader_findings set created_at = '2026-11-25T09:00:00Z' where study_instance_uid = $1`, [s4.uid]);
    await review(s5.aId, 'override', '2026-11-25T10:00:00Z', 'wrong-location');
    await review(s7.aId, 'accept', '2026-11-26T09:00:00Z');
    await review(s8.aId, 'override', '2026-11-26T10:00:00Z', 'poor-image-quality');
    // The candidate ran in shadow on S1–S4 (as a shadow run stores it: findings.deployment), clinical on the rest.
    await db.query(`update findings set deployment = 'shadow' where id = any($1)`, [[s1.bId, s2.bId, s3.bId, s4.bId]]);
  });
  afterAll(async () => {
    await db?.close();
    await backend.afterClose?.();
  });

  it('when both versions read eight studies, then the store returns those eight, oldest first, with the reader\'s word as the table says', async () => {
    const rows = await store.modelComparisonStudies(query);
    expect(rows.map((r) => r.studyInstanceUid)).toEqual(uids.slice(1, 9));
    expect(rows.map((r) => r.readerSaysPositive)).toEqual([true, false, false, true, true, null, false, null]);
    expect(rows.map((r) => r.patientKey)).toEqual(['P1', 'P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7']);
    expect(rows[6].b).toEqual({ applicable: false, positive: false, notApplicableCode: 'OUT_OF_DISTRIBUTION', processingMs: [20], shadow: false });
    expect(rows[0].a).toEqual({ applicable: true, positive: true, notApplicableCode: null, processingMs: [10], shadow: false }); // the queue wait left out
    expect(rows.map((r) => r.b.shadow)).toEqual([true, true, true, true, false, false, false, false]);
    expect(rows[3].decidedAt).toBe('2026-11-25T09:00:00.000Z');
  });

  it('then the 2×2 table, kappa, each one\'s agreement with readers, weeks, rates and latency are the hand-counted ones', async () => {
    const { comparison } = await compared(query);
    expect(comparison).toMatchObject({ studies: 8, bothAnswered: 7, bothPositive: 3, bothNegative: 1, onlyAPositive: 2, onlyBPositive: 1 });
    // po = 4/7, pe = 5/7·4/7 + 2/7·3/7 = 26/49: kappa = (28 − 26)/(49 − 26) = 2/23.
    const se = Math.sqrt((4 / 7) * (3 / 7)) / ((23 / 49) * Math.sqrt(7));
    expect(comparison.kappa!.value).toBeCloseTo(2 / 23, 12);
    expect(comparison.kappa!.ci95[0]).toBeCloseTo(2 / 23 - Z95 * se, 12);
    expect(comparison.kappa!.ci95[1]).toBeCloseTo(2 / 23 + Z95 * se, 12);
    expect(comparison.a).toMatchObject({ studies: 8, shadowStudies: 0, notApplicable: 0, outOfDistribution: 0, latencyMs: { p50: 10, p95: 10 }, readerAgreement: wilson(4, 6) });
    expect(comparison.b).toMatchObject({ studies: 8, shadowStudies: 4, notApplicable: 1, outOfDistribution: 1, latencyMs: { p50: 20, p95: 40 }, readerAgreement: wilson(5, 5) });
    expect(comparison.byWeek).toEqual([
      { week: '2026-11-16', decided: 2, aAgreed: 1, bAgreed: 2 },
      { week: '2026-11-23', decided: 3, aAgreed: 2, bAgreed: 3 },
    ]);
    expect(comparison.disagreements.map((d) => [d.studyInstanceUid, d.aPositive, d.bPositive, d.readerSaysPositive])).toEqual([
      [uids[6], true, false, null], [uids[4], false, true, true], [uids[2], true, false, false],
    ]);
  });

  it('then the promotion checklist counts five decided cases, a difference of 0.4 with a bootstrap interval over patients, and fails what it should', async () => {
    const { studies, comparison } = await compared(query);
    const p = promotion(studies, comparison);
    expect(p).toMatchObject({ decidedCases: 5, readerPositives: 3, candidateAgreement: wilson(5, 5), incumbentAgreement: wilson(3, 5) });
    expect(p.difference!.value).toBeCloseTo(0.4, 12);
    // Every patient's own difference is 0 or positive (the candidate never did worse), so every resample is in [0, 1].
    const [low, high] = p.difference!.ci95;
    expect(low).toBeGreaterThanOrEqual(0);
    expect(low).toBeLessThan(0.4);
    expect(high).toBeGreaterThan(0.4);
    expect(high).toBeLessThanOrEqual(1);
    expect(promotion(studies, comparison).difference).toEqual(p.difference); // seeded: the same page twice
    expect(Object.fromEntries(p.checks.map((c) => [c.id, c.pass]))).toEqual({
      'decided-cases': false, // 5 < 100
      'reader-agreement': true, // low ≥ −0.02
      latency: false, // p95 40 > 1.5 × 10
      'not-applicable': false, // 1/8 − 0 > 0.05
    });
  });

  it('when more studies match than a comparison reads, then it says so and summarises nothing', async () => {
    expect(await compareModels(store, query, 7)).toEqual({ tooMany: true });
    expect((await compareModels(store, query, 8)).tooMany).toBe(false);
    expect(await store.modelComparisonStudies({ ...query, limit: 3 })).toHaveLength(3);
  });

  it('when the window starts on 14 November, then only studies whose findings were made from then count', async () => {
    const { comparison } = await compared({ ...query, from: new Date('2026-11-14T00:00:00Z') });
    expect(comparison.studies).toBe(4); // S5–S8
  });

  it('when the two tables agree perfectly by chance alone, then kappa is null rather than a division by zero', () => {
    expect(cohensKappa(4, 0, 0, 0)).toBeNull();
    expect(cohensKappa(0, 0, 0, 0)).toBeNull();
    expect(cohensKappa(5, 0, 0, 5)).toEqual({ value: 1, ci95: [1, 1] });
  });
});
