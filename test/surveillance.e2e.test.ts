/**
 * Multi-point surveillance end to end, with a real redis-server and PGlite (the API role in this
 * process): 60 days of seeded background — studies with the pneumonia model's findings and bedside
 * assessments at eight township clinics under two counties, Poisson counts with fewer at weekends —
 * then a rise of AI-positive films at three neighbouring clinics on the last day. The daily job,
 * queued on BullMQ as the scheduler queues it (twice: at-least-once), raises the site alerts and a
 * multi-point alert with their evidence, once; the 14 days before stay quiet; a clinician's
 * acknowledgement is audited under their name.
 */
import { Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SurveillanceAlert } from '../contract/surveillance.ts';
import { addDays } from '../inference/surveillance/series.ts';
import { redisConnection } from '../queue/connection.ts';
import { SURVEILLANCE_CRON, SURVEILLANCE_QUEUE, SURVEILLANCE_SCHEDULER_ID } from '../queue/surveillance.ts';
import { startTestApi, type TestApi } from './support/api-role.ts';
import { backgroundDays, seedSurveillanceFacts } from './support/surveillance-seed.ts';

const DAY = '2026-11-20';
const EAST = ['t1', 't2', 't3', 't4', 't5'];
const WEST = ['t6', 't7', 't8'];
/** The outbreak: on DAY, eight more films each at three neighbouring clinics of the east county, all called positive. */
const OUTBREAK = ['t1', 't2', 't3'];
const post = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('surveillance: a seeded background, an injected rise at three neighbouring clinics', () => {
  let api: TestApi;
  let queue: Queue;
  let events: QueueEvents;
  const connections: ReturnType<typeof redisConnection>[] = [];
  const connection = () => {
    const made = redisConnection(api.config.redisUrl);
    connections.push(made);
    return made;
  };

  beforeAll(async () => {
    api = await startTestApi();
    const sites = [
      { id: 'east', name: 'East County Hospital', level: 'county' }, { id: 'west', name: 'West County Hospital', level: 'county' },
      ...EAST.map((id) => ({ id, name: `Township ${id}`, level: 'township', parentId: 'east' })),
      ...WEST.map((id) => ({ id, name: `Township ${id}`, level: 'township', parentId: 'west' })),
    ];
    for (const site of sites) expect((await api.client.json('/v1/sites', post(site))).status).toBe(201);
    const background = backgroundDays({ sites: [...EAST, ...WEST], last: DAY, days: 60, seed: 20261120, studiesMean: 12, positiveRate: 0.08, assessmentsMean: 8, feverRate: 0.06 });
    await seedSurveillanceFacts(api.store.db, [
      ...background,
      ...OUTBREAK.map((site) => ({ site, day: DAY, studies: 8, positives: 8, assessments: 0, fevers: 0 })),
    ]);
    queue = new Queue(SURVEILLANCE_QUEUE, { connection: connection(), prefix: api.config.queuePrefix });
    events = new QueueEvents(SURVEILLANCE_QUEUE, { connection: connection(), prefix: api.config.queuePrefix });
    await events.waitUntilReady();
  }, 120_000);
  afterAll(async () => {
    await events?.close();
    await queue?.close();
    for (const c of connections) await c.quit();
    await api?.stop();
  });

  /** The admin's view of every alert (the admin's scope: all eight clinics and both counties). */
  const everyAlert = async () => {
    const { client } = await api.signIn(`officer-${Date.now()}`, ['radiologist'], ['east', 'west', ...EAST, ...WEST]);
    return (await client.json<{ items: SurveillanceAlert[] }>('/v1/surveillance/alerts?limit=500')).body.items;
  };

  it('when the API role starts, then the daily run is scheduled at 00:30 in the installation\'s time zone', async () => {
    const scheduler = await queue.getJobScheduler(SURVEILLANCE_SCHEDULER_ID);
    expect(scheduler).toMatchObject({ pattern: SURVEILLANCE_CRON, tz: 'Asia/Shanghai' });
  });

  it('when the days before the rise are judged, then they stay quiet: no multi-point alert, and site alerts within the stated false-alert rate', async () => {
    for (let i = 14; i >= 1; i--) {
      const run = await api.client.json<{ raised: string[] }>('/v1/surveillance/run', post({ date: addDays(DAY, -i) }));
      expect(run.status).toBe(200);
    }
    const alerts = await everyAlert();
    expect(alerts.filter((a) => a.scopeKind === 'multi-point')).toEqual([]);
    // 8 clinics × 14 days × 2 case signals × 2 methods = 448 site-method-days; at the ~1 % a day EARS C2 at 3 sd is meant for, under 9.
    const siteAlerts = alerts.filter((a) => a.scopeKind === 'site');
    expect(siteAlerts.length).toBeLessThanOrEqual(8);
  }, 120_000);

  it('when the daily job runs for the day of the rise (delivered twice), then the three clinics, their county and the several points together raise alerts with evidence, once', async () => {
    const before = new Set((await everyAlert()).map((a) => a.id));
    const first = await queue.add('surveillance-run', { day: DAY });
    const second = await queue.add('surveillance-run', { day: DAY });
    const [a, b] = await Promise.all([first.waitUntilFinished(events, 60_000), second.waitUntilFinished(events, 60_000)]) as { raised: string[] }[];
    expect(a.raised.length + b.raised.length).toBeGreaterThan(0);
    expect(new Set([...a.raised, ...b.raised]).size).toBe(a.raised.length + b.raised.length);

    const raised = (await everyAlert()).filter((x) => !before.has(x.id) && x.signal === 'ai-positive:pneumonia');
    const scopes = raised.map((x) => `${x.scopeKind} ${x.scopeId} ${x.method}`);
    for (const site of OUTBREAK) expect(scopes).toContain(`site ${site} ears-c2`);
    expect(scopes).toContain('group east ears-c2');
    expect(scopes.filter((s) => /^site (t4|t5|t6|t7|t8) /.test(s))).toEqual([]);
    const multi = raised.find((x) => x.scopeKind === 'multi-point')!;
    expect(multi).toMatchObject({ scopeId: 'east', day: DAY, method: 'ears-c2', sites: OUTBREAK });
    expect(multi.evidence.rule).toEqual({ minSites: 2, withinDays: 3 });
    expect(multi.evidence.siteAlarms!.map((s) => s.site)).toEqual(OUTBREAK);
    for (const alarm of multi.evidence.siteAlarms!) expect(alarm.statistic).toBeGreaterThan(alarm.threshold);
    expect(Object.keys(multi.evidence.siteSeries!)).toEqual(OUTBREAK);
    const t1 = raised.find((x) => x.scopeKind === 'site' && x.scopeId === 't1' && x.method === 'ears-c2')!;
    expect(t1.evidence).toMatchObject({ measure: 'rate', denominator: 'studies', date: DAY });
    expect(t1.evidence.series!.counts).toHaveLength(28);
    expect(t1.evidence.series!.counts.at(-1)).toBeGreaterThanOrEqual(8);
    expect(t1.evidence.baseline!.mean).toBeLessThan(t1.evidence.series!.counts.at(-1)!);

    const audit = await api.client.audit('?action=surveillance.alert-raised&limit=500');
    const ids = raised.map((x) => x.id);
    expect(audit.filter((r) => ids.includes(r.entityId)).map((r) => r.actor)).toEqual(ids.map(() => 'system:surveillance'));
  }, 120_000);

  it('when a township doctor acknowledges the multi-point alert, then it is audited with the doctor as the actor', async () => {
    const { client } = await api.signIn('dr-t1', ['grassroots-doctor'], ['t1']);
    const [multi] = (await client.json<{ items: SurveillanceAlert[] }>('/v1/surveillance/alerts?status=open')).body.items.filter((a) => a.scopeKind === 'multi-point');
    const ack = await client.json<SurveillanceAlert>(`/v1/surveillance/alerts/${multi.id}/acknowledge`, post({ note: 'Township t1: fever clinic opened, county informed' }));
    expect(ack.status).toBe(200);
    const [record] = await api.client.audit(`?action=surveillance.alert-acknowledged&entityId=${multi.id}`);
    expect(record).toMatchObject({ actor: 'dr-t1', payload: { note: 'Township t1: fever clinic opened, county informed' } });
  });
});
