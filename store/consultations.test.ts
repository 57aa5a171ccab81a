/**
 * Consultations in the store: a township asks the county that reads for it; the rules of
 * asking refuse with nothing written; the queue is ordered by triage level then the clock; each
 * step is once-only, taken by the right side, audited and announced; a site's policy opens a
 * case on its own when the reader overrides the AI or the AI is not confident — once per study.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONSULTATION_SLA_MINUTES, type ConsultationChange, type ConsultationRequest } from '../contract/consultations.ts';
import type { Database } from './db.ts';
import { ALL_SITES, ConsultationRefusedError, InvalidReferenceError, NotFoundError, type ConsultationActor, type Store } from './store.ts';
import { databaseBackends, openMigratedStore } from './test-backends.ts';
import { finding, newInstance, notApplicableFinding } from './test-fixtures.ts';
import type { Prioritise } from './types.ts';

/** A study's triage level is what its assessment says (`{ level }`), as the real policy would conclude. */
const prioritise: Prioritise = (s) => ({
  priority: 50, why: 'test', whyZh: '测试',
  detail: (s.clinical as { level?: string } | undefined)?.level ? { level: (s.clinical as { level: string }).level } : undefined,
});

// The in-memory PGlite, and PostgreSQL when configured: the SQL is what is tested, not the wire.
const backends = databaseBackends({ inMemory: true }).filter((b) => b.name !== 'PGlite served over the wire protocol');

describe.each(backends)('consultations on $name', (backend) => {
  let db: Database;
  let store: Store;
  let close: (() => Promise<void>) | undefined;
  const announced: ConsultationChange[] = [];
  /** A township doctor of T, a county radiologist of C (C reads for T), a doctor of X (a township C does not read for). */
  const townshipDoctor: ConsultationActor = { username: 'dr-zhao', sites: ['town-t'], scope: ['town-t'] };
  const countyReader: ConsultationActor = { username: 'dr-wang', sites: ['county-c'], scope: ['county-c', 'town-t'] };
  const otherDoctor: ConsultationActor = { username: 'dr-sun', sites: ['town-x'], scope: ['town-x'] };

  const ask = (overrides: Partial<ConsultationRequest> = {}, by = townshipDoctor) => store.askConsultation({
    toSiteId: 'county-c', subject: { kind: 'vitals', patientId: 'P-1' }, question: 'SpO2 falling at home; admit?', urgency: 'urgent', patientConsented: true, ...overrides,
  }, by);
  /** A study of `siteId`, with its triage level when given. */
  async function study(siteId: string, level?: string) {
    const input = newInstance({ siteId });
    await store.recordInstance(input, 'test');
    if (level) await store.recordClinical(input.study.studyInstanceUid, { level }, 'test', ALL_SITES);
    return input;
  }
  const count = async (table: string) => Number((await db.query<{ n: number }>(`select count(*)::int as n from ${table}`)).rows[0].n);
  const actions = async (entityId: string) => (await store.listAudit({ limit: 50, entityId })).map((a) => a.action).reverse();
  const refusal = (promise: Promise<unknown>) => promise.then(() => { throw new Error('not refused'); }, (error: unknown) => error);

  beforeAll(async () => {
    ({ db, store, close } = await openMigratedStore(backend, { prioritise, onConsultation: (change) => announced.push(change) }));
    await store.createSite({ id: 'county-c', name: 'County C hospital', level: 'county' }, 'admin');
    await store.createSite({ id: 'town-t', name: 'Township T clinic', level: 'township', parentId: 'county-c' }, 'admin');
    await store.createSite({ id: 'town-x', name: 'Township X clinic', level: 'township', parentId: 'county-c' }, 'admin');
    await db.query(`insert into site_reading (reader_site_id, read_site_id) values ('county-c', 'town-t')`);
  });
  afterAll(() => close?.());

  it('when a township doctor asks about a study, then the case holds the study\'s triage level and the SLA clock, and is audited with the consent attestation and announced', async () => {
    const { study: { studyInstanceUid } } = await study('town-t', 'II');
    const before = Date.now();
    const asked = await ask({ subject: { kind: 'study', studyInstanceUid } });
    expect(asked).toMatchObject({ fromSiteId: 'town-t', toSiteId: 'county-c', origin: 'asked', askedBy: 'dr-zhao', status: 'open', triageLevel: 'II', urgency: 'urgent' });
    expect(asked.sla.targetMinutes).toBe(DEFAULT_CONSULTATION_SLA_MINUTES.urgent);
    expect(Date.parse(asked.sla.dueAt) - Date.parse(asked.askedAt)).toBe(DEFAULT_CONSULTATION_SLA_MINUTES.urgent * 60_000);
    expect(Date.parse(asked.askedAt)).toBeGreaterThanOrEqual(before - 5_000);
    expect(asked.sla.breached).toBe(false);
    expect(asked.aiAssisted).toMatch(/AI-assisted/);
    const [record] = await store.listAudit({ limit: 1, entityId: asked.id });
    expect(record).toMatchObject({ actor: 'dr-zhao', action: 'consultation.asked', payload: { patientConsented: true, subject: { kind: 'study', studyInstanceUid }, toSiteId: 'county-c', triageLevel: 'II' } });
    expect(announced.at(-1)).toEqual({ type: 'consultation', id: asked.id, change: 'asked', fromSiteId: 'town-t', toSiteId: 'county-c' });
  });

  it('when a rule of asking is broken, then a specific refusal comes back and nothing is written', async () => {
    const cases = await count('consultations');
    const records = await count('audit');
    const foreign = await study('town-x');
    const ownButOtherSite = await study('county-c');
    const refusals = [
      await refusal(ask({ toSiteId: 'town-x' })),
      await refusal(ask({ fromSiteId: 'county-c' })),
      await refusal(ask({ subject: { kind: 'study', studyInstanceUid: foreign.study.studyInstanceUid } })),
      await refusal(ask({ subject: { kind: 'study', studyInstanceUid: ownButOtherSite.study.studyInstanceUid } }, { ...townshipDoctor, scope: ['town-t', 'county-c'] })),
      await refusal(ask({ toSiteId: 'county-c' }, otherDoctor)),
    ];
    expect(refusals.map((e) => (e instanceof ConsultationRefusedError ? `${e.status} ${e.code} ${e.field}` : e instanceof NotFoundError ? 'not found' : String(e)))).toEqual([
      '422 NOT_A_READING_SITE toSiteId', '422 NOT_YOUR_SITE fromSiteId', 'not found', '422 STUDY_OF_ANOTHER_SITE subject.studyInstanceUid', '422 NOT_A_READING_SITE toSiteId',
    ]);
    expect((refusals[0] as Error).message).toMatch(/county|town-x/);
    expect((refusals[0] as Error).message).toContain('town-t');
    expect(await count('consultations')).toBe(cases);
    // Only the two studies' own records were added.
    expect(await count('audit')).toBe(records + 2);
  });

  it('when cases of several levels wait, then the county\'s queue orders them I before IV, unknown last, then by due time, answered ones after; the township sees them in its asked box', async () => {
    const before = (await store.listConsultations({ box: 'queue', limit: 200 }, countyReader.scope)).length;
    const levels = ['IV', undefined, 'I', 'II'] as const;
    const made: Record<string, string> = {};
    for (const level of levels) {
      const { study: s } = await study('town-t', level);
      made[level ?? 'unknown'] = (await ask({ subject: { kind: 'study', studyInstanceUid: s.studyInstanceUid }, urgency: 'routine' })).id;
    }
    // The same level: the one due first comes first (emergency 30 min before routine 24 h).
    const emergencyIv = (await ask({ subject: { kind: 'study', studyInstanceUid: (await study('town-t', 'IV')).study.studyInstanceUid }, urgency: 'emergency' })).id;
    const queue = await store.listConsultations({ box: 'queue', limit: 200 }, countyReader.scope);
    expect(queue).toHaveLength(before + 5);
    const ours = queue.map((c) => c.id).filter((id) => [...Object.values(made), emergencyIv].includes(id));
    expect(ours).toEqual([made.I, made.II, emergencyIv, made.IV, made.unknown]);
    await store.answerConsultation(made.I, { impression: 'clear', recommendation: 'treat-locally', urgency: 'routine' }, countyReader);
    const after = (await store.listConsultations({ box: 'queue', status: ['open', 'in-review', 'answered'], limit: 200 }, countyReader.scope)).map((c) => c.id);
    expect(after.indexOf(made.I)).toBeGreaterThan(after.indexOf(made.unknown));
    expect((await store.listConsultations({ box: 'queue', status: ['answered'], limit: 200 }, countyReader.scope)).map((c) => c.id)).toContain(made.I);
    expect((await store.listConsultations({ box: 'asked', limit: 200 }, townshipDoctor.scope)).map((c) => c.id)).toEqual(expect.arrayContaining(ours));
    expect(await store.listConsultations({ box: 'queue', limit: 200 }, townshipDoctor.scope)).toEqual([]);
    expect(await store.listConsultations({ box: 'asked', limit: 200 }, otherDoctor.scope)).toEqual([]);
    await expect(store.listConsultations({ box: 'queue', siteId: 'town-x', limit: 10 }, countyReader.scope)).rejects.toThrow(NotFoundError);
  });

  it('when the county opens and answers, then the first open is in review and audited once, a second answer is refused, and each side may take only its own steps', async () => {
    const asked = await ask();
    await expect(store.getConsultation(asked.id, otherDoctor.scope)).rejects.toThrow(NotFoundError);
    expect(await refusal(store.openConsultation(asked.id, townshipDoctor))).toMatchObject({ status: 403, code: 'NOT_THE_ANSWERING_SITE' });
    const opened = await store.openConsultation(asked.id, countyReader);
    expect(opened).toMatchObject({ status: 'in-review', openedBy: 'dr-wang' });
    expect((await store.openConsultation(asked.id, { ...countyReader, username: 'dr-qian' })).openedBy).toBe('dr-wang');
    expect(await refusal(store.answerConsultation(asked.id, { impression: 'x', recommendation: 'refer', urgency: 'urgent' }, townshipDoctor))).toMatchObject({ status: 403 });
    const answered = await store.answerConsultation(asked.id, { impression: 'Likely pneumonia', recommendation: 'refer', urgency: 'urgent', text: 'Send to county ED today.' }, countyReader);
    expect(answered).toMatchObject({ status: 'answered', opinion: { impression: 'Likely pneumonia', recommendation: 'refer', answeredBy: 'dr-wang' }, sla: { breached: false } });
    expect(await refusal(store.answerConsultation(asked.id, { impression: 'again', recommendation: 'follow-up', urgency: 'routine' }, countyReader))).toMatchObject({ status: 409, code: 'CONSULTATION_ANSWERED' });
    expect(await refusal(store.withdrawConsultation(asked.id, townshipDoctor))).toMatchObject({ status: 409 });
    expect((await store.getConsultation(asked.id, townshipDoctor.scope)).opinion?.impression).toBe('Likely pneumonia');
    expect(await actions(asked.id)).toEqual(['consultation.asked', 'consultation.opened', 'consultation.answered']);
    expect(announced.filter((c) => c.id === asked.id).map((c) => c.change)).toEqual(['asked', 'opened', 'answered']);
  });

  it('when two consultants answer at once, then one answer stands, the other is refused, and one record is written', async () => {
    const asked = await ask();
    const outcomes = await Promise.allSettled(['dr-wang', 'dr-qian'].map((username) =>
      store.answerConsultation(asked.id, { impression: `by ${username}`, recommendation: 'follow-up', urgency: 'routine' }, { ...countyReader, username })));
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ status: 409, code: 'CONSULTATION_ANSWERED' });
    const kept = await store.getConsultation(asked.id, countyReader.scope);
    expect(kept.opinion?.impression).toBe(`by ${kept.opinion?.answeredBy}`);
    expect(await actions(asked.id)).toEqual(['consultation.asked', 'consultation.answered']);
  });

  it('when the asker withdraws, then the county can no longer answer; the county cannot withdraw for it', async () => {
    const asked = await ask();
    expect(await refusal(store.withdrawConsultation(asked.id, countyReader))).toMatchObject({ status: 403, code: 'NOT_THE_ASKING_SITE' });
    expect(await store.withdrawConsultation(asked.id, townshipDoctor)).toMatchObject({ status: 'withdrawn', withdrawnBy: 'dr-zhao' });
    expect(await refusal(store.answerConsultation(asked.id, { impression: 'x', recommendation: 'refer', urgency: 'urgent' }, countyReader))).toMatchObject({ status: 409, code: 'CONSULTATION_WITHDRAWN' });
    expect(await actions(asked.id)).toEqual(['consultation.asked', 'consultation.withdrawn']);
  });

  it('when the county\'s policy shortens its SLA, then new cases are due by it, and a case past due reads as breached', async () => {
    await store.setConsultationPolicy('county-c', { routeOnDisagreement: false, routeOnLowConfidence: false, slaMinutes: { emergency: 10, urgent: 45, routine: 600 } }, 'admin');
    const asked = await ask();
    expect(asked.sla.targetMinutes).toBe(45);
    expect(Date.parse(asked.sla.dueAt) - Date.parse(asked.askedAt)).toBe(45 * 60_000);
    await db.query(`update consultations set due_at = now() - interval '1 minute' where id = $1`, [asked.id]);
    expect((await store.getConsultation(asked.id, countyReader.scope)).sla.breached).toBe(true);
    const answered = await store.answerConsultation(asked.id, { impression: 'late', recommendation: 'follow-up', urgency: 'routine' }, countyReader);
    expect(answered.sla.breached).toBe(true);
    const [record] = await store.listAudit({ limit: 1, entityId: 'county-c', action: 'consultation.policy-set' });
    expect(record.payload).toMatchObject({ before: { slaMinutes: DEFAULT_CONSULTATION_SLA_MINUTES }, after: { slaMinutes: { urgent: 45 } } });
    await store.setConsultationPolicy('county-c', { routeOnDisagreement: false, routeOnLowConfidence: false, slaMinutes: DEFAULT_CONSULTATION_SLA_MINUTES }, 'admin');
  });

  it('when a policy routes to a site that does not read for it, then it is refused', async () => {
    await expect(store.setConsultationPolicy('town-x', { routeToSiteId: 'county-c', routeOnDisagreement: true, routeOnLowConfidence: false, slaMinutes: DEFAULT_CONSULTATION_SLA_MINUTES }, 'admin'))
      .rejects.toThrow(InvalidReferenceError);
    await expect(store.consultationPolicy('no-such-site')).rejects.toThrow(NotFoundError);
  });

  describe('routed by site policy', () => {
    beforeAll(async () => {
      await store.setConsultationPolicy('town-t', { routeToSiteId: 'county-c', routeOnDisagreement: true, routeOnLowConfidence: true, slaMinutes: DEFAULT_CONSULTATION_SLA_MINUTES }, 'admin');
    });
    const routedFor = async (studyInstanceUid: string) =>
      (await db.query<{ id: string; origin: string; asked_by: string; urgency: string; question: string }>('select * from consultations where study_instance_uid = $1 and origin <> $2', [studyInstanceUid, 'asked'])).rows;

    it('when a township reader overrides an AI finding, then one case goes to the county with the finding, the AI\'s call and the decision; overriding again opens no second', async () => {
      const input = await study('town-t', 'I');
      await store.recordFindings(input.sopInstanceUid, [finding(input.sopInstanceUid, 0.91)], 'model:pneumonia-cxr@1.0.0');
      const f = finding(input.sopInstanceUid).id;
      await store.recordReview(f, { decision: 'accept', reviewer: 'dr-zhao' }, ['town-t']);
      expect(await routedFor(input.study.studyInstanceUid)).toEqual([]);
      await store.recordReview(f, { decision: 'override', reasonCode: 'false-positive', reviewer: 'dr-zhao' }, ['town-t']);
      await store.recordReview(f, { decision: 'override', reasonCode: 'false-positive', reviewer: 'dr-zhao' }, ['town-t']);
      const routed = await routedFor(input.study.studyInstanceUid);
      expect(routed).toHaveLength(1);
      expect(routed[0]).toMatchObject({ origin: 'ai-reader-disagreement', asked_by: 'policy:town-t', urgency: 'emergency' });
      expect(routed[0].question).toMatch(/Pneumonia.*positive, p=0\.91.*dr-zhao overrode it \(false-positive\)/);
      expect(routed[0].question).toMatch(/阳性/);
      const [record] = await store.listAudit({ limit: 1, entityId: routed[0].id });
      expect(record).toMatchObject({ actor: 'policy:town-t', action: 'consultation.asked', payload: { origin: 'ai-reader-disagreement', because: { findingId: f, reviewer: 'dr-zhao' } } });
      expect(announced.filter((c) => c.id === routed[0].id)).toEqual([{ type: 'consultation', id: routed[0].id, change: 'asked', fromSiteId: 'town-t', toSiteId: 'county-c' }]);
    });

    it('when the AI lands in its refer band, then one case opens however often the job runs; a "not applicable" beside an answer routes nothing, an image no model could read does', async () => {
      const referred = await study('town-t', 'III');
      const inBand = { ...finding(referred.sopInstanceUid, 0.48), refer: true };
      await store.recordFindings(referred.sopInstanceUid, [inBand], 'model:pneumonia-cxr@1.0.0');
      await store.recordFindings(referred.sopInstanceUid, [inBand], 'model:pneumonia-cxr@1.0.0');
      expect(await routedFor(referred.study.studyInstanceUid)).toEqual([expect.objectContaining({ origin: 'ai-low-confidence', urgency: 'urgent' })]);

      const note = { code: 'AGE_OUTSIDE', text: 'adult patient', textZh: '成人患者' };
      const answeredToo = await study('town-t');
      const other = { ...notApplicableFinding(answeredToo.sopInstanceUid, note), id: `na-${answeredToo.sopInstanceUid}`, model: { ...finding('x').model, id: 'paediatric' } };
      await db.query(`update instances set pending_models = '{pneumonia-cxr@1.0.0,paediatric@1.0.0}' where sop_instance_uid = $1`, [answeredToo.sopInstanceUid]);
      await store.recordFindings(answeredToo.sopInstanceUid, [other], 'model:paediatric@1.0.0');
      await store.recordFindings(answeredToo.sopInstanceUid, [finding(answeredToo.sopInstanceUid, 0.1)], 'model:pneumonia-cxr@1.0.0');
      expect(await routedFor(answeredToo.study.studyInstanceUid)).toEqual([]);

      const unread = await study('town-t');
      await store.recordFindings(unread.sopInstanceUid, [notApplicableFinding(unread.sopInstanceUid, note)], 'model:pneumonia-cxr@1.0.0');
      const [routed] = await routedFor(unread.study.studyInstanceUid);
      expect(routed).toMatchObject({ origin: 'ai-low-confidence', urgency: 'routine' });
      expect(routed.question).toMatch(/not applicable \(adult patient\)/);
      expect(routed.question).toMatch(/成人患者/);
    });

    it('when a shadow run lands in its refer band, then nothing is routed, however often the job runs: no clinician sees a shadow run', async () => {
      const shadowed = await study('town-t', 'III');
      const nextVersion = { ...finding(shadowed.sopInstanceUid, 0.48), refer: true, id: `next-${shadowed.sopInstanceUid}`, model: { ...finding('x').model, version: '2.0.0' } };
      await store.recordShadowFindings(shadowed.sopInstanceUid, [nextVersion], 'model:pneumonia-cxr@2.0.0');
      await store.recordShadowFindings(shadowed.sopInstanceUid, [nextVersion], 'model:pneumonia-cxr@2.0.0');
      expect(await routedFor(shadowed.study.studyInstanceUid)).toEqual([]);
    });

    it('when the site is a county, or its policy is off, then nothing is routed', async () => {
      const county = await study('county-c');
      await store.recordFindings(county.sopInstanceUid, [{ ...finding(county.sopInstanceUid, 0.48), refer: true }], 'model:pneumonia-cxr@1.0.0');
      expect(await routedFor(county.study.studyInstanceUid)).toEqual([]);
      await store.setConsultationPolicy('town-t', { routeToSiteId: 'county-c', routeOnDisagreement: false, routeOnLowConfidence: false, slaMinutes: DEFAULT_CONSULTATION_SLA_MINUTES }, 'admin');
      const off = await study('town-t');
      await store.recordFindings(off.sopInstanceUid, [{ ...finding(off.sopInstanceUid, 0.48), refer: true }], 'model:pneumonia-cxr@1.0.0');
      await store.recordReview(finding(off.sopInstanceUid).id, { decision: 'override', reasonCode: 'false-positive', reviewer: 'dr-zhao' }, ['town-t']);
      expect(await routedFor(off.study.studyInstanceUid)).toEqual([]);
    });
  });
});
