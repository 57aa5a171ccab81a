import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SurveillanceAlert, SurveillanceRunSummary, SurveillanceSeries, SurveillanceSignalList } from '../../contract/surveillance.ts';
import { addDays } from '../../inference/surveillance/series.ts';
import { startTestApi, type TestApi } from '../../test/support/api-role.ts';
import type { apiClient } from '../../test/support/api-client.ts';
import { seedSurveillanceFacts, type SeedDay } from '../../test/support/surveillance-seed.ts';

type Client = ReturnType<typeof apiClient>;
type ErrorAnswer = { error: { code: string; details?: { field: string }[] } };

const DAY = '2026-11-30';
const post = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/**
 * Three township clinics under one county, 40 days of bedside assessments: 10 a day, one or two
 * febrile (a fixed pattern, so the baseline has a spread); on the last day two clinics see 8 and 7
 * febrile patients. The assessments carry NEWS2 temperature and respiratory rate as assess() keeps them.
 */
function feverDays(): SeedDay[] {
  const days: SeedDay[] = [];
  for (let i = 39; i >= 0; i--) {
    const day = addDays(DAY, -i);
    for (const [n, site] of ['town-a', 'town-b', 'town-c'].entries()) {
      const fevers = i === 0 && site === 'town-a' ? 8 : i === 0 && site === 'town-b' ? 7 : 1 + ((i + n) % 3 === 0 ? 1 : 0);
      days.push({ site, day, studies: 0, positives: 0, assessments: 10, fevers });
    }
  }
  return days;
}

describe('/v1/surveillance', () => {
  let api: TestApi;
  let doctorA: Client;
  let modelTeam: Client;
  let summary: SurveillanceRunSummary;

  beforeAll(async () => {
    api = await startTestApi();
    for (const site of [{ id: 'county', name: 'County Hospital', level: 'county' }, ...['a', 'b', 'c'].map((x) => ({ id: `town-${x}`, name: `Town ${x.toUpperCase()}`, level: 'township', parentId: 'county' }))]) {
      expect((await api.client.json('/v1/sites', post(site))).status).toBe(201);
    }
    await seedSurveillanceFacts(api.store.db, feverDays());
    doctorA = (await api.signIn('dr-town-a', ['grassroots-doctor'], ['town-a'])).client;
    modelTeam = (await api.signIn('model-person', ['model-team'], ['town-a'])).client;
    const run = await api.client.json<SurveillanceRunSummary>('/v1/surveillance/run', post({ date: DAY }));
    expect(run.status).toBe(200);
    summary = run.body;
  });
  afterAll(async () => api?.stop());

  const alerts = async (client: Client, query = '') => (await client.json<{ items: SurveillanceAlert[] }>(`/v1/surveillance/alerts${query}`)).body.items;

  it('when an admin runs the detection for a day, then each rising clinic, their county group and the several points together raise alerts with their evidence, audited', async () => {
    expect(summary).toMatchObject({ day: DAY, policy: 'surveillance-policy@1.0.0', signals: 2 });
    const all = await alerts((await api.signIn('officer-county', ['radiologist'], ['county', 'town-a', 'town-b', 'town-c'])).client);
    const fever = all.filter((a) => a.signal === 'fever');
    const kinds = new Set(fever.map((a) => `${a.scopeKind} ${a.scopeId} ${a.method}`));
    expect(kinds).toContain('site town-a ears-c2');
    expect(kinds).toContain('site town-b ears-c2');
    expect(kinds).toContain('group county ears-c2');
    expect(kinds).toContain('multi-point county ears-c2');
    expect([...kinds].some((k) => k.startsWith('site town-c'))).toBe(false);
    const multi = fever.find((a) => a.scopeKind === 'multi-point')!;
    expect(multi.sites).toEqual(['town-a', 'town-b']);
    expect(multi.evidence).toMatchObject({ measure: 'rate', denominator: 'assessments', requestedBy: 'tester', rule: { minSites: 2, withinDays: 3 } });
    expect(multi.evidence.siteAlarms!.map((s) => s.site)).toEqual(['town-a', 'town-b']);
    const siteA = fever.find((a) => a.scopeKind === 'site' && a.scopeId === 'town-a' && a.method === 'ears-c2')!;
    expect(siteA.evidence.series!.counts.at(-1)).toBe(8);
    expect(siteA.evidence.series!.denominators!.at(-1)).toBe(10);
    expect(siteA.evidence.statistic).toBeGreaterThan(siteA.evidence.threshold!);
    expect(siteA.evidence.baseline!.days).toBeGreaterThanOrEqual(5);
    const audit = await api.client.audit('?action=surveillance.alert-raised&limit=200');
    expect(audit.filter((r) => r.actor === 'system:surveillance').map((r) => r.entityId).sort()).toEqual(summary.raised.slice().sort());
  });

  it('when the same day is run again, then no alert is raised twice', async () => {
    const again = await api.client.json<SurveillanceRunSummary>('/v1/surveillance/run', post({ date: DAY }));
    expect(again.status).toBe(200);
    expect(again.body.raised).toEqual([]);
    const audit = await api.client.audit('?action=surveillance.alert-raised&limit=200');
    expect(audit).toHaveLength(summary.raised.length);
  });

  it('when a township doctor reads the fever series, then only their clinic is there, with denominators and the alarm on the last day', async () => {
    const { status, body } = await doctorA.json<SurveillanceSeries>(`/v1/surveillance/series?signal=fever&from=${addDays(DAY, -13)}&to=${DAY}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ signal: 'fever', measure: 'rate', denominator: 'assessments', method: 'ears-c2' });
    expect(body.sites.map((s) => s.siteId)).toEqual(['town-a']);
    const [site] = body.sites;
    expect(site.counts).toHaveLength(14);
    expect(site.counts.at(-1)).toBe(8);
    expect(site.denominators!.every((d) => d === 10)).toBe(true);
    expect(site.detection.at(-1)).toMatchObject({ alarm: true });
    expect(site.detection.slice(0, -1).every((d) => d !== null && !d.alarm)).toBe(true);
    expect(site.detection.at(-1)!.upper).toBeLessThan(8);
  });

  it('when a county radiologist whose hospital reads for two of the clinics reads the series, then the county and those two clinics are there', async () => {
    const put = await api.client.json('/v1/sites/county/reads-for', { ...post({ readsFor: ['town-a', 'town-b'] }), method: 'PUT' });
    expect(put.status).toBe(200);
    const { client } = await api.signIn('dr-county', ['radiologist'], ['county']);
    const { body } = await client.json<SurveillanceSeries>(`/v1/surveillance/series?signal=fever&from=${DAY}&to=${DAY}`);
    expect(body.sites.map((s) => [s.siteId, s.parentId ?? null, s.counts])).toEqual([['county', null, [0]], ['town-a', 'county', [8]], ['town-b', 'county', [7]]]);
  });

  it('when the signals are listed, then fever and tachypnoea are there with the methods watching them', async () => {
    const { body } = await doctorA.json<SurveillanceSignalList>(`/v1/surveillance/signals?to=${DAY}`);
    expect(body.items.map((s) => s.signal)).toEqual(['fever', 'tachypnoea']);
    expect(body.items[0]).toMatchObject({ measure: 'rate', denominator: 'assessments', methods: ['ears-c2', 'cusum'] });
  });

  it('when a township doctor lists alerts, then they see those touching their clinic only', async () => {
    const mine = await alerts(doctorA, '?status=open');
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((a) => a.sites.includes('town-a'))).toBe(true);
  });

  it('when a doctor acknowledges an alert with a note, then it is acknowledged, audited with the doctor, and a second acknowledgement keeps the first', async () => {
    const [alert] = (await alerts(doctorA, '?status=open')).filter((a) => a.scopeKind === 'site');
    const { status, body } = await doctorA.json<SurveillanceAlert>(`/v1/surveillance/alerts/${alert.id}/acknowledge`, post({ note: '发热门诊已通知 — fever clinic informed' }));
    expect(status).toBe(200);
    expect(body).toMatchObject({ id: alert.id, status: 'acknowledged', acknowledgement: { by: 'dr-town-a', note: '发热门诊已通知 — fever clinic informed' } });
    const again = await doctorA.json<SurveillanceAlert>(`/v1/surveillance/alerts/${alert.id}/acknowledge`, post({ note: 'later' }));
    expect(again.status).toBe(200);
    expect(again.body.acknowledgement!.by).toBe('dr-town-a');
    const audit = await api.client.audit(`?action=surveillance.alert-acknowledged&entityId=${alert.id}`);
    expect(audit.map((r) => [r.actor, r.payload.note])).toEqual([['dr-town-a', '发热门诊已通知 — fever clinic informed']]);
    expect((await alerts(doctorA, '?status=open')).map((a) => a.id)).not.toContain(alert.id);
  });

  it('when the request is bad, then a specific 4xx answers and nothing is stored', async () => {
    const [open] = await alerts(doctorA, '?status=open');
    const before = await api.client.audit('?action=surveillance.alert-acknowledged');
    const cases: [Client, string, RequestInit | undefined, number, string][] = [
      [doctorA, `/v1/surveillance/alerts/${open.id}/acknowledge`, post({ note: '   ' }), 422, 'note'],
      [doctorA, `/v1/surveillance/alerts/${open.id}/acknowledge`, post({ note: 'x', actor: 'someone-else' }), 422, '(body)'],
      [doctorA, '/v1/surveillance/alerts/sa-00000000000000000000000000000000/acknowledge', post({ note: 'x' }), 404, ''],
      [doctorA, '/v1/surveillance/series?signal=fever&from=2026-11-30&to=2026-11-01', undefined, 422, 'to'],
      [doctorA, '/v1/surveillance/series?signal=fever&from=2024-01-01&to=2026-11-01', undefined, 422, 'to'],
      [doctorA, '/v1/surveillance/series?signal=fever&from=2026-02-30&to=2026-03-01', undefined, 422, 'from'],
      [doctorA, '/v1/surveillance/series?signal=Fever;drop&from=2026-11-01&to=2026-11-02', undefined, 422, 'signal'],
      [doctorA, '/v1/surveillance/run', post({}), 403, ''],
      [modelTeam, '/v1/surveillance/alerts', undefined, 403, ''],
      [api.client, '/v1/surveillance/run', post({ date: '2999-01-01' }), 422, 'date'],
    ];
    for (const [client, path, init, status, field] of cases) {
      const answer = await client.json<ErrorAnswer>(path, init);
      expect([path, answer.status]).toEqual([path, status]);
      if (field) expect(answer.body.error.details!.map((d) => d.field)).toContain(field);
    }
    expect(await api.client.audit('?action=surveillance.alert-acknowledged')).toEqual(before);
    expect((await alerts(doctorA, '?status=open')).map((a) => a.id)).toContain(open.id);
  });

  /** Re-records one clinic's febrile assessments of a day as afebrile, as a corrected bedside assessment would. */
  const correctFevers = (site: string, day: string) => api.store.db.query(
    `update study_clinical c set clinical = jsonb_set(jsonb_set(c.clinical, '{scoreInputs,news2,temperature}', '36.8'), '{scoreInputs,news2,respiratoryRate}', '16')
       from studies s where s.study_instance_uid = c.study_instance_uid and s.site_id = $1 and (s.received_at at time zone 'Asia/Shanghai')::date = $2::date`, [site, day]);
  const run = async (date: string) => (await api.client.json<SurveillanceRunSummary>('/v1/surveillance/run', post({ date }))).body;

  it('when one clinic\'s febrile assessments are corrected and the day is run again, then the open alerts that no longer alarm are withdrawn with the verdict, audited; the others stay as they were', async () => {
    const officer = (await api.signIn('officer-county', ['radiologist'], ['county', 'town-a', 'town-b', 'town-c'])).client;
    const before = await alerts(officer);
    await correctFevers('town-b', DAY);
    const again = await run(DAY);
    expect(again.raised).toEqual([]);
    const after = new Map((await alerts(officer)).map((a) => [a.id, a]));
    const expected = before.filter((a) => a.status === 'open' && (a.sites.includes('town-b') && a.scopeKind !== 'group')).map((a) => a.id);
    expect(expected.length).toBeGreaterThanOrEqual(2);
    expect(again.withdrawn.slice().sort()).toEqual(expect.arrayContaining(expected.slice().sort()));
    for (const id of again.withdrawn) {
      const alert = after.get(id)!;
      expect(alert.status).toBe('withdrawn');
      expect(alert.withdrawal).toMatchObject({ runDay: DAY, reason: expect.stringMatching(new RegExp(`^(fever|tachypnoea), .* ${DAY} .* no longer alarms on the counts recomputed by the run of ${DAY}: `)) });
      if (alert.scopeKind === 'site') expect(alert.withdrawal!.verdict!.statistic).toBeLessThanOrEqual(alert.withdrawal!.verdict!.threshold);
      // The evidence it was raised on is kept.
      expect(alert.evidence).toEqual(before.find((a) => a.id === id)!.evidence);
    }
    // Town A still alarms: its alerts stay open, or acknowledged as the doctor left one.
    for (const alert of before.filter((a) => a.scopeKind === 'site' && a.scopeId === 'town-a')) expect(after.get(alert.id)!.status).toBe(alert.status);
    const audit = await api.client.audit('?action=surveillance.alert-withdrawn&limit=200');
    expect(audit.map((r) => [r.actor, r.entityId]).sort()).toEqual(again.withdrawn.map((id) => ['system:surveillance', id]).sort());
    expect((await alerts(officer, '?status=withdrawn')).map((a) => a.id).sort()).toEqual(again.withdrawn.slice().sort());
    expect((await run(DAY)).withdrawn).toEqual([]);
  });

  it('when a later day is run after another correction, then the earlier day\'s open alerts are judged again and withdrawn; the one a doctor acknowledged stays acknowledged', async () => {
    const officer = (await api.signIn('officer-county', ['radiologist'], ['county', 'town-a', 'town-b', 'town-c'])).client;
    const before = (await alerts(officer)).filter((a) => a.sites.includes('town-a') && a.day === DAY);
    const acknowledged = before.filter((a) => a.status === 'acknowledged');
    expect(acknowledged).toHaveLength(1);
    await correctFevers('town-a', DAY);
    const next = await run(addDays(DAY, 1));
    const stillOpen = before.filter((a) => a.status === 'open').map((a) => a.id);
    expect(stillOpen.length).toBeGreaterThan(0);
    expect(next.withdrawn).toEqual(expect.arrayContaining(stillOpen));
    const after = new Map((await alerts(officer)).map((a) => [a.id, a]));
    for (const id of stillOpen) expect(after.get(id)!.withdrawal!.runDay).toBe(addDays(DAY, 1));
    expect(after.get(acknowledged[0].id)).toMatchObject({ status: 'acknowledged', acknowledgement: { by: 'dr-town-a' } });
    expect(after.get(acknowledged[0].id)).not.toHaveProperty('withdrawal');
  });
});
