/**
 * The home vital-signs screens in a real Chromium against `lantern start`: a patient with a
 * chest film sends three hours of readings (a watch every 10 minutes, a cuff and thermometer
 * every 30, consciousness and oxygen once) while deteriorating. The worklist shows the
 * escalation in its alert strip; its link opens the patient's trend, whose plots are checked in
 * the DOM (one per parameter and NEWS2, the 5 and 7 thresholds, every reading, the carried-forward
 * values, the alerts) and in pixels (the emergency threshold drawn in its red), in English and
 * Chinese. Screenshots land in test-output/vitals/ and, as palette copies under 250 KB, in
 * docs/screens/patient-vitals-{en,zh}.png. Acknowledging the alert takes it off the strip.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PatientVitals, VitalAlert } from '../contract/vitals.ts';
import { apiClient } from './support/api-client.ts';
import { launchChromium, pngStats, setViewerLanguage, signedInPage, writeDocsScreenshot } from './support/browser.ts';
import { withFreshUids, withPatientId } from './support/dicom-builder.ts';
import { files } from './support/shared-data.ts';
import { newUser, type SignedIn } from './support/sign-in.ts';
import { startStack, type Stack } from './support/stack.ts';
import { ensureViewerBuilt } from '../scripts/ensure-deps.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
const shots = join(repo, 'test-output', 'vitals');
const docsScreens = join(repo, 'docs', 'screens');
const SCREEN = { width: 1280, height: 900 };
const PATIENT = 'PV42';

/** Three hours of a deteriorating patient: RR 16→28, SpO2 97→90, pulse 78→128 every 10 min; BP and temperature every 30; alert, on air, once. */
function readings(now: number) {
  const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
  const out: { parameter: string; value: number | string | boolean; unit?: string; at: string }[] = [
    { parameter: 'consciousness', value: 'alert', at: at(180) },
    { parameter: 'supplementalOxygen', value: false, at: at(180) },
  ];
  for (let m = 180, i = 0; m >= 0; m -= 10, i++) {
    const f = i / 18;
    out.push({ parameter: 'respiratoryRate', value: Math.round(16 + 12 * f), unit: '/min', at: at(m) });
    out.push({ parameter: 'spo2', value: Math.round(97 - 7 * f), unit: '%', at: at(m) });
    out.push({ parameter: 'pulse', value: Math.round(78 + 50 * f), unit: '/min', at: at(m) });
    if (m % 30 === 0) {
      out.push({ parameter: 'systolicBp', value: Math.round(128 - 30 * f), unit: 'mmHg', at: at(m) });
      out.push({ parameter: 'temperature', value: Math.round((98.2 + 4 * f) * 10) / 10, unit: '°F', at: at(m) });
    }
  }
  return out;
}

describe('home vital signs: the alert strip on the worklist and the patient\'s trend', () => {
  let stack: Stack;
  let browser: Browser;
  let doctor: SignedIn;
  let page: Page;
  let trend: PatientVitals;
  let studyInstanceUid: string;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    ensureViewerBuilt();
    stack = await startStack({ workers: 0 });
    doctor = await newUser(stack.baseUrl, stack.token, { username: 'dr-li', displayName: 'Dr Li', roles: ['grassroots-doctor'] });
    const api = apiClient(stack.baseUrl, doctor.token);
    const stowed = await api.stow([withPatientId(withFreshUids(readFileSync(files.chestJ2k), 8801), PATIENT)]);
    expect(stowed.status).toBe(200);
    studyInstanceUid = stowed.body.stored![0].studyInstanceUid;
    const posted = await api.json<{ patientKey: string; stored: number; alertsRaised: number }>('/v1/vitals', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ patientId: PATIENT, deviceId: 'watch-9', observations: readings(Date.now() - 60_000) }),
    });
    expect(posted.status).toBe(200);
    expect(posted.body.alertsRaised).toBeGreaterThan(0);
    trend = (await api.json<PatientVitals>(`/v1/patients/${posted.body.patientKey}/vitals`)).body;
    browser = await launchChromium();
    page = await signedInPage(browser, doctor, { viewport: SCREEN, contexts, pageErrors });
  }, 240_000);
  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await stack?.stop();
  });

  it('when the worklist opens, then the strip shows the patient\'s open alerts with level, NEWS2 and reason, linking to the trend', async () => {
    await page.goto(`${stack.baseUrl}/#/`);
    const strip = page.getByTestId('vital-alert-strip');
    await strip.waitFor();
    const alerts = trend.alerts.filter((a) => a.status === 'open');
    await expect.poll(() => strip.getByTestId('vital-alert').count()).toBe(alerts.length);
    const first = strip.getByTestId('vital-alert').first();
    await expect.poll(() => first.textContent()).toMatch(new RegExp(`NEWS2 ${alerts[0].score}`));
    expect(await first.textContent()).toMatch(/emergency|urgent/);
    expect(await strip.textContent()).toMatch(/not a diagnosis/);
    const png = await page.screenshot({ path: join(shots, 'worklist-alerts-en.png') });
    const box = (await strip.boundingBox())!;
    expect((await pngStats(png, { left: box.x, top: box.y, width: box.width, height: box.height })).inkShare).toBeGreaterThan(0.05);
    await first.getByTestId('vital-alert-link').click();
    await page.getByTestId('news2-plot').waitFor();
    expect(page.url()).toMatch(new RegExp(`#/patients/${trend.patientKey}$`));
  });

  it('when the trend shows, then each parameter and NEWS2 is plotted with every reading, the carried-forward values, the thresholds and the alerts', async () => {
    expect(await page.locator('svg.vitals-plot').count()).toBe(8);
    for (const p of ['respiratoryRate', 'spo2', 'pulse', 'systolicBp', 'temperature', 'consciousness', 'supplementalOxygen']) await page.getByTestId(`plot-${p}`).waitFor();
    expect(await page.getByTestId('obs-point').count()).toBe(trend.observations.length);
    const carried = trend.news2.reduce((n, p) => n + Object.values(p.inputs).filter((i) => i.carried).length, 0);
    expect(carried).toBeGreaterThan(0);
    expect(await page.getByTestId('carried-point').count()).toBe(carried);
    expect(await page.getByTestId('news2-point').count()).toBe(trend.news2.length);
    expect(await page.getByTestId('alert-mark').count()).toBe(trend.alerts.length);
    expect(await page.getByTestId('plot-respiratoryRate').getByTestId('band-3').count()).toBe(2);

    // The thresholds are horizontal lines, 7 above 5, and the points sit where their scores say.
    const y = (testid: string) => page.getByTestId(testid).evaluate((el) => [Number(el.getAttribute('y1')), Number(el.getAttribute('y2'))]);
    const [y5a, y5b] = await y('threshold-5');
    const [y7a, y7b] = await y('threshold-7');
    expect([y5a, y7a]).toEqual([y5b, y7b]);
    expect(y7a).toBeLessThan(y5a);
    const pointYs = await page.getByTestId('news2-point').evaluateAll((els) => els.map((el) => [Number(el.getAttribute('data-score')), Number(el.getAttribute('cy'))]));
    for (const [score, cy] of pointYs) expect(score >= 7 ? cy <= y7a + 0.01 : score < 5 ? cy > y5a : cy <= y5a + 0.01 && cy > y7a).toBe(true);
  });

  it('when the trend is shown in English and Chinese, then its labels follow the language and the emergency threshold is drawn in red', async () => {
    for (const lang of ['en', 'zh'] as const) {
      await setViewerLanguage(page, lang);
      await page.getByTestId('news2-plot').waitFor();
      const text = await page.locator('#screen').textContent();
      if (lang === 'zh') for (const word of ['呼吸频率', '血氧饱和度', '心率', '收缩压', '体温', '意识', 'NEWS2 趋势', '7 危急']) expect(text).toContain(word);
      else for (const word of ['Respiratory rate', 'SpO2', 'Heart rate', 'Systolic BP', 'Temperature', 'NEWS2 over time', '7 emergency']) expect(text).toContain(word);
      // Home readings carry neither a birth date nor a pregnancy status: one line says neither was checked, and why.
      const caveats = page.getByTestId('news2-caveats');
      expect(await caveats.getAttribute('data-codes')).toBe('AGE_NOT_RECORDED PREGNANCY_NOT_RECORDED');
      expect(await caveats.textContent()).toMatch(lang === 'zh' ? /^未能核对：未记录患者年龄；未记录是否妊娠。.*不适用于孕妇/ : /^Not checked: patient age not recorded; pregnancy not recorded\. .*not for pregnancy/);

      const png = await page.screenshot({ path: join(shots, `patient-vitals-${lang}.png`), fullPage: true });
      expect((await pngStats(png)).colours).toBeGreaterThan(30);
      const plot = (await page.getByTestId('news2-plot').boundingBox())!;
      expect((await pngStats(png, { left: plot.x, top: plot.y, width: plot.width, height: plot.height })).inkShare).toBeGreaterThan(0.1);
      // A one-pixel strip along the emergency line: some of it is the line's red (#d9473b), not background.
      const line = (await page.getByTestId('threshold-7').boundingBox())!;
      const { data, info } = await sharp(png).removeAlpha().extract({ left: Math.round(line.x) + 2, top: Math.round(line.y + line.height / 2), width: Math.round(line.width) - 4, height: 1 }).raw().toBuffer({ resolveWithObject: true });
      let red = 0;
      for (let i = 0; i < data.length; i += info.channels) if (data[i] > 170 && data[i + 1] < 110 && data[i + 2] < 100) red++;
      expect(red / info.width).toBeGreaterThan(0.25);

      await writeDocsScreenshot(png, join(docsScreens, `patient-vitals-${lang}.png`));
    }
    await page.getByTestId('lang-en').click();
  });

  it('when the patient\'s film is open, then the study view links to the same trend', async () => {
    await page.goto(`${stack.baseUrl}/#/study/${studyInstanceUid}`);
    await page.getByTestId('study-vitals-link').click();
    await page.getByTestId('news2-plot').waitFor();
    expect(page.url()).toMatch(new RegExp(`#/patients/${trend.patientKey}$`));
  });

  it('when an alert is acknowledged on the strip, then it leaves the strip and the API lists it as acknowledged by the doctor', async () => {
    await page.goto(`${stack.baseUrl}/#/`);
    const strip = page.getByTestId('vital-alert-strip');
    await strip.getByTestId('vital-alert').first().waitFor();
    const before = await strip.getByTestId('vital-alert').count();
    const id = Number(await strip.getByTestId('vital-alert').first().getAttribute('data-alert-id'));
    await strip.getByTestId('vital-alert-ack').first().click();
    await expect.poll(() => page.locator(`[data-testid="vital-alert"][data-alert-id="${id}"]`).count()).toBe(0);
    expect(await strip.getByTestId('vital-alert').count()).toBe(before - 1);
    const { body } = await apiClient(stack.baseUrl, doctor.token).json<{ items: VitalAlert[] }>('/v1/vital-alerts?status=acknowledged');
    expect(body.items.find((a) => a.id === id)).toMatchObject({ acknowledgedBy: 'dr-li' });
    expect(pageErrors).toEqual([]);
  });
});
