import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PatientVitals, VitalAlert, VitalsAnswer } from '../../contract/vitals.ts';
import { startTestApi, type TestApi } from '../../test/support/api-role.ts';
import { withFreshUids, withPatientId } from '../../test/support/dicom-builder.ts';
import { files } from '../../test/support/shared-data.ts';

type Answer = VitalsAnswer & { error?: { code: string; details: { field: string; message: string }[] } };
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
/** A complete set at `at`: NEWS2 0 when well; `sick` scores 8 (RR 25 → 3, SpO2 93 → 2, pulse 115 → 2, T 38.5 → 1). */
const set = (at: string, sick = false) => [
  { parameter: 'respiratoryRate', value: sick ? 25 : 16, unit: '/min', at },
  { parameter: 'spo2', value: sick ? 93 : 97, unit: '%', at },
  { parameter: 'supplementalOxygen', value: false, at },
  { parameter: 'systolicBp', value: 125, unit: 'mmHg', at },
  { parameter: 'pulse', value: sick ? 115 : 72, unit: '/min', at },
  { parameter: 'consciousness', value: 'alert', at },
  { parameter: 'temperature', value: sick ? 101.3 : 37.0, unit: sick ? '°F' : '°C', at },
];

describe('home vital signs routes', () => {
  let api: TestApi;
  const post = (body: unknown, client = api.client) => client.json<Answer>('/v1/vitals', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const rows = async (table: string) => Number((await api.store.db.query<{ n: string }>(`select count(*) as n from ${table}`)).rows[0].n);

  beforeAll(async () => {
    api = await startTestApi();
    await api.store.createSite({ id: 'far-clinic', name: 'Far clinic', level: 'township' }, 'test');
  });
  afterAll(async () => api?.stop());

  it('when a complete set of readings is posted, then it is stored and NEWS2 is evaluated at its time; posting it again stores nothing', async () => {
    const body = { patientId: 'HOME-1', deviceId: 'watch-1', observations: set(minutesAgo(30)) };
    const first = await post(body);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ siteId: 'main', received: 7, stored: 7, duplicates: 0, evaluated: 1, alertsRaised: 0 });
    expect(first.body.patientKey).toMatch(/^[0-9a-f]{40}$/);
    const again = await post(body);
    expect(again.body).toMatchObject({ stored: 0, duplicates: 7, evaluated: 0, alertsRaised: 0 });
  });

  it('when one reading is implausible, then 422 names it and nothing of the request is stored', async () => {
    const before = [await rows('vital_observations'), await rows('vital_news2'), await rows('audit')];
    const observations = [...set(minutesAgo(20)), { parameter: 'spo2', value: 130, unit: '%', at: minutesAgo(20) }];
    const { status, body } = await post({ patientId: 'HOME-1', observations });
    expect(status).toBe(422);
    expect(body.error!.details).toEqual([{ field: 'observations.7', message: expect.stringMatching(/SpO2: 130 % is outside the possible range 40–100/) }]);
    expect([await rows('vital_observations'), await rows('vital_news2'), await rows('audit')]).toEqual(before);
  });

  it('when a request carries more than 1,000 readings, then 422 names the bound and nothing is stored', async () => {
    const before = await rows('vital_observations');
    const at = minutesAgo(5);
    const { status, body } = await post({ patientId: 'HOME-9', observations: Array.from({ length: 1001 }, (_, i) => ({ parameter: 'pulse', value: 70, unit: '/min', at: new Date(Date.parse(at) - i * 1000).toISOString() })) });
    expect(status).toBe(422);
    expect(body.error!.details[0]).toMatchObject({ field: 'observations', message: expect.stringMatching(/1000/) });
    expect(await rows('vital_observations')).toBe(before);
  });

  it('when readings are filed at a site that is not the caller\'s, then 403 and nothing is stored', async () => {
    const { status, body } = await post({ patientId: 'HOME-1', siteId: 'far-clinic', observations: set(minutesAgo(10)) });
    expect([status, body.error?.code]).toEqual([403, 'NOT_YOUR_SITE']);
  });

  it('when NEWS2 rises to 7 or more, then one emergency alert is raised for the episode, listed, and acknowledged once (audited)', async () => {
    const sick = await post({ patientId: 'HOME-2', deviceId: 'watch-2', observations: [...set(minutesAgo(50), true), { parameter: 'pulse', value: 118, unit: '/min', at: minutesAgo(40) }, { parameter: 'pulse', value: 120, unit: '/min', at: minutesAgo(35) }] });
    expect(sick.body).toMatchObject({ stored: 9, evaluated: 3, alertsRaised: 1 });
    const { body: { items } } = await api.client.json<{ items: VitalAlert[] }>('/v1/vital-alerts?status=open');
    const alert = items.find((a) => a.patientKey === sick.body.patientKey)!;
    expect(alert).toMatchObject({ level: 'emergency', score: 8, band: 'high', patientId: 'HOME-2', status: 'open' });
    expect(alert.reasons.map((r) => r.code)).toEqual(['aggregate-7', 'single-parameter-3']);
    expect(alert.reasons[0].textZh).toMatch(/紧急抢救响应/);
    expect(alert.aiAssisted).toMatch(/not a diagnosis/);

    const ack = await api.client.json<VitalAlert>(`/v1/vital-alerts/${alert.id}/acknowledge`, { method: 'POST' });
    expect(ack.body).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'tester' });
    await api.client.json(`/v1/vital-alerts/${alert.id}/acknowledge`, { method: 'POST' });
    expect((await api.client.audit('?action=vital-alert.acknowledged')).filter((r) => r.entityId === String(alert.id))).toHaveLength(1);
    expect((await api.client.audit('?action=vital-alert.raised')).filter((r) => r.entityId === String(alert.id))).toHaveLength(1);
    const open = await api.client.json<{ items: VitalAlert[] }>('/v1/vital-alerts?status=open');
    expect(open.body.items.map((a) => a.id)).not.toContain(alert.id);
  });

  it('when a patient\'s trend is read, then readings, NEWS2 points with carried-forward inputs, alerts, bands and thresholds come back; another site\'s clinician gets 404', async () => {
    const { body: posted } = await post({ patientId: 'HOME-3', observations: [...set(minutesAgo(90)), { parameter: 'respiratoryRate', value: 22, unit: '/min', at: minutesAgo(80) }] });
    const { status, body } = await api.client.json<PatientVitals>(`/v1/patients/${posted.patientKey}/vitals`);
    expect(status).toBe(200);
    expect(body.observations).toHaveLength(8);
    expect(body.news2.map((p) => p.score)).toEqual([0, 2]);
    expect(body.news2[1].inputs.pulse.carried).toBe(true);
    expect(body.news2[1].inputs.respiratoryRate.carried).toBe(false);
    expect(body.thresholds).toEqual({ urgent: 5, emergency: 7 });
    // Home readings carry no birth date and no pregnancy status: NEWS2 is scored, and the trend says neither was checked.
    expect(body.caveats).toEqual([
      { code: 'AGE_NOT_RECORDED', text: 'patient age not recorded', textZh: '未记录患者年龄' },
      { code: 'PREGNANCY_NOT_RECORDED', text: 'pregnancy not recorded', textZh: '未记录是否妊娠' },
    ]);
    expect(body.bands.find((b) => b.parameter === 'respiratoryRate')!.bands.map((b) => b.upTo)).toEqual([8, 11, 20, 24, undefined]);
    expect(body.carryForwardMinutes.pulse).toBe(60);

    const far = await api.signIn('far-doctor', ['grassroots-doctor'], ['far-clinic']);
    expect((await far.client.json(`/v1/patients/${posted.patientKey}/vitals`)).status).toBe(404);
    expect((await far.client.json<{ items: VitalAlert[] }>('/v1/vital-alerts')).body.items).toEqual([]);
  });

  it('when a study\'s patient has home readings, then the study names the patient key of its trend; before them, no readings; another site\'s clinician gets 404', async () => {
    const { body: stowed } = await api.client.stow([withPatientId(withFreshUids(fs.readFileSync(files.chestJ2k), 9901), 'HM55')]);
    const uid = stowed.stored![0].studyInstanceUid;
    const homeVitals = (client = api.client) => client.json<{ patientKey: string; hasVitals: boolean }>(`/v1/studies/${uid}/home-vitals`);
    expect((await homeVitals()).body.hasVitals).toBe(false);
    const { body: posted } = await post({ patientId: 'HM55', observations: set(minutesAgo(15)) });
    expect((await homeVitals()).body).toEqual({ patientKey: posted.patientKey, hasVitals: true });
    const far = await api.signIn('far-nurse', ['grassroots-doctor'], ['far-clinic']);
    expect((await homeVitals(far.client)).status).toBe(404);
    // A film without a Patient ID: it exists, its patient has no key and no readings.
    const anonymous = (await api.client.stow([withFreshUids(fs.readFileSync(files.chestRaw), 9902)])).body.stored![0].studyInstanceUid;
    expect((await api.client.json(`/v1/studies/${anonymous}/home-vitals`)).body).toEqual({ hasVitals: false });
  });

  it('when a FHIR batch Bundle of vital signs is posted, then the CapabilityStatement offers batch and transaction, a batch-response answers each entry, and a bad entry gets an OperationOutcome naming it', async () => {
    const observation = (code: string, value: number, unit: string) => ({
      resource: {
        resourceType: 'Observation', status: 'final', category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
        code: { coding: [{ system: 'http://loinc.org', code }] }, subject: { identifier: { value: 'HOME-4' } }, effectiveDateTime: minutesAgo(5),
        valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit },
      },
      request: { method: 'POST', url: 'Observation' },
    });
    // Plain fetch: FHIR answers are application/fhir+json, which the OpenAPI conformance check of api.client does not read.
    const fhir = async (bundle: unknown) => {
      const response = await fetch(new URL('/fhir', api.url), { method: 'POST', headers: { 'content-type': 'application/fhir+json', ...api.authorization }, body: JSON.stringify(bundle) });
      expect(response.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
      return { status: response.status, body: await response.json() as Record<string, unknown> };
    };
    const metadata = await (await fetch(new URL('/fhir/metadata', api.url))).json() as { rest: { interaction?: { code: string }[] }[] };
    expect(metadata.rest[0].interaction?.map((i) => i.code)).toEqual(['batch', 'transaction']);
    const good = { resourceType: 'Bundle', type: 'batch', entry: [observation('8867-4', 80, '/min'), observation('9279-1', 18, '/min')] };
    const { status, body } = await fhir(good);
    expect(status).toBe(200);
    expect(body).toEqual({ resourceType: 'Bundle', type: 'batch-response', entry: [{ response: { status: '201 Created' } }, { response: { status: '201 Created' } }] });
    expect((await fhir(good)).body.entry).toEqual([{ response: { status: '200 OK' } }, { response: { status: '200 OK' } }]);

    const bad = await fhir({ ...good, entry: [observation('8867-4', 81, '/min'), observation('59408-5', 130, '%')] });
    expect(bad.status).toBe(422);
    expect(bad.body.resourceType).toBe('OperationOutcome');
    expect((bad.body.issue as { expression: string[]; diagnostics: string }[])[0]).toMatchObject({ expression: ['Bundle.entry[1].resource'], diagnostics: expect.stringMatching(/SpO2: 130 % is outside/) });
  });
});
