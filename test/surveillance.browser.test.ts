/**
 * The surveillance screen in a real Chromium, against the API role with a real redis-server and
 * PGlite: 28 days of bedside assessments at three township clinics under a county (seeded), two of
 * them with a fever rise today, the detection run by an admin. A county radiologist (their hospital
 * reads for the three clinics) sees one small chart per clinic grouped under the county, the alarm
 * day drawn in red on the two rising clinics only (checked in the DOM and in the pixels), the alert
 * list with evidence, acknowledges an alert (audited under their name), in English and Chinese and
 * on a 360 px phone. Screenshots land in test-output/surveillance/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays } from '../inference/surveillance/series.ts';
import { localDate } from '../pipeline/surveillance.ts';
import { ensureViewerBuilt } from '../scripts/ensure-deps.mjs';
import { startTestApi, type TestApi } from './support/api-role.ts';
import { horizontalOverflow, launchChromium, pngStats, signInOnForm } from './support/browser.ts';
import { seedSurveillanceFacts, type SeedDay } from './support/surveillance-seed.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
const shots = join(repo, 'test-output', 'surveillance');
const ZONE = 'Asia/Shanghai';
const PASSWORD = 'surveillance-test-password-1';
const post = (body: unknown, method = 'POST') => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** Pixels of the alarm red (#ff3b2f in surveillance.css) inside `box` of a screenshot. */
async function alarmRedPixels(png: Buffer, box: { x: number; y: number; width: number; height: number }): Promise<number> {
  const { data, info } = await sharp(png).removeAlpha()
    .extract({ left: Math.floor(box.x), top: Math.floor(box.y), width: Math.ceil(box.width), height: Math.ceil(box.height) })
    .raw().toBuffer({ resolveWithObject: true });
  let red = 0;
  for (let i = 0; i < data.length; i += info.channels) if (data[i] > 220 && data[i + 1] < 100 && data[i + 2] < 90) red += 1;
  return red;
}

describe('surveillance screen: small multiples per clinic, alarms marked, alerts acknowledged', () => {
  let api: TestApi;
  let browser: Browser;
  const pageErrors: string[] = [];
  const today = localDate(ZONE);

  async function openScreen(viewport: { width: number; height: number }): Promise<Page> {
    const context = await browser.newContext({ viewport, locale: 'en-GB', timezoneId: ZONE });
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${api.url}/#/surveillance`);
    await signInOnForm(page, 'dr-county', PASSWORD);
    await page.locator('[data-testid="surv-site"][data-site="town-a"]').waitFor();
    await page.getByTestId('surv-alert').first().waitFor();
    return page;
  }

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    ensureViewerBuilt();
    api = await startTestApi();
    for (const site of [{ id: 'county', name: 'Qingshan County Hospital', level: 'county' }, ...['a', 'b', 'c'].map((x) => ({ id: `town-${x}`, name: `Township ${x.toUpperCase()}`, level: 'township', parentId: 'county' }))]) {
      expect((await api.client.json('/v1/sites', post(site))).status).toBe(201);
    }
    expect((await api.client.json('/v1/sites/county/reads-for', post({ readsFor: ['town-a', 'town-b', 'town-c'] }, 'PUT'))).status).toBe(200);
    await api.store.createUser({ username: 'dr-county', displayName: 'Dr Zhao (county)', roles: ['radiologist'], sites: ['county'], password: PASSWORD }, 'test');
    const days: SeedDay[] = [];
    for (let i = 27; i >= 0; i--) {
      for (const [n, site] of ['town-a', 'town-b', 'town-c'].entries()) {
        const fevers = i === 0 && site !== 'town-c' ? 7 + n : 1 + ((i + n) % 3 === 0 ? 1 : 0);
        days.push({ site, day: addDays(today, -i), studies: 0, positives: 0, assessments: 10, fevers });
      }
    }
    await seedSurveillanceFacts(api.store.db, days);
    expect((await api.client.json('/v1/surveillance/run', post({ date: today }))).status).toBe(200);
    browser = await launchChromium();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await api?.stop();
  });

  it('when the county radiologist opens the screen, then each clinic has its chart under the county and the alarm is drawn on the two rising clinics only', async () => {
    const page = await openScreen({ width: 1280, height: 800 });
    const group = page.locator('[data-testid="surv-group"][data-parent="county"]');
    expect(await group.getByTestId('surv-site').evaluateAll((els) => els.map((e) => e.getAttribute('data-site')))).toEqual(['town-a', 'town-b', 'town-c']);
    const site = (id: string) => page.locator(`[data-testid="surv-site"][data-site="${id}"]`);
    for (const [id, alarms] of [['town-a', 1], ['town-b', 1], ['town-c', 0]] as const) {
      expect(await site(id).getAttribute('data-alarms'), id).toBe(String(alarms));
      expect(await site(id).getByTestId('alarm-day').count(), id).toBe(alarms);
      expect(await site(id).getByTestId('bar').count() + await site(id).getByTestId('alarm-bar').count(), id).toBe(28);
      expect(await site(id).getByTestId('band').count(), id).toBeGreaterThan(15);
    }
    expect(await page.getByTestId('surv-signal').locator('option:checked').textContent()).toMatch(/^Fever \(≥ 38\.0 °C\) \(\d+\)$/);

    const png = await page.screenshot({ path: join(shots, 'surveillance-en.png') });
    expect((await pngStats(png)).colours).toBeGreaterThan(12);
    const chartBox = async (id: string) => (await site(id).getByTestId('surv-chart').boundingBox())!;
    expect(await alarmRedPixels(png, await chartBox('town-a'))).toBeGreaterThan(20);
    expect(await alarmRedPixels(png, await chartBox('town-b'))).toBeGreaterThan(20);
    expect(await alarmRedPixels(png, await chartBox('town-c'))).toBe(0);
    const inside = await pngStats(png, { left: (await chartBox('town-c')).x, top: (await chartBox('town-c')).y, width: (await chartBox('town-c')).width, height: (await chartBox('town-c')).height });
    expect(inside.inkShare).toBeGreaterThan(0.05);
    await page.context().close();
  }, 60_000);

  it('when an alert is acknowledged with a note, then it moves to the acknowledged list and the audit trail names the radiologist', async () => {
    const page = await openScreen({ width: 1280, height: 800 });
    const multi = page.locator('[data-testid="surv-alert"][data-scope="multi-point"]');
    expect(await multi.count()).toBeGreaterThan(0);
    expect(await multi.first().getByTestId('evidence-chart').count()).toBe(2);
    const alert = page.locator('[data-testid="surv-alert"][data-scope="site"]').first();
    const id = (await alert.getAttribute('data-alert-id'))!;
    await alert.getByTestId('ack-note').fill('Township clinics phoned; fever clinic opened');
    await alert.getByTestId('ack-button').click();
    const done = page.locator(`[data-testid="surv-alerts-acknowledged"] [data-alert-id="${id}"] [data-testid="ack-done"]`);
    await done.waitFor({ state: 'attached' });
    expect(await done.textContent()).toMatch(/^Acknowledged by dr-county, .+: Township clinics phoned; fever clinic opened$/);
    expect(await page.locator(`[data-testid="surv-alerts"] [data-alert-id="${id}"]`).count()).toBe(0);
    const [record] = await api.client.audit(`?action=surveillance.alert-acknowledged&entityId=${id}`);
    expect(record).toMatchObject({ actor: 'dr-county', payload: { note: 'Township clinics phoned; fever clinic opened' } });
    await page.context().close();
  }, 60_000);

  it('when the screen is switched to Chinese, then it reads in Chinese and still marks the alarms', async () => {
    const page = await openScreen({ width: 1280, height: 800 });
    await page.getByTestId('lang-zh').click();
    await page.locator('[data-testid="surv-site"][data-site="town-a"]').waitFor();
    expect(await page.locator('h1').textContent()).toBe('传染病多点触发监测预警');
    expect(await page.getByTestId('nav-surveillance').textContent()).toBe('监测预警');
    expect(await page.getByTestId('surv-signal').locator('option').allTextContents()).toEqual([expect.stringMatching(/^发热/), expect.stringMatching(/^呼吸急促/)]);
    expect(await page.locator('[data-testid="surv-site"][data-site="town-a"] [data-testid="alarm-day"]').count()).toBe(1);
    const png = await page.screenshot({ path: join(shots, 'surveillance-zh.png') });
    expect((await pngStats(png)).colours).toBeGreaterThan(12);
    await page.context().close();
  }, 60_000);

  it('when opened on a 360 px phone, then nothing scrolls sideways and the charts are drawn', async () => {
    const page = await openScreen({ width: 360, height: 740 });
    expect(await horizontalOverflow(page)).toBe(0);
    const box = (await page.locator('[data-testid="surv-site"][data-site="town-a"] [data-testid="surv-chart"]').boundingBox())!;
    expect(box.width).toBeGreaterThan(250);
    expect(box.width).toBeLessThanOrEqual(360);
    await page.screenshot({ path: join(shots, 'surveillance-phone.png'), fullPage: true });
    await page.context().close();
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('when a clinic\'s fevers are corrected and the detection runs again, then its open alerts move to the withdrawn list, saying why in either language', async () => {
    // Township B's febrile assessments of today, re-recorded afebrile (as a corrected bedside assessment would be).
    await api.store.db.query(
      `update study_clinical c set clinical = jsonb_set(jsonb_set(c.clinical, '{scoreInputs,news2,temperature}', '36.8'), '{scoreInputs,news2,respiratoryRate}', '16')
         from studies s where s.study_instance_uid = c.study_instance_uid and s.site_id = 'town-b' and (s.received_at at time zone $2)::date = $1::date`, [today, ZONE]);
    const run = await api.client.json<{ withdrawn: string[] }>('/v1/surveillance/run', post({ date: today }));
    expect(run.body.withdrawn.length).toBeGreaterThan(0);
    const page = await openScreen({ width: 1280, height: 800 });
    const withdrawn = page.getByTestId('surv-alerts-withdrawn');
    const id = run.body.withdrawn[0];
    const note = withdrawn.locator(`[data-alert-id="${id}"] [data-testid="withdrawn-note"]`);
    await note.waitFor({ state: 'attached' });
    expect(await note.textContent()).toMatch(new RegExp(`^Withdrawn .+: on the counts recomputed by the run of ${today}, this day no longer alarms`));
    expect(await withdrawn.getByTestId('surv-alert').count()).toBe(run.body.withdrawn.length);
    for (const gone of run.body.withdrawn) expect(await page.locator(`[data-testid="surv-alerts"] [data-alert-id="${gone}"]`).count()).toBe(0);
    await page.getByTestId('lang-zh').click();
    await expect.poll(() => note.textContent()).toMatch(new RegExp(`^已于 .+ 撤销：按 ${today} 运行时重新计算的计数，该日不再报警`));
    await page.context().close();
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
