/**
 * The drift screen in a real Chromium, against the API role with a real redis-server and PGlite:
 * pneumonia-cxr's first 500 inferences (the reference), four quiet windows of 200, then two
 * windows of brighter images (seeded synthetic streams, written as the results consumer stores
 * them), the evaluation run by an admin. A model-team user sees PSI per window with the 0.1 and
 * 0.25 lines, the brighter windows over the drift line and the quiet ones under it, the alerts,
 * acknowledges one (audited under their name), in English and Chinese.
 * Screenshots: docs/screens/model-drift-en.png, model-drift-zh.png.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureViewerBuilt } from '../scripts/ensure-deps.mjs';
import { syntheticStream, UNSHIFTED } from '../tools/drift/synthetic.ts';
import { startTestApi, type TestApi } from './support/api-role.ts';
import { launchChromium, pngStats, signInOnForm } from './support/browser.ts';
import { seedDriftInferences } from './support/drift-seed.ts';
import { seededRandom } from '../inference/seeded-random.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
const shots = join(repo, 'docs', 'screens');
const PASSWORD = 'drift-test-password-1';
const post = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('drift screen: PSI per window with thresholds, alerts acknowledged', () => {
  let api: TestApi;
  let browser: Browser;
  const pageErrors: string[] = [];

  async function openScreen(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1100 }, locale: 'en-GB' });
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${api.url}/#/drift`);
    await signInOnForm(page, 'model-person', PASSWORD);
    await page.locator('[data-testid="drift-model"] option[value="pneumonia-cxr"]').waitFor({ state: 'attached' });
    await page.getByTestId('drift-model').selectOption('pneumonia-cxr');
    await page.getByTestId('drift-chart').waitFor();
    return page;
  }

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    ensureViewerBuilt();
    api = await startTestApi();
    const random = seededRandom(2026);
    const quiet = syntheticStream(500 + 4 * 200, UNSHIFTED, random, Date.UTC(2026, 10, 1));
    const bright = syntheticStream(2 * 200, { ...UNSHIFTED, brightness: 0.05 }, random, Date.UTC(2026, 10, 3));
    // The shipped version, so its card's deployment state labels it.
    await seedDriftInferences(api.store.db, { id: 'pneumonia-cxr', version: '1.1.0' }, [...quiet, ...bright]);
    expect((await api.client.json('/v1/model-drift/run', post({}))).status).toBe(200);
    await api.store.createUser({ username: 'model-person', displayName: 'Model team', roles: ['model-team'], sites: ['main'], password: PASSWORD }, 'test');
    browser = await launchChromium();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await api?.stop();
  });

  it('when the model team opens the screen, then PSI is drawn per window with both thresholds, the brighter windows over the drift line and the quiet ones under it', async () => {
    const page = await openScreen();
    expect(await page.getByTestId('drift-threshold').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-value'))))).toEqual([0.1, 0.25]);
    const meanPsi = await page.locator('[data-testid="drift-point"][data-quantity="input-mean"]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-psi'))));
    expect(meanPsi).toHaveLength(6);
    expect(meanPsi.slice(0, 4).every((v) => v < 0.25)).toBe(true);
    expect(meanPsi.slice(4).every((v) => v > 0.25)).toBe(true);
    expect(await page.getByTestId('drift-windows').locator('tbody tr').count()).toBe(6);
    const alerts = page.getByTestId('drift-alert');
    expect(await alerts.count()).toBeGreaterThan(1);
    expect(await alerts.first().textContent()).toMatch(/departed in window [56] of version 1\.1\.0: PSI/);
    expect(await page.getByTestId('drift-deployment').textContent()).toBe('Clinical');
    expect(await page.getByTestId('drift-notice').textContent()).toMatch(/AI/);
    const png = await page.screenshot({ path: join(shots, 'model-drift-en.png'), fullPage: true });
    expect((await pngStats(png)).colours).toBeGreaterThan(12);
    expect(pageErrors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('when an alert is acknowledged with a note, then it shows who acknowledged it and the audit trail names the model-team user', async () => {
    const page = await openScreen();
    const alert = page.locator('[data-testid="drift-alert"][data-status="open"]').first();
    await alert.getByTestId('drift-ack-note').fill('New detector at main since 3 Nov; recalibration planned');
    await alert.getByTestId('drift-ack').click();
    await page.locator('[data-testid="drift-alert"][data-status="acknowledged"]').first().waitFor();
    expect(await page.locator('[data-testid="drift-alert"][data-status="acknowledged"]').first().textContent()).toMatch(/Acknowledged by model-person: New detector/);
    const records = await api.client.audit('?action=model.drift-alert-acknowledged');
    expect(records.map((r) => r.actor)).toEqual(['model-person']);
    await page.context().close();
  }, 60_000);

  it('when the screen is switched to Chinese, then it reads in Chinese', async () => {
    const page = await openScreen();
    await page.getByTestId('lang-zh').click();
    await page.getByTestId('drift-chart').waitFor();
    expect(await page.getByTestId('nav-drift').textContent()).toBe('模型漂移');
    expect(await page.locator('.drift-screen h2').textContent()).toBe('模型漂移');
    expect(await page.getByTestId('drift-alert').first().textContent()).toMatch(/偏离参考：PSI/);
    expect(await page.getByTestId('drift-deployment').textContent()).toBe('临床使用');
    await page.screenshot({ path: join(shots, 'model-drift-zh.png'), fullPage: true });
    await page.context().close();
  }, 60_000);
});
