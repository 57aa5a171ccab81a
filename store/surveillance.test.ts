import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from './db.ts';
import { databaseBackends, openMigratedStore } from './test-backends.ts';
import { ALL_SITES, NotFoundError, type Store } from './store.ts';
import type { CountDefinitions, SurveillanceAlertInput } from './surveillance.ts';
import { finding, newInstance, notApplicableFinding } from './test-fixtures.ts';
import type { Prioritise } from './types.ts';

const prioritise: Prioritise = () => ({ priority: 0, why: '', whyZh: '' });

/** PGlite in memory (and PostgreSQL when configured): the served PGlite adds nothing here but a second database. */
const backends = databaseBackends({ inMemory: true }).filter((b) => !b.name.includes('served'));

const definitions: CountDefinitions = { timeZone: 'Asia/Shanghai', clinicalModels: ['pneumonia-cxr'], feverCelsius: 38.0, tachypnoeaPerMin: 21 };

describe.each(backends)('surveillance counts and alerts on $name', (backend) => {
  let db: Database;
  let store: Store;
  let close: (() => Promise<void>) | undefined;

  /** A study received at `at` (UTC) at `site`, with the pneumonia model's finding of `probability` (none when undefined). */
  async function study(site: string, at: string, probability?: number, options: { model?: string; notApplicable?: boolean; patientId?: string } = {}) {
    const input = newInstance({ siteId: site });
    input.study.patientId = options.patientId;
    await store.recordInstance(input, 'test');
    await db.query('update studies set received_at = $2 where study_instance_uid = $1', [input.study.studyInstanceUid, at]);
    if (probability !== undefined) {
      const made = options.notApplicable
        ? notApplicableFinding(input.sopInstanceUid, { code: 'AGE', text: 'outside the age range', textZh: '超出年龄范围' })
        : finding(input.sopInstanceUid, probability);
      if (options.model) made.model = { ...made.model, id: options.model };
      await store.recordFindings(input.sopInstanceUid, [made], 'worker');
      return { uid: input.study.studyInstanceUid, findingId: made.id };
    }
    return { uid: input.study.studyInstanceUid, findingId: '' };
  }

  /** A bedside assessment recorded at `at` with NEWS2 inputs as assess() keeps them. */
  async function assessed(uid: string, at: string, temperature: number, respiratoryRate: number) {
    await store.recordClinical(uid, { facts: {}, scoreInputs: { news2: { temperature, respiratoryRate } } }, 'nurse', ALL_SITES);
    await db.query('update study_clinical set recorded_at = $2 where study_instance_uid = $1', [uid, at]);
  }

  const counts = async (from = '2026-11-01', to = '2026-11-30') =>
    Object.fromEntries((await store.surveillanceCounts({ signals: ['studies', 'ai-positive:pneumonia', 'reader-confirmed:pneumonia', 'reader-confirmed:effusion', 'assessments', 'fever', 'tachypnoea', 'consultations', 'consultation:refer'], from, to }, ALL_SITES))
      .map((r) => [`${r.siteId} ${r.signal} ${r.day}`, r.count]));

  beforeAll(async () => {
    ({ db, store, close } = await openMigratedStore(backend, { prioritise }));
    await store.createSite({ id: 'county', name: 'County', level: 'county' }, 'admin');
    await store.createSite({ id: 'town-a', name: 'Town A', level: 'township', parentId: 'county' }, 'admin');

    // 20 November, Shanghai time (UTC+8): 01:00Z is 09:00 there; 17:00Z on the 20th is already the 21st.
    const positive = await study('town-a', '2026-11-20T01:00:00Z', 0.9);
    await study('town-a', '2026-11-20T02:00:00Z', 0.2);
    await study('town-a', '2026-11-20T03:00:00Z', 0.9, { notApplicable: true });
    await study('town-a', '2026-11-20T04:00:00Z', 0.95, { model: 'research-only' });
    const late = await study('town-a', '2026-11-20T17:00:00Z', 0.7);
    await store.recordReview(positive.findingId, { decision: 'accept', reviewer: 'dr-wang' }, ALL_SITES);
    await store.recordReview(late.findingId, { decision: 'accept', reviewer: 'dr-wang' }, ALL_SITES);
    await store.recordReview(late.findingId, { decision: 'override', reasonCode: 'false-positive', reviewer: 'dr-wang' }, ALL_SITES);
    await store.recordReaderFinding(late.uid, { label: 'effusion', reviewer: 'dr-wang' }, ALL_SITES);

    // Two assessments of one patient on one day count once; a third patient is afebrile.
    const p1a = await study('county', '2026-11-20T01:00:00Z', undefined, { patientId: 'P1' });
    const p1b = await study('county', '2026-11-20T05:00:00Z', undefined, { patientId: 'P1' });
    const p2 = await study('county', '2026-11-20T05:00:00Z', undefined, { patientId: 'P2' });
    await assessed(p1a.uid, '2026-11-20T01:10:00Z', 38.4, 18);
    await assessed(p1b.uid, '2026-11-20T05:10:00Z', 38.9, 24);
    await assessed(p2.uid, '2026-11-20T05:10:00Z', 37.9, 21);

    // Home readings: P1 again (still one febrile patient), H1 febrile at home only, H2 tachypnoeic at 18:00Z (the 21st in Shanghai).
    const reading = (parameter: 'temperature' | 'respiratoryRate', value: number, at: string) =>
      ({ parameter, value, unit: parameter === 'temperature' ? '°C' : '/min', original: { value: String(value) }, at: new Date(at), deviceId: 'band-1', source: 'json' as const });
    const noNews2 = { lookbackMs: 0, evaluate: () => [], alerts: () => [], trendMs: 0 };
    await store.ingestVitals([
      { siteId: 'county', patientId: 'P1', observations: [reading('temperature', 39.0, '2026-11-20T08:00:00Z')] },
      { siteId: 'county', patientId: 'H1', observations: [reading('temperature', 38.2, '2026-11-20T08:00:00Z'), reading('respiratoryRate', 18, '2026-11-20T08:00:00Z')] },
      { siteId: 'county', patientId: 'H2', observations: [reading('respiratoryRate', 25, '2026-11-20T18:00:00Z')] },
    ], 'device:band-1', noNews2);

    // Two consultations asked by the township on the 20th: one answered "refer", one still open.
    await store.setSitesReadFor('county', ['town-a'], 'admin');
    const asker = { username: 'dr-town', sites: ['town-a'], scope: ['town-a'] };
    const consultant = { username: 'dr-county', sites: ['county'], scope: ['county', 'town-a'] };
    const ask = () => store.askConsultation({ toSiteId: 'county', subject: { kind: 'vitals', patientId: 'P9' }, question: 'Fever for three days?', urgency: 'routine', patientConsented: true }, asker);
    const answered = await ask();
    await store.openConsultation(answered.id, consultant);
    await store.answerConsultation(answered.id, { impression: 'Probable pneumonia', recommendation: 'refer', urgency: 'urgent' }, consultant);
    await ask();
    await db.query(`update consultations set asked_at = '2026-11-20T02:00:00Z'`);
  });
  afterAll(() => close?.());

  it('when counts are computed, then each signal counts studies or patients on the site\'s local day, applicable findings of clinical models only', async () => {
    const written = await store.recomputeSurveillanceCounts({ from: '2026-11-01', to: '2026-11-30' }, definitions);
    expect(await counts()).toEqual({
      // Five studies on the 20th Shanghai time, the one received at 17:00Z on the 21st; the research model's positive and the
      // not-applicable finding count nowhere; the 21st's positive was accepted, then overridden: its latest decision counts.
      'town-a studies 2026-11-20': 4,
      'town-a studies 2026-11-21': 1,
      'town-a ai-positive:pneumonia 2026-11-20': 1,
      'town-a ai-positive:pneumonia 2026-11-21': 1,
      'town-a reader-confirmed:pneumonia 2026-11-20': 1,
      'town-a reader-confirmed:effusion 2026-11-21': 1,
      'county studies 2026-11-20': 3,
      // P1 twice at the bedside (38.4 °C then 38.9 °C, RR 24) and at home (39.0 °C), P2 (37.9 °C, RR 21), H1 at home (38.2 °C, RR 18):
      // three patients measured, two febrile, two tachypnoeic; H2's home RR of 25 is on the 21st.
      'county assessments 2026-11-20': 3,
      'county fever 2026-11-20': 2,
      'county tachypnoea 2026-11-20': 2,
      'county assessments 2026-11-21': 1,
      'county tachypnoea 2026-11-21': 1,
      'town-a consultations 2026-11-20': 2,
      'town-a consultation:refer 2026-11-20': 1,
    });
    expect(written).toBe(14);
  });

  it('when counts are recomputed for the same or an overlapping range, then the same rows stand', async () => {
    const before = await counts();
    await store.recomputeSurveillanceCounts({ from: '2026-11-20', to: '2026-11-20' }, definitions);
    await store.recomputeSurveillanceCounts({ from: '2026-11-01', to: '2026-11-30' }, definitions);
    expect(await counts()).toEqual(before);
    expect(await store.surveillanceSignals({ from: '2026-11-01', to: '2026-11-30' }, ['county'])).toEqual([
      { signal: 'fever', total: 2 }, { signal: 'tachypnoea', total: 3 },
    ]);
  });

  describe('alerts', () => {
    const alert = (id: string, sites = ['town-a']): SurveillanceAlertInput => ({
      id, policyId: 'surveillance-policy', policyVersion: '1.0.0', signal: 'fever', scopeKind: 'site', scopeId: sites[0], day: '2026-11-20',
      method: 'ears-c1', sites, evidence: { statistic: 4.2, threshold: 3 },
    });

    it('when the same alert is raised twice, then one row and one audit record exist', async () => {
      expect(await store.raiseSurveillanceAlerts([alert('a1')], 'system:surveillance')).toEqual(['a1']);
      expect(await store.raiseSurveillanceAlerts([alert('a1'), alert('a2', ['county'])], 'system:surveillance')).toEqual(['a2']);
      const audit = await store.listAudit({ limit: 10, action: 'surveillance.alert-raised' });
      expect(audit.map((a) => [a.entityId, a.actor])).toEqual([['a2', 'system:surveillance'], ['a1', 'system:surveillance']]);
      expect(audit[1].payload).toMatchObject({ signal: 'fever', day: '2026-11-20', sites: ['town-a'], evidence: { statistic: 4.2, threshold: 3 } });
      expect((await store.listSurveillanceAlerts({ limit: 10 }, ['town-a'])).map((a) => a.id)).toEqual(['a1']);
    });

    it('when an alert is acknowledged, then it is audited with the actor and a second acknowledgement changes nothing', async () => {
      const first = await store.acknowledgeSurveillanceAlert('a1', 'called the township clinic', 'dr-li', ['town-a']);
      expect(first).toMatchObject({ changed: true, alert: { status: 'acknowledged', acknowledgement: { by: 'dr-li', note: 'called the township clinic' } } });
      const second = await store.acknowledgeSurveillanceAlert('a1', 'again', 'dr-zhao', ALL_SITES);
      expect(second).toMatchObject({ changed: false, alert: { acknowledgement: { by: 'dr-li' } } });
      const audit = await store.listAudit({ limit: 10, action: 'surveillance.alert-acknowledged' });
      expect(audit.map((a) => [a.entityId, a.actor, a.payload.note])).toEqual([['a1', 'dr-li', 'called the township clinic']]);
      expect((await store.listSurveillanceAlerts({ status: 'open', limit: 10 }, ALL_SITES)).map((a) => a.id)).toEqual(['a2']);
    });

    it('when an alert of no site in scope is acknowledged, then it does not exist and nothing is written', async () => {
      await expect(store.acknowledgeSurveillanceAlert('a2', 'x', 'dr-li', ['town-a'])).rejects.toThrow(NotFoundError);
      expect((await store.listSurveillanceAlerts({ status: 'open', limit: 10 }, ALL_SITES)).map((a) => a.id)).toEqual(['a2']);
    });
  });
});
