/**
 * Home vital signs against `lantern start` (real redis-server, PGlite): a wearable's FHIR R4
 * vital-signs Bundle — valid per FHIR.js and the R4 schema — is ingested; NEWS2 is evaluated
 * over time with values carried forward; the patient deteriorates, an escalation alert lands
 * on the clinicians' worklist (once per level in the episode), and the patient's chest film is
 * re-triaged with the new NEWS2 beside the doctor's own qSOFA. Sending the Bundle again stores nothing; a Bundle with one
 * implausible reading is refused naming it, and the tables hold exactly what they held.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PatientVitals, VitalAlert } from '../contract/vitals.ts';
import { apiClient } from './support/api-client.ts';
import { withFreshUids, withPatientId } from './support/dicom-builder.ts';
import { fhirProblems } from './support/fhir-validation.ts';
import { files } from './support/shared-data.ts';
import { newUser, type SignedIn } from './support/sign-in.ts';
import { startStack, type Stack } from './support/stack.ts';

const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const vitalSigns = [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs', display: 'Vital Signs' }] }];

type Reading = { rr: number; spo2: number; hr: number; sbp: number; tempF: number; acvpu: 'LA9340-9' | 'LA17108-4' };

/** One set of a patient's readings at `at`, as a home hub sends them: a Patient entry and one Observation per sign, device by identifier. */
function observations(patientUrl: string, at: string, r: Reading, n: number) {
  const common = (code: string, display: string) => ({
    resourceType: 'Observation', status: 'final', category: vitalSigns, code: { coding: [{ system: LOINC, code, display }] },
    subject: { reference: patientUrl }, effectiveDateTime: at, device: { identifier: { system: 'urn:example:devices', value: 'hub-0042' }, display: 'Home hub 0042' },
  });
  const quantity = (code: string, display: string, value: number, unit: string) => ({ ...common(code, display), valueQuantity: { value, unit, system: UCUM, code: unit } });
  const resources = [
    quantity('9279-1', 'Respiratory rate', r.rr, '/min'),
    quantity('59408-5', 'Oxygen saturation in Arterial blood by Pulse oximetry', r.spo2, '%'),
    quantity('8867-4', 'Heart rate', r.hr, '/min'),
    {
      ...common('85354-9', 'Blood pressure panel'),
      component: [
        { code: { coding: [{ system: LOINC, code: '8480-6', display: 'Systolic blood pressure' }] }, valueQuantity: { value: r.sbp, unit: 'mm[Hg]', system: UCUM, code: 'mm[Hg]' } },
        { code: { coding: [{ system: LOINC, code: '8462-4', display: 'Diastolic blood pressure' }] }, valueQuantity: { value: 80, unit: 'mm[Hg]', system: UCUM, code: 'mm[Hg]' } },
      ],
    },
    quantity('8310-5', 'Body temperature', r.tempF, '[degF]'),
    { ...common('67775-7', 'Level of responsiveness'), valueCodeableConcept: { coding: [{ system: LOINC, code: r.acvpu }] } },
    quantity('3151-8', 'Inhaled oxygen flow rate', 0, 'L/min'),
  ];
  return resources.map((resource, i) => ({ fullUrl: `urn:uuid:00000000-0000-4000-8000-${String(n * 10 + i).padStart(12, '0')}`, resource, request: { method: 'POST', url: 'Observation' } }));
}

function bundle(patientId: string, sets: { at: string; r: Reading }[]) {
  const patientUrl = 'urn:uuid:00000000-0000-4000-8000-999999999999';
  return {
    resourceType: 'Bundle', type: 'transaction',
    entry: [
      { fullUrl: patientUrl, resource: { resourceType: 'Patient', identifier: [{ system: 'urn:lantern:site:main:patient-id', value: patientId }] }, request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=urn:lantern:site:main:patient-id|${patientId}` } },
      ...sets.flatMap((s, n) => observations(patientUrl, s.at, s.r, n)),
    ],
  };
}

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const well: Reading = { rr: 16, spo2: 97, hr: 76, sbp: 128, tempF: 98.4, acvpu: 'LA9340-9' };
/** RR 23 → 2, SpO2 94 → 1, HR 112 → 2, T 38.6 °C (101.5 °F) → 1: NEWS2 6, urgent. */
const unwell: Reading = { rr: 23, spo2: 94, hr: 112, sbp: 122, tempF: 101.5, acvpu: 'LA9340-9' };
/** RR 27 → 3, SpO2 91 → 3, HR 125 → 2, T 39.3 °C → 2, voice → 3: NEWS2 13, emergency. */
const worse: Reading = { rr: 27, spo2: 91, hr: 125, sbp: 118, tempF: 102.7, acvpu: 'LA17108-4' };

describe('home vital signs: a wearable\'s FHIR Bundle to a NEWS2 trend, an alert on the worklist and a re-triaged film', () => {
  let stack: Stack;
  let doctor: SignedIn;
  let patientId: string;
  let studyInstanceUid: string;
  /** The Bundle the hub sent first, sent again as it is. */
  let sent: ReturnType<typeof bundle>;
  const fhir = async (body: unknown) => {
    const response = await fetch(new URL('/fhir', stack.baseUrl), { method: 'POST', headers: { 'content-type': 'application/fhir+json', ...doctor.authorization }, body: JSON.stringify(body) });
    return { status: response.status, body: await response.json() as Record<string, unknown> & { entry?: { response: { status: string } }[] } };
  };
  /** What the Bundles may change: readings and NEWS2 points of the patient, alerts, and the ingest audit records. */
  const counts = async () => {
    const api = apiClient(stack.baseUrl, doctor.token);
    const alerts = (await api.json<{ items: VitalAlert[] }>('/v1/vital-alerts')).body.items;
    const trend = (await api.json<PatientVitals>(`/v1/patients/${alerts[0].patientKey}/vitals`)).body;
    const audit = (await apiClient(stack.baseUrl, stack.token).audit('?action=vitals.recorded')).length;
    return { alerts: alerts.length, observations: trend.observations.length, news2: trend.news2.length, audit };
  };

  beforeAll(async () => {
    stack = await startStack({ workers: 0 });
    doctor = await newUser(stack.baseUrl, stack.token, { username: 'dr-wang', displayName: 'Dr Wang', roles: ['grassroots-doctor'] });
    const api = apiClient(stack.baseUrl, doctor.token);
    patientId = 'HV42';
    const { body } = await api.stow([withPatientId(withFreshUids(fs.readFileSync(files.chestJ2k), 7101), patientId)]);
    studyInstanceUid = body.stored![0].studyInstanceUid;
    expect((await api.study(studyInstanceUid)).body.study.patientId).toBe(patientId);
    // The doctor's own bedside qSOFA on the film, which a home NEWS2 must not undo.
    const triaged = await api.json('/v1/triage', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ studyInstanceUid, scores: { qsofa: { respiratoryRate: 24, systolicBp: { value: 95, unit: 'mmHg' }, gcs: 15 } } }),
    });
    expect(triaged.status).toBe(200);
  }, 180_000);
  afterAll(async () => stack?.stop());

  it('when the hub sends well, then unwell, then worse readings, then NEWS2 is trended, one alert per escalation level is raised and the film is re-triaged', async () => {
    sent = bundle(patientId, [{ at: minutesAgo(180), r: well }, { at: minutesAgo(120), r: unwell }, { at: minutesAgo(100), r: unwell }, { at: minutesAgo(60), r: worse }]);
    expect(fhirProblems(sent)).toEqual([]);
    const before = (await apiClient(stack.baseUrl, doctor.token).study(studyInstanceUid)).body;

    const { status, body } = await fhir(sent);
    expect(status).toBe(200);
    expect(fhirProblems(body)).toEqual([]);
    expect(body.type).toBe('transaction-response');
    expect(body.entry!.map((e) => e.response.status)).toEqual(['200 OK', ...Array(28).fill('201 Created')]);

    const api = apiClient(stack.baseUrl, doctor.token);
    const { body: { items } } = await api.json<{ items: VitalAlert[] }>('/v1/vital-alerts?status=open');
    expect(items.map((a) => [a.level, a.score])).toEqual([['emergency', 13], ['urgent', 6]]);
    expect(items[1].reasons.map((r) => r.code)).toEqual(['aggregate-5']);
    expect(items[0].trend.map((t) => t.score)).toEqual([0, 6, 6, 13]);
    expect(items[0].patientId).toBe(patientId);

    const trend = await api.json<PatientVitals>(`/v1/patients/${items[0].patientKey}/vitals`);
    expect(trend.body.news2.map((p) => p.score)).toEqual([0, 6, 6, 13]);
    expect(trend.body.observations.find((o) => o.parameter === 'temperature')).toMatchObject({ unit: '°C', original: { value: '98.4', unit: '°F' } });

    const after = (await api.study(studyInstanceUid)).body;
    expect(after.study.priority).toBeGreaterThan(before.study.priority);
    const assessed = (await apiClient(stack.baseUrl, stack.token).audit('?action=study.assessed')).filter((r) => r.entityId === studyInstanceUid);
    // The doctor's qSOFA assessment, then one re-triage for the whole Bundle (newest first), keeping the qSOFA.
    expect(assessed).toHaveLength(2);
    expect(assessed[0].actor).toBe('dr-wang');
    expect(assessed[0].payload).toMatchObject({ clinical: { facts: { 'news2.score': 13, 'news2.band': 'high', 'qsofa.score': 2 } }, why: expect.stringMatching(/NEWS2 13 \(high\)/) });
  });

  it('when the same Bundle is sent again, then every entry is already held: nothing is stored, evaluated or raised', async () => {
    const before = await counts();
    const { status, body } = await fhir(sent);
    expect(status).toBe(200);
    expect(body.entry!.map((e) => e.response.status)).toEqual(Array(29).fill('200 OK'));
    expect(await counts()).toEqual(before);
  });

  it('when one reading of a Bundle is implausible (a temperature of 98.6 sent in Cel), then an OperationOutcome names its entry and nothing of the Bundle is stored', async () => {
    const before = await counts();
    const bad = bundle(patientId, [{ at: minutesAgo(30), r: well }, { at: minutesAgo(20), r: worse }]);
    const temperature = bad.entry[12].resource as { valueQuantity: { value: number; unit: string; code: string } };
    temperature.valueQuantity = { ...temperature.valueQuantity, value: 98.6, unit: 'Cel', code: 'Cel' };
    expect(fhirProblems(bad)).toEqual([]);
    const { status, body } = await fhir(bad);
    expect(status).toBe(422);
    expect(fhirProblems(body)).toEqual([]);
    const [issue] = body.issue as { expression: string[]; diagnostics: string }[];
    expect(issue.expression).toEqual(['Bundle.entry[12].resource']);
    expect(issue.diagnostics).toMatch(/Temperature: 98.6 °C is outside the possible range 25–45 °C/);
    expect(await counts()).toEqual(before);
  });
});
