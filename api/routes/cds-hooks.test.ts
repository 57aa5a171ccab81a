/**
 * One file past 300 lines on purpose: discovery, both services, the JWT rules and feedback share
 * one API role (PGlite and a redis-server: seconds and a gigabyte to start), one EHR key pair and
 * one patient whose cards the feedback and the agreement checks act on.
 *
 * CDS Hooks 2.0 against the API role over real HTTP: an EHR (this test) signs each call with its
 * own ES384 key pair (jose), as CDS Hooks "Trusting CDS Clients" says, and sends a patient's chart
 * as FHIR R4 prefetch (LOINC codes, UCUM units). Every answer is checked with the schemas written
 * from the 2.0 specification (contract/cds-hooks.ts); scores are checked against the published
 * tables by hand and against Lantern's own form routes (`POST /v1/risk/{id}`, `POST /v1/triage`),
 * which run the same model cards. Feedback lands in the audit trail and in `GET /v1/agreement`.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgreementGroup } from '../../contract/agreement.ts';
import { cdsDiscovery, cdsFeedback, cdsFeedbackAnswer, cdsResponse, LANTERN_CODE_SYSTEMS, type CdsCard, type CdsResponse } from '../../contract/cds-hooks.ts';
import { startTestApi, type TestApi } from '../../test/support/api-role.ts';
import { fhirProblems } from '../../test/support/fhir-validation.ts';
import { files } from '../../test/support/shared-data.ts';

const SERVICE = 'lantern-patient-view';
const ISSUER = 'https://ehr.hospital.example/fhir';
const KID = 'ehr-2026';

type ErrorBody = { error: { code: string; message: string } };

const loinc = (code: string) => ({ coding: [{ system: 'http://loinc.org', code }] });
const quantity = (code: string, value: number, ucum: string, id = `${code}-${value}`, extra: Record<string, unknown> = {}) => ({
  resourceType: 'Observation', id, status: 'final', subject: { reference: 'Patient/pat-1' }, effectiveDateTime: '2026-12-03T07:00:00Z',
  code: loinc(code), valueQuantity: { value, unit: ucum, system: 'http://unitsofmeasure.org', code: ucum }, ...extra,
});
const bundle = (...resources: Record<string, unknown>[]) => ({ resourceType: 'Bundle', type: 'searchset', entry: resources.map((resource) => ({ resource })) });

/**
 * A 76-year-old man (born 1950-03-01) with a fever. By the tables: NEWS2 = RR 22 (2) + SpO2 95 % on
 * scale 1 (1) + air (0) + SBP 105 (1) + pulse 95 (1) + alert (0) + 38.4 °C (1) = 6, medium; qSOFA = RR ≥ 22 (1),
 * SBP > 100, GCS 15 = 1; CURB-65 = urea 30 mg/dL BUN = 10.7 mmol/L > 7 (1) + DBP 58 ≤ 60 (1) + age ≥ 65 (1) = 3, high.
 */
function chart(overrides: { temperature?: Record<string, unknown>; spo2?: Record<string, unknown>; patient?: Record<string, unknown> | null; dicomPatientId?: string } = {}) {
  return {
    patient: overrides.patient !== undefined ? overrides.patient : {
      resourceType: 'Patient', id: 'pat-1', gender: 'male', birthDate: '1950-03-01',
      ...(overrides.dicomPatientId ? { identifier: [{ system: 'urn:oid:2.16.840.1.113883.3.9999', value: overrides.dicomPatientId }] } : {}),
    },
    vitals: bundle(
      quantity('9279-1', 22, '/min'),
      overrides.spo2 ?? quantity('59408-5', 95, '%'),
      quantity('3150-0', 21, '%'),
      { resourceType: 'Observation', id: 'bp', status: 'final', subject: { reference: 'Patient/pat-1' }, effectiveDateTime: '2026-12-03T07:00:00Z', code: loinc('85354-9'),
        component: [{ code: loinc('8480-6'), valueQuantity: { value: 105, code: 'mm[Hg]' } }, { code: loinc('8462-4'), valueQuantity: { value: 58, code: 'mm[Hg]' } }] },
      quantity('8867-4', 95, '/min'),
      overrides.temperature ?? quantity('8310-5', 38.4, 'Cel'),
      quantity('39156-5', 27, 'kg/m2'),
      quantity('8280-0', 95, 'cm'),
      // An older reading is not the one used.
      quantity('9279-1', 12, '/min', 'rr-yesterday', { effectiveDateTime: '2026-12-02T07:00:00Z' }),
    ),
    labs: bundle(quantity('3094-0', 30, 'mg/dL')),
    assessments: bundle(
      { resourceType: 'Observation', id: 'acvpu', status: 'final', subject: { reference: 'Patient/pat-1' }, effectiveDateTime: '2026-12-03T07:00:00Z',
        code: { coding: [{ system: 'http://snomed.info/sct', code: '1104441000000107' }] }, valueCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '248234008' }] } },
      quantity('9269-2', 15, '{score}'),
    ),
  };
}

/** The form inputs that mean the same chart, for Lantern's own calculators. */
const FORM = {
  news2: { respiratoryRate: 22, spo2: 95, supplementalOxygen: false, systolicBp: { value: 105, unit: 'mmHg' }, pulse: 95, consciousness: 'alert', temperature: { value: 38.4, unit: '°C' } },
  qsofa: { respiratoryRate: 22, systolicBp: { value: 105, unit: 'mmHg' }, gcs: 15 },
  curb65: { confusion: false, urea: { value: 30, unit: 'mg/dL' }, respiratoryRate: 22, systolicBp: { value: 105, unit: 'mmHg' }, diastolicBp: { value: 58, unit: 'mmHg' }, age: 76 },
  cdrs: { age: 76, sex: 'male', systolicBp: { value: 105, unit: 'mmHg' }, bmi: 27, waist: { value: 95, unit: 'cm' } },
};

const hookRequest = (prefetch: Record<string, unknown> | undefined, hookInstance: string = randomUUID()) => ({
  hook: 'patient-view', hookInstance, context: { userId: 'Practitioner/dr-who', patientId: 'pat-1' }, ...(prefetch ? { prefetch } : {}),
});

describe('CDS Hooks 2.0', () => {
  let api: TestApi;
  let dir: string;
  let privateKey: CryptoKey;
  let rogueKey: CryptoKey;
  let dicomPatientId: string;
  let flaggedStudy: string;

  /** A JWT as the EHR signs it for one call: `aud` the URL called, a fresh `jti`, five minutes' life. */
  const jwt = (aud: string, options: { key?: CryptoKey; iss?: string; exp?: number; iat?: number; jti?: string; kid?: string } = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ tenant: 'ward-7' }).setProtectedHeader({ alg: 'ES384', typ: 'JWT', kid: options.kid ?? KID })
      .setIssuer(options.iss ?? ISSUER).setAudience(aud).setIssuedAt(options.iat ?? now).setExpirationTime(options.exp ?? now + 300)
      .setJti(options.jti ?? randomUUID()).sign(options.key ?? privateKey);
  };
  const url = (p: string) => `${api.url}${p}`;
  /** A call as the EHR makes it: signed for exactly this URL, unless `authorization` says otherwise. */
  async function call<T>(p: string, body?: unknown, authorization?: string) {
    const response = await fetch(url(p), {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: authorization ?? `Bearer ${await jwt(url(p))}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    return { status: response.status, body: await response.json() as T };
  }
  const patientView = (prefetch: Record<string, unknown> | undefined, hookInstance?: string) => call<CdsResponse & ErrorBody>(`/cds-services/${SERVICE}`, hookRequest(prefetch, hookInstance));
  const feedback = (entries: unknown[], authorization?: string) => call<{ recorded: number; alreadyRecorded: number } & ErrorBody>(`/cds-services/${SERVICE}/feedback`, { feedback: entries }, authorization);
  const byTopic = (cards: CdsCard[], topic: string) => cards.filter((c) => c.source.topic?.code === topic);
  const bySource = (cards: CdsCard[], text: string) => cards.find((c) => c.source.label.includes(text));

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-cds-'));
    // The EHR's key pair: it signs with the private key; Lantern is given the public one as a JWK Set (LANTERN_CDS_CLIENTS).
    const ehr = await generateKeyPair('ES384', { extractable: true });
    privateKey = ehr.privateKey;
    const publicKey = ehr.publicKey;
    rogueKey = (await generateKeyPair('ES384')).privateKey;
    fs.writeFileSync(path.join(dir, 'ehr-jwks.json'), JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: KID, alg: 'ES384', use: 'sig' }] }));
    fs.writeFileSync(path.join(dir, 'cds-clients.json'), JSON.stringify({ clients: [{ issuer: ISSUER, jwksFile: 'ehr-jwks.json', username: 'ehr-client' }] }));
    api = await startTestApi({ cdsClientsFile: path.join(dir, 'cds-clients.json') });
    await api.signIn('ehr-client', ['grassroots-doctor']);
    await api.store.db.query(`insert into sites (id, name, level) values ('north', 'North clinic', 'township')`);
    // The patient's chest film in Lantern (Patient ID 9RG1, the hospital's MRN), which the AI flagged and no radiologist has read yet.
    const study = await api.addStudy(files.chestJ2k);
    flaggedStudy = study.studyInstanceUid;
    // The adult pneumonia model answers (above its operating point); the paediatric one declines the image (not applicable).
    await api.addFinding(study.sopInstanceUid, { probability: 0.91, model: 'cxr-pneumonia-adult' });
    const { rows: [row] } = await api.store.db.query<{ patient_id: string }>('select patient_id from studies where study_instance_uid = $1', [study.studyInstanceUid]);
    dicomPatientId = row.patient_id;
  });
  afterAll(async () => {
    await api?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('discovery', () => {
    it('when the EHR asks with its signed JWT, then it gets the patient-view service with its prefetch templates, as the 2.0 schema says', async () => {
      const { status, body } = await call<{ services: { id: string; hook: string; prefetch: Record<string, string> }[] }>('/cds-services');
      expect(status).toBe(200);
      expect(cdsDiscovery.safeParse(body).success).toBe(true);
      const [service] = body.services;
      expect(service).toMatchObject({ hook: 'patient-view', id: SERVICE });
      expect(service.prefetch).toMatchObject({ patient: 'Patient/{{context.patientId}}', vitals: expect.stringContaining('category=vital-signs') });
    });

    it('when a service id is unknown, then it answers a JSON 404, never the viewer\'s HTML', async () => {
      for (const p of ['/cds-services/unknown', '/cds-services/unknown/feedback']) {
        const { status, body } = await call<ErrorBody>(p, hookRequest(chart()));
        expect(status).toBe(404);
        expect(body.error.code).toBe('NOT_FOUND');
      }
    });
  });

  describe('patient-view', () => {
    let answer: CdsResponse;
    const hookInstance = randomUUID();

    beforeAll(async () => {
      const { status, body } = await patientView(chart({ dicomPatientId }), hookInstance);
      expect(status, JSON.stringify(body)).toBe(200);
      answer = body;
    });

    it('then the chart the EHR sent is valid FHIR R4 (FHIR.js and the R4 JSON schema), so the test speaks the standard', () => {
      const { patient, vitals, labs, assessments } = chart({ dicomPatientId });
      for (const resource of [patient, vitals, labs, assessments]) expect(fhirProblems(resource)).toEqual([]);
    });

    it('then every card is valid CDS Hooks 2.0, has a uuid, and says it is calculated or AI-assisted', () => {
      expect(cdsResponse.safeParse(answer).success).toBe(true);
      for (const card of answer.cards) {
        expect(card.uuid).toMatch(/^[0-9a-f-]{36}$/);
        expect(card.summary.length).toBeLessThan(140);
        if (card.source.topic?.code !== 'not-calculated') expect(card.detail).toMatch(/AI-assisted/);
      }
      expect(new Set(answer.cards.map((c) => c.uuid)).size).toBe(answer.cards.length);
    });

    it('then NEWS2, qSOFA and CURB-65 are what the published tables give for the chart, and what Lantern\'s own calculator gives', async () => {
      const scores = byTopic(answer.cards, 'score');
      expect(scores.find((c) => c.summary.startsWith('NEWS2 6:'))).toMatchObject({ indicator: 'warning' });
      // The chart's Patient.birthDate (1950) reaches NEWS2's age gate: an adult, nothing left unchecked.
      expect(scores.find((c) => c.summary.startsWith('NEWS2 6:'))?.detail).not.toMatch(/age not recorded/);
      expect(scores.find((c) => c.summary.startsWith('qSOFA 1:'))).toMatchObject({ indicator: 'info' });
      expect(scores.find((c) => c.summary.startsWith('CURB-65 3:'))).toMatchObject({ indicator: 'critical' });
      for (const [id, input] of Object.entries(FORM)) {
        const form = await api.client.json<{ score: number; model: { title: string; version: string } }>(`/v1/risk/${id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) });
        expect(form.status).toBe(200);
        const card = bySource(answer.cards, `${form.body.model.title} ${form.body.model.version}`);
        expect(card?.summary, id).toMatch(new RegExp(`^\\S+( \\S+)* ${form.body.score}( \\(outside validated range\\))?:`));
      }
    });

    it('then the triage card is what POST /v1/triage answers for the same scores, and every calculated card offers to record a FHIR RiskAssessment', async () => {
      const { body } = await api.client.json<{ triage: { levelDisplay: string; level: string } }>('/v1/triage', {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ scores: FORM }),
      });
      const [triage] = byTopic(answer.cards, 'triage');
      expect(triage.summary).toContain(`Triage level ${body.triage.levelDisplay}`.slice(0, 60));
      for (const card of [...byTopic(answer.cards, 'score'), triage]) {
        expect(card.selectionBehavior).toBe('at-most-one');
        const [action] = card.suggestions![0].actions!;
        expect(action).toMatchObject({ type: 'create', resource: { resourceType: 'RiskAssessment', status: 'final', subject: { reference: 'Patient/pat-1' } } });
        expect(fhirProblems(action.resource)).toEqual([]);
        expect(card.overrideReasons!.every((r) => r.system === LANTERN_CODE_SYSTEMS.overrideReason && r.display)).toBe(true);
      }
    });

    it('then risk models the chart lacks data for are named with what they need, not silently left out', () => {
      const [missing] = answer.cards.filter((c) => c.summary.startsWith('Lantern could not calculate'));
      expect(missing.indicator).toBe('info');
      expect(missing.detail).toMatch(/Pooled Cohort Equations.*needs .*Smok/i);
    });

    it('then the patient\'s flagged film here is a card linking to it in the viewer, and showing it is audited as the EHR\'s account reading it', async () => {
      const [study] = byTopic(answer.cards, 'imaging');
      expect(study.summary).toMatch(/AI flagged Pneumonia p=0\.91, awaiting radiologist/);
      expect(study.indicator).toBe('warning');
      // The children's model was answered at ingest, with the real reason the film's header gives.
      expect(study.detail).toMatch(/Pneumonia: \*\*not applicable\*\* — patient age 64 y outside 1–5 y \(model `pneumonia-cxr`/);
      expect(study.links).toEqual([{ label: 'Open the study in Lantern', url: `${api.url}/#/study/${flaggedStudy}`, type: 'absolute' }]);
      await api.store.flushReadAudits();
      const viewed = await api.store.listAudit({ limit: 20, action: 'study.viewed', entityId: flaggedStudy });
      expect(viewed.map((r) => r.actor)).toContain('ehr-client');
    });

    it('when a clinician of another site opens the same chart, then the film held by this site is not on any card', async () => {
      const { token } = await api.signIn('north-doc', ['grassroots-doctor'], ['north']);
      const { status, body } = await call<CdsResponse>(`/cds-services/${SERVICE}`, hookRequest(chart({ dicomPatientId })), `Bearer ${token}`);
      expect(status).toBe(200);
      expect(byTopic(body.cards, 'imaging')).toEqual([]);
      expect(JSON.stringify(body)).not.toContain(flaggedStudy);
    });

    it('then the cards are audited under the EHR\'s Lantern account, with its JWT claims and the EHR\'s user as a claim, never as the actor', async () => {
      const [record] = await api.store.listAudit({ limit: 5, action: 'cds.cards-issued', entityId: hookInstance });
      expect(record.actor).toBe('ehr-client');
      expect(record.payload).toMatchObject({ ehrUserId: 'Practitioner/dr-who', patientId: 'pat-1', client: { iss: ISSUER, kid: KID, tenant: 'ward-7' }, studies: [flaggedStudy] });
    });

    it('when the same hook call is retried, then the cards keep their uuids and nothing is recorded twice', async () => {
      const again = await patientView(chart({ dicomPatientId }), hookInstance);
      expect(again.body.cards.map((c) => c.uuid)).toEqual(answer.cards.map((c) => c.uuid));
      expect(await api.store.listAudit({ limit: 5, action: 'cds.cards-issued', entityId: hookInstance })).toHaveLength(1);
    });

    it('when a temperature comes in kelvin, then NEWS2 is not calculated and a warning card says which unit it got and which it reads', async () => {
      const { status, body } = await patientView(chart({ temperature: quantity('8310-5', 311.55, 'K') }));
      expect(status).toBe(200);
      expect(cdsResponse.safeParse(body).success).toBe(true);
      const [card] = byTopic(body.cards, 'not-calculated').filter((c) => c.summary.startsWith('NEWS2 not calculated'));
      expect(card.indicator).toBe('warning');
      expect(card.summary).toContain('"K"');
      expect(card.detail).toContain('"Cel" or "[degF]"');
      expect(card.detail).toMatch(/correct the record \(value or unit\)/);
      expect(byTopic(body.cards, 'score').some((c) => c.summary.startsWith('NEWS2'))).toBe(false);
      expect(byTopic(body.cards, 'score').some((c) => c.summary.startsWith('qSOFA 1:'))).toBe(true);
    });

    it('when the temperature is in °F, then it is converted and NEWS2 is the same 6', async () => {
      const { body } = await patientView(chart({ temperature: quantity('8310-5', 101.1, '[degF]') }));
      expect(byTopic(body.cards, 'score').some((c) => c.summary.startsWith('NEWS2 6:'))).toBe(true);
    });

    it('when SpO2 is sent as a fraction (0.95 %), then NEWS2 is not calculated and the card says the value is impossible, never a score from it', async () => {
      const { body } = await patientView(chart({ spo2: quantity('59408-5', 0.95, '%') }));
      const [card] = byTopic(body.cards, 'not-calculated').filter((c) => c.summary.startsWith('NEWS2 not calculated'));
      expect(card.detail).toMatch(/SpO2: 0\.95 % is outside the possible range 40–100 %/);
    });

    it('when the patient is a child, then NEWS2 and CURB-65 (adults) say they are not applicable and why, the triage names both, and the adult risk score warns it is outside its validated ages', async () => {
      const { body } = await patientView(chart({ patient: { resourceType: 'Patient', id: 'pat-1', gender: 'male', birthDate: '2018-01-15' } }));
      // NEWS2 (adults, 16 and over): not applicable, so no NEWS2 score card; the triage names it first and is never non-urgent for it.
      const [news2] = byTopic(body.cards, 'not-calculated').filter((c) => c.summary.startsWith('NEWS2 not calculated'));
      expect(news2.detail).toMatch(/- patient age 8 y outside 16–120 y/);
      // Nothing in the record to correct: the card says to assess clinically instead.
      expect(news2.detail).toMatch(/outside the population the score was made for: assess clinically/);
      expect(news2.detail).not.toMatch(/correct the record/);
      expect(byTopic(body.cards, 'score').filter((c) => c.summary.startsWith('NEWS2'))).toEqual([]);
      const [triage] = byTopic(body.cards, 'triage');
      expect(triage.detail).toMatch(/NEWS2 \(National Early Warning Score 2\) not calculated: patient age 8 y outside 16–120 y/);
      expect(triage.summary).not.toMatch(/\bIV\b/);
      // CURB-65 (adults, 18 and over; 1.1.0): an 8-year-old's age is possible, so not a refusal of the record but the score's own population.
      const [curb] = byTopic(body.cards, 'not-calculated').filter((c) => c.summary.startsWith('CURB-65 not calculated'));
      expect(curb.indicator).toBe('warning');
      expect(curb.summary).toBe('CURB-65 not calculated: patient age 8 y outside 18–120 y');
      expect(curb.detail).toMatch(/- patient age 8 y outside 18–120 y/);
      expect(curb.detail).not.toMatch(/possible range/);
      expect(byTopic(body.cards, 'score').filter((c) => c.summary.startsWith('CURB-65'))).toEqual([]);
      expect(triage.detail).toMatch(/CURB-65 \(community-acquired pneumonia severity\) not calculated: patient age 8 y outside 18–120 y/);
      const cdrs = byTopic(body.cards, 'score').find((c) => c.source.label.includes('Chinese Diabetes'));
      expect(cdrs?.summary).toContain('(outside validated range)');
      expect(cdrs?.detail).toMatch(/⚠ .*outside the range the model was validated on/);
    });

    it('when the Patient has no birth date, then NEWS2 is calculated with the caveat that the age could not be checked', async () => {
      const { body } = await patientView(chart({ patient: { resourceType: 'Patient', id: 'pat-1', gender: 'male' } }));
      const news2 = byTopic(body.cards, 'score').find((c) => c.summary.startsWith('NEWS2 6:'));
      expect(news2?.detail).toMatch(/- ⚠ patient age not recorded/);
    });

    describe('a woman of 32 whose chart may record a pregnancy (LOINC 82810-3, the pregnancy prefetch)', () => {
      const woman = { resourceType: 'Patient', id: 'pat-1', gender: 'female', birthDate: '1994-05-01' };
      const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();
      /** A pregnancy status as US Core records it: social history, answered with a LOINC or SNOMED CT code. */
      const status = (system: 'http://loinc.org' | 'http://snomed.info/sct', code: string, effectiveDateTime = daysAgo(30)) => bundle({
        resourceType: 'Observation', id: `pregnancy-${code}`, status: 'final', subject: { reference: 'Patient/pat-1' }, effectiveDateTime,
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'social-history' }] }],
        code: loinc('82810-3'), valueCodeableConcept: { coding: [{ system, code }] },
      });
      const news2Cards = async (pregnancy: Record<string, unknown> | null) => {
        const { status: code, body } = await patientView({ ...chart({ patient: woman }), pregnancy });
        expect(code).toBe(200);
        return { body, scored: byTopic(body.cards, 'score').find((c) => c.summary.startsWith('NEWS2')), declined: byTopic(body.cards, 'not-calculated').find((c) => c.summary.startsWith('NEWS2 not calculated')) };
      };

      it('then discovery asks for the latest pregnancy status, and the statuses this test sends are valid FHIR R4', async () => {
        const { body } = await call<{ services: { id: string; prefetch: Record<string, string> }[] }>('/cds-services');
        expect(body.services.find((s) => s.id === SERVICE)?.prefetch.pregnancy).toBe('Observation?patient={{context.patientId}}&code=http://loinc.org|82810-3&_sort=-date&_count=1');
        for (const resource of [status('http://snomed.info/sct', '77386006'), status('http://loinc.org', 'LA26683-5'), woman]) expect(fhirProblems(resource)).toEqual([]);
      });

      it('when she is pregnant (SNOMED CT 77386006 or LOINC LA15173-0), then NEWS2 is not applicable, naming an obstetric chart, and the triage names it', async () => {
        for (const [system, code] of [['http://snomed.info/sct', '77386006'], ['http://loinc.org', 'LA15173-0']] as const) {
          const { body, scored, declined } = await news2Cards(status(system, code));
          expect(scored).toBeUndefined();
          expect(declined?.detail).toMatch(/the patient is pregnant, a population this score was not validated in: use an obstetric early-warning chart \(e\.g\. MEOWS\)/);
          const [triage] = byTopic(body.cards, 'triage');
          expect(triage.detail).toMatch(/NEWS2 \(National Early Warning Score 2\) not calculated: the patient is pregnant/);
          expect(triage.summary).not.toMatch(/\bIV\b/);
        }
      });

      it('when she is not pregnant, then NEWS2 is calculated with nothing left unchecked', async () => {
        const { scored } = await news2Cards(status('http://loinc.org', 'LA26683-5'));
        expect(scored?.summary).toMatch(/^NEWS2 6:/);
        expect(scored?.detail).not.toMatch(/not recorded/);
      });

      it('when her status is unknown, older than 42 weeks, or not in the chart, then NEWS2 is calculated with the caveat that pregnancy could not be checked', async () => {
        for (const pregnancy of [status('http://loinc.org', 'LA4489-6'), status('http://snomed.info/sct', '77386006', daysAgo(43 * 7)), null]) {
          const { scored, declined } = await news2Cards(pregnancy);
          expect(declined).toBeUndefined();
          expect(scored?.detail).toMatch(/- ⚠ pregnancy not recorded/);
        }
      });

      it('when her status is answered with a code Lantern does not read, then NEWS2 is not calculated and the card names the code, never a guess', async () => {
        const { scored, declined } = await news2Cards(status('http://snomed.info/sct', '289908002'));
        expect(scored).toBeUndefined();
        expect(declined?.detail).toMatch(/pregnancy status \(82810-3.*\) is answered with http:\/\/snomed\.info\/sct\|289908002, which Lantern does not read as pregnant or not pregnant/);
      });
    });

    it('when the prefetched Patient is not context.patientId, then 422 names it and nothing is issued', async () => {
      const { status, body } = await patientView(chart({ patient: { resourceType: 'Patient', id: 'someone-else', birthDate: '1990-01-01' } }));
      expect(status).toBe(422);
      expect(JSON.stringify(body)).toContain('prefetch.patient');
    });

    it('when a prefetch key Lantern needs is absent, then 412 Precondition Failed (as 2.0 says); when it is null, the chart simply has no such data', async () => {
      const { vitals: _vitals, ...withoutVitals } = chart();
      const missing = await patientView(withoutVitals);
      expect(missing.status).toBe(412);
      expect(missing.body.error.code).toBe('PREFETCH_MISSING');
      expect(missing.body.error.message).toContain('vitals');
      const empty = await patientView({ ...withoutVitals, vitals: null });
      expect(empty.status).toBe(200);
      expect(byTopic(empty.body.cards, 'score').some((c) => c.summary.startsWith('NEWS2'))).toBe(false);
    });

    it('when the body is not a CDS Hooks request, then 422 names the field', async () => {
      const { status, body } = await call<{ error: { code: string; details: { field: string }[] } }>(`/cds-services/${SERVICE}`, { hook: 'patient-view', context: {} });
      expect(status).toBe(422);
      expect(body.error.details.map((d) => d.field)).toContain('hookInstance');
    });
  });

  describe('order-select (a chest radiograph being ordered)', () => {
    const ORDER = 'lantern-imaging-order';
    const order = (code: { system: string; code: string }, id = 'sr-1') => ({ resourceType: 'ServiceRequest', id, status: 'draft', intent: 'order', subject: { reference: 'Patient/pat-1' }, code: { coding: [code] } });
    const chestXr = order({ system: 'http://loinc.org', code: '36643-5' });
    const select = (patient: Record<string, unknown>, draft: Record<string, unknown>[], selections = ['ServiceRequest/sr-1']) => call<CdsResponse & ErrorBody>(`/cds-services/${ORDER}`, {
      hook: 'order-select', hookInstance: randomUUID(), context: { userId: 'Practitioner/dr-who', patientId: 'pat-1', selections, draftOrders: bundle(...draft) }, prefetch: { patient },
    });
    const adult = () => ({ resourceType: 'Patient', id: 'pat-1', gender: 'male', birthDate: '1950-03-01', identifier: [{ value: dicomPatientId }] });

    it('then discovery lists it with its hook', async () => {
      const { body } = await call<{ services: { id: string; hook: string }[] }>('/cds-services');
      expect(body.services).toContainEqual(expect.objectContaining({ id: ORDER, hook: 'order-select' }));
    });

    it('when an adult\'s chest film is selected, then the adult model will pre-read it, the children\'s model is not applicable and why, and the prior flagged film is shown', async () => {
      expect(fhirProblems(bundle(chestXr))).toEqual([]);
      const { status, body } = await select(adult(), [chestXr]);
      expect(status).toBe(200);
      expect(cdsResponse.safeParse(body).success).toBe(true);
      const [coverage] = byTopic(body.cards, 'ai-coverage');
      expect(coverage.summary).toMatch(/^Lantern AI will pre-read this chest radiograph: Pneumonia on adult frontal chest radiographs/);
      expect(coverage.detail).toMatch(/`pneumonia-cxr` 1\.1\.0\): \*\*not applicable\*\* — patient age 76 y outside 1–5 y/);
      expect(byTopic(body.cards, 'imaging')[0].links?.[0].url).toBe(`${api.url}/#/study/${flaggedStudy}`);
    });

    it('when a child\'s chest film is selected, then it is the adult model that says it is not applicable', async () => {
      const { body } = await select({ resourceType: 'Patient', id: 'pat-1', gender: 'female', birthDate: '2023-01-01' }, [chestXr]);
      const [coverage] = byTopic(body.cards, 'ai-coverage');
      expect(coverage.summary).toMatch(/Pneumonia on chest radiograph/);
      expect(coverage.detail).toMatch(/`cxr-pneumonia-adult` [\d.]+\): \*\*not applicable\*\* — patient age \d y outside 18–100 y/);
    });

    it('when the selected order is not a chest radiograph, then there is nothing to say: no cards', async () => {
      const { status, body } = await select(adult(), [chestXr, order({ system: 'http://loinc.org', code: '58410-2' }, 'sr-cbc')], ['ServiceRequest/sr-cbc']);
      expect(status).toBe(200);
      expect(body).toEqual({ cards: [] });
    });
  });

  describe('who may call', () => {
    const service = () => url(`/cds-services/${SERVICE}`);
    const refusal = async (authorization: string) => call<ErrorBody>(`/cds-services/${SERVICE}`, hookRequest(chart()), authorization);

    it('when the JWT has expired, then 401 says so', async () => {
      const now = Math.floor(Date.now() / 1000);
      const { status, body } = await refusal(`Bearer ${await jwt(service(), { iat: now - 200, exp: now - 100 })}`);
      expect(status).toBe(401);
      expect(body.error).toMatchObject({ code: 'CDS_CLIENT_TOKEN_INVALID', message: expect.stringContaining('expired') });
    });

    it('when the JWT is addressed to another service, then 401 names the audience expected', async () => {
      const { status, body } = await refusal(`Bearer ${await jwt(url('/cds-services/another-service'))}`);
      expect(status).toBe(401);
      expect(body.error.message).toContain(`"aud" is not the URL called (${service()})`);
    });

    it('when the issuer is not a configured CDS client, then 401 CDS_CLIENT_UNKNOWN', async () => {
      const { status, body } = await refusal(`Bearer ${await jwt(service(), { iss: 'https://rogue.example', key: rogueKey })}`);
      expect(status).toBe(401);
      expect(body.error.code).toBe('CDS_CLIENT_UNKNOWN');
    });

    it('when a configured issuer\'s JWT is signed with another key, then 401: the signature does not verify', async () => {
      const { status, body } = await refusal(`Bearer ${await jwt(service(), { key: rogueKey })}`);
      expect(status).toBe(401);
      expect(body.error.message).toContain('signature does not verify');
    });

    it('when a JWT is sent twice (same jti), then the second is refused as a replay', async () => {
      const token = await jwt(service());
      expect((await refusal(`Bearer ${token}`)).status).toBe(200);
      const { status, body } = await refusal(`Bearer ${token}`);
      expect(status).toBe(401);
      expect(body.error.code).toBe('CDS_CLIENT_TOKEN_REPLAYED');
    });

    it('when the JWT is HMAC-signed (a shared secret), then 401: only asymmetric algorithms', async () => {
      const now = Math.floor(Date.now() / 1000);
      const hmac = await new SignJWT({}).setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: KID }).setIssuer(ISSUER).setAudience(service())
        .setIssuedAt(now).setExpirationTime(now + 60).setJti(randomUUID()).sign(new TextEncoder().encode('a shared secret of thirty-two bytes!'));
      const { status, body } = await refusal(`Bearer ${hmac}`);
      expect(status).toBe(401);
      expect(body.error.code).toBe('CDS_CLIENT_TOKEN_INVALID');
    });

    it('when the EHR\'s JWT is sent to a route outside /cds-services, then 401: its key opens nothing else', async () => {
      const { status, body } = await call<ErrorBody>('/v1/worklist', undefined, `Bearer ${await jwt(url('/v1/worklist'))}`);
      expect(status).toBe(401);
      expect(body.error.code).toBe('CDS_CLIENT_TOKEN_OUT_OF_SCOPE');
    });

    it('when a clinician calls with a Lantern bearer token, then the service answers; a model-team token is refused 403', async () => {
      expect((await refusal(`Bearer ${api.token}`)).status).toBe(200);
      const { token } = await api.signIn('model-team-only', ['model-team']);
      expect((await refusal(`Bearer ${token}`)).status).toBe(403);
    });
  });

  describe('feedback', () => {
    let cards: CdsCard[];
    const card = (prefix: string) => cards.find((c) => c.summary.startsWith(prefix))!;
    const at = '2026-12-03T07:05:00Z';

    beforeAll(async () => {
      cards = (await patientView(chart({ dicomPatientId }))).body.cards;
    });

    it('when a suggestion is accepted, then it is recorded once: sent again it changes nothing', async () => {
      const news2 = card('NEWS2 6:');
      const entry = { card: news2.uuid, outcome: 'accepted', acceptedSuggestions: [{ id: news2.suggestions![0].uuid }], outcomeTimestamp: at };
      expect(cdsFeedback.safeParse({ feedback: [entry] }).success).toBe(true);
      const first = await feedback([entry]);
      expect(first).toEqual({ status: 200, body: { recorded: 1, alreadyRecorded: 0 } });
      expect(cdsFeedbackAnswer.safeParse(first.body).success).toBe(true);
      expect((await feedback([entry])).body).toEqual({ recorded: 0, alreadyRecorded: 1 });
      const [record] = await api.store.listAudit({ limit: 5, action: 'cds.feedback', entityId: news2.uuid });
      expect(record).toMatchObject({ actor: 'ehr-client', payload: { outcome: 'accepted', model: { id: 'news2' }, client: { iss: ISSUER } } });
    });

    it('when a card uuid is unknown, then 404 CDS_CARD_UNKNOWN and nothing of the batch is recorded', async () => {
      const triage = byTopic(cards, 'triage')[0];
      const known = { card: triage.uuid, outcome: 'overridden', overrideReason: { reason: triage.overrideReasons!.find((r) => r.code === 'clinical-context'), userComment: 'Known COPD; on home oxygen review' }, outcomeTimestamp: at };
      const { status, body } = await feedback([known, { card: randomUUID(), outcome: 'overridden', outcomeTimestamp: at }]);
      expect(status).toBe(404);
      expect(body.error.code).toBe('CDS_CARD_UNKNOWN');
      expect((await feedback([known])).body).toEqual({ recorded: 1, alreadyRecorded: 0 });
      expect((await feedback([{ card: card('CURB-65 3:').uuid, outcome: 'overridden', outcomeTimestamp: at }])).body.recorded).toBe(1);
    });

    it('when a user of another site sends feedback on the cards, then they do not exist for them (404)', async () => {
      const { token } = await api.signIn('elsewhere', ['grassroots-doctor'], ['north']);
      const { status } = await feedback([{ card: card('qSOFA 1:').uuid, outcome: 'overridden', outcomeTimestamp: at }], `Bearer ${token}`);
      expect(status).toBe(404);
    });

    it('when feedback is malformed (accepted without the suggestions taken), then 422', async () => {
      const { status } = await feedback([{ card: card('qSOFA 1:').uuid, outcome: 'accepted', outcomeTimestamp: at }]);
      expect(status).toBe(422);
    });

    it('then the agreement dashboard counts the cards as source cds-hooks, beside readers\' decisions and never mixed with them', async () => {
      const { body } = await api.client.json<{ groups: AgreementGroup[] }>('/v1/agreement');
      const group = (model: string) => body.groups.find((g) => g.source === 'cds-hooks' && g.modelId === model)!;
      expect(group('news2')).toMatchObject({ label: 'cds:score', display: 'CDS Hooks score card', displayZh: 'CDS Hooks 评分卡片', decided: 1, accepted: 1, overridden: 0 });
      expect(group('news2').findings).toBeGreaterThanOrEqual(2);
      expect(group('triage-policy')).toMatchObject({ label: 'cds:triage', decided: 1, accepted: 0, overridden: 1,
        overrideReasons: [{ code: 'clinical-context', display: 'Clinical context changes the reading', count: 1, share: 1, cumulativeShare: 1 }] });
      expect(group('curb65').overrideReasons).toMatchObject([{ code: 'no-reason-given', count: 1 }]);
      expect(body.groups.find((g) => g.modelId === 'cxr-pneumonia-adult')?.source).toBe('reader-review');
    });
  });
});
