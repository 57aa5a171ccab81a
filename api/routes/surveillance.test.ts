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
});
