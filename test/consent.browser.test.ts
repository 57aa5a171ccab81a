/**
 * A radiologist opens the worklist in a real Chromium (the built viewer) after a patient
 * refused AI analysis: the study's row and its view say AI was not run and why, in place of
 * findings, in English and — after switching — in Chinese; a study analysed as usual carries
 * no such notice.
 */
import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureViewerBuilt } from '../scripts/ensure-deps.mjs';
import { startTestApi, type TestApi } from './support/api-role.ts';
import { launchChromium } from './support/browser.ts';
import { withFreshUids, withPatientId } from './support/dicom-builder.ts';
import { files } from './support/shared-data.ts';
import { newUser } from './support/sign-in.ts';

describe('the viewer shows when consent kept AI away (Chromium)', () => {
  let api: TestApi;
  let browser: Browser;
  let page: Page;
  let refused: string;
  let analysed: string;

  beforeAll(async () => {
    ensureViewerBuilt();
    api = await startTestApi();
    const reader = await newUser(api.url, api.token, { username: 'dr-gao', displayName: 'Dr Gao', roles: ['radiologist'] });
    const consent = await fetch(new URL('/v1/consent', api.url), {
      method: 'POST', headers: { ...reader.authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ patientId: 'PV01', purpose: 'ai-processing', decision: 'refused' }),
    });
    expect(consent.status).toBe(200);
    const upload = async (patientId: string, n: number) => {
      const { status, body } = await api.client.stow([withPatientId(withFreshUids(fs.readFileSync(files.chestJ2k), n), patientId)]);
      expect(status).toBe(200);
      return body.stored![0].studyInstanceUid;
    };
    refused = await upload('PV01', 801);
    analysed = await upload('PV02', 802);
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    await reader.signInBrowser(context);
    page = await context.newPage();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await api?.stop();
  });

  const rowOf = (uid: string) => page.locator(`[data-testid="worklist-row"][data-study-uid="${uid}"]`);

  it('when the worklist opens, then the refused patient\'s row says AI was not run where "none" would be, and the other row does not', async () => {
    await page.goto(new URL('/#/', api.url).href);
    await expect.poll(() => rowOf(refused).count(), { timeout: 15_000 }).toBe(1);
    const notice = rowOf(refused).getByTestId('ai-withheld');
    expect(await notice.textContent()).toMatch(/^AI not run: the patient declined AI analysis/);
    expect(await notice.getAttribute('data-code')).toBe('patient-refused');
    expect(await rowOf(refused).getAttribute('data-status')).toBe('ready');
    expect(await rowOf(refused).locator('.col-findings').textContent()).not.toMatch(/none|analysing/);
    expect(await rowOf(analysed).getByTestId('ai-withheld').count()).toBe(0);
  });

  it('when the study is opened, then its view says so under the head; in Chinese after a switch', async () => {
    await page.goto(new URL(`/#/study/${encodeURIComponent(refused)}`, api.url).href);
    const banner = page.getByTestId('study-head').locator('xpath=..').getByTestId('ai-withheld');
    await expect.poll(() => banner.textContent(), { timeout: 15_000 }).toMatch(/^AI not run: the patient declined/);
    // And where the findings would be, instead of "No AI findings for this study.".
    expect(await page.getByText('No AI findings for this study.').count()).toBe(0);
    expect(await page.getByTestId('ai-withheld').count()).toBe(2);
    await page.evaluate(() => localStorage.setItem('lantern.locale', 'zh'));
    await page.reload();
    await expect.poll(() => banner.textContent(), { timeout: 15_000 }).toMatch(/^未使用 AI：患者拒绝 AI 分析/);
  });

  it('when the reader records in the study view that a patient whose images wait for AI refuses it, then the study says so at once, audited under the reader\'s name', async () => {
    await page.goto(new URL(`/#/study/${encodeURIComponent(analysed)}`, api.url).href);
    await page.evaluate(() => localStorage.setItem('lantern.locale', 'en'));
    await page.reload();
    await expect.poll(() => page.getByTestId('study-status').textContent(), { timeout: 15_000 }).toBe('pending');
    await page.getByTestId('consent-panel').locator('summary').click();
    const ai = page.getByTestId('consent-state').locator('[data-purpose="ai-processing"]');
    await expect.poll(() => ai.textContent(), { timeout: 10_000 }).toBe('AI analysis: allowed (site policy: unless the patient refuses)');
    await page.getByTestId('consent-purpose').selectOption('ai-processing');
    await page.getByTestId('consent-decision').selectOption('refused');
    await page.getByTestId('consent-note').fill('said so at the desk');
    await page.getByTestId('consent-record').click();
    await expect.poll(() => ai.textContent(), { timeout: 10_000 }).toBe('AI analysis: not allowed (the patient refused)');
    // The live stream brings the study's change: no longer pending, and why.
    const banner = page.getByTestId('study-head').locator('xpath=..').getByTestId('ai-withheld');
    await expect.poll(() => banner.textContent(), { timeout: 15_000 }).toMatch(/^AI not run: the patient declined/);
    expect(await page.getByTestId('study-status').textContent()).toBe('ready');
    const [recorded] = (await api.client.audit('?action=consent.recorded')).filter((r) => r.entityId === 'main:PV02');
    expect(recorded).toMatchObject({ actor: 'dr-gao', payload: { decision: 'refused', note: 'said so at the desk' } });
  });
});
