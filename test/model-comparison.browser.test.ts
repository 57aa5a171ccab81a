/**
 * The comparison page in a real Chromium against the API role (real redis-server, PGlite):
 * nine uploaded chest films (at most nine: the test uploads vary the UIDs' last digits) read by two models of the label pneumonia (pneumonia-cxr 1.1.0
 * and cxr-pneumonia-adult 1.0.0) over three weeks, reviewed by a radiologist. A model-team
 * member opens `#/compare` from the agreement dashboard and sees the counts the API computed,
 * kappa, the weekly chart, the disagreements as pseudonymous links to the research view, and
 * the promotion checklist — with no promote button — in English and Chinese. Screenshots:
 * docs/screens/model-comparison-en.png and docs/screens/promotion-checklist-zh.png.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelComparison } from '../contract/model-comparison.ts';
import { ensureViewerBuilt } from '../scripts/ensure-deps.mjs';
import { finding } from '../store/test-fixtures.ts';
import { startTestApi, type TestApi } from './support/api-role.ts';
import { horizontalOverflow, launchChromium, screenshotDrawn, setViewerLanguage, signInOnForm } from './support/browser.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
const shots = join(repo, 'test-output', 'model-comparison');
const docsScreens = join(repo, 'docs', 'screens');
const PASSWORD = 'model-comparison-password-1';
const A = 'pneumonia-cxr@1.1.0';
const B = 'cxr-pneumonia-adult@1.0.0';

/** [A's probability, B's probability, the reader's decision on A's finding, the day of it]. */
const FILMS: [number, number, 'accept' | 'override' | null, string][] = [
  [0.9, 0.9, 'accept', '2026-11-10'], [0.8, 0.3, 'override', '2026-11-11'], [0.2, 0.1, 'accept', '2026-11-12'],
  [0.7, 0.8, 'accept', '2026-11-17'], [0.3, 0.7, null, '2026-11-17'], [0.1, 0.2, 'accept', '2026-11-18'],
  [0.9, 0.6, 'accept', '2026-11-24'], [0.6, 0.2, 'override', '2026-11-25'], [0.2, 0.3, 'accept', '2026-11-26'],
];

describe('compare versions: two models of one label on the same studies, and the promotion checklist', () => {
  let api: TestApi;
  let browser: Browser;
  const pageErrors: string[] = [];

  async function openCompare(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1100 }, locale: 'en-GB', timezoneId: 'UTC' });
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${api.url}/#/agreement`);
    await signInOnForm(page, 'ml-chen', PASSWORD);
    await page.getByTestId('open-compare').click();
    // The models offered: every version with findings of a label another also has.
    await expect.poll(() => page.getByTestId('compare-a').locator('option').count()).toBe(2);
    await page.getByTestId('compare-a').selectOption(A);
    await page.getByTestId('compare-b').selectOption(B);
    await page.getByTestId('compare-apply').click();
    await page.getByTestId('promotion-checklist').waitFor();
    await expect.poll(() => page.getByTestId('compare-table').locator('thead').textContent()).toContain(`A · ${A}`);
    return page;
  }

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    mkdirSync(docsScreens, { recursive: true });
    ensureViewerBuilt();
    api = await startTestApi();
    await api.store.createUser({ username: 'ml-chen', displayName: 'Chen (model team)', roles: ['model-team'], sites: ['main'], password: PASSWORD }, 'test');
    // The clinic's patients agree to sharing by policy, so the disagreements link to the de-identified studies.
    expect((await api.client.json('/v1/sites/main/consent-policy', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ purpose: 'sharing', mode: 'opt-out' }) })).status).toBe(200);
    for (const [pa, pb, decision, day] of FILMS) {
      const { sopInstanceUid: sop } = await api.addStudy();
      const model = finding(sop).model;
      await api.store.recordFindings(sop, [{ ...finding(sop, pa), id: `a-${sop}`, model: { ...model, id: 'pneumonia-cxr', version: '1.1.0' }, timingMs: { parse: 3, inference: 38 } }], 'worker');
      await api.store.recordFindings(sop, [{ ...finding(sop, pb), id: `b-${sop}`, model: { ...model, id: 'cxr-pneumonia-adult', version: '1.0.0' }, timingMs: { parse: 3, inference: 52 } }], 'worker');
      if (decision) {
        expect((await api.client.review(`a-${sop}`, decision === 'override' ? { decision, reasonCode: pa >= 0.5 ? 'false-positive' : 'false-negative' } : { decision })).status).toBe(201);
        await api.store.db.query('update reviews set created_at = $2 where finding_id = $1', [`a-${sop}`, `${day}T10:00:00Z`]);
      }
    }
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await api?.stop();
  });

  it('when a model-team member opens it from the dashboard, then the page shows the API\'s counts, kappa, weeks, links and a checklist without a promote button (English)', async () => {
    const { body } = await api.client.json<ModelComparison>(`/v1/model-comparison?a=${A}&b=${B}`);
    // Counted from FILMS: 9 studies, both positive 3, both negative 3, only A positive 2, only B positive 1.
    expect(body).toMatchObject({ studies: 9, bothPositive: 3, bothNegative: 3, onlyAPositive: 2, onlyBPositive: 1 });
    const page = await openCompare();
    expect(await page.getByTestId('compare-a').inputValue()).toBe(A);
    expect(await page.getByTestId('compare-b').inputValue()).toBe(B);
    await expect.poll(() => page.getByTestId('compare-pair').textContent()).toContain('Both positive 3 · Both negative 3 · Only A positive 2 · Only B positive 1');
    expect(await page.getByTestId('compare-kappa').textContent()).toBe(`${body.kappa!.value.toFixed(2)} (${body.kappa!.ci95[0].toFixed(2)}–${body.kappa!.ci95[1].toFixed(2)})`);
    expect(await page.getByTestId('compare-agreement').textContent()).toContain(`${body.a.readerAgreement!.k}/${body.a.readerAgreement!.n}`);
    expect(await page.getByTestId('compare-weeks').locator('circle').count()).toBe(2 * body.byWeek.length);
    const rows = page.getByTestId('compare-disagreement');
    expect(await rows.count()).toBe(3);
    const link = rows.first().locator('a');
    expect(await link.textContent()).toBe(body.disagreements[0].pseudonymousStudyUid);
    expect(await link.getAttribute('href')).toContain(`/v1/research/studies/${body.disagreements[0].pseudonymousStudyUid}`);
    expect(await page.getByTestId('compare-csv').getAttribute('href')).toContain('format=csv');
    const checks = page.getByTestId('promotion-check');
    expect(await checks.count()).toBe(4);
    expect(await page.locator('[data-check="decided-cases"]').getAttribute('data-pass')).toBe('false');
    expect(await page.getByTestId('promotion-human').textContent()).toContain('promotes nothing');
    expect(await page.getByTestId('promotion-checklist').locator('button').count()).toBe(0);
    expect(await horizontalOverflow(page)).toBe(0);
    await screenshotDrawn(page, join(shots, 'model-comparison-en.png'), 'comparison', join(docsScreens, 'model-comparison-en.png'));
    await page.context().close();
  });

  it('when the reader switches to Chinese, then the checklist speaks Chinese and keeps its pass/fail marks', async () => {
    const page = await openCompare();
    await setViewerLanguage(page, 'zh');
    await page.getByTestId('promotion-checklist').waitFor();
    await expect.poll(() => page.getByTestId('promotion-human').textContent()).toContain('决定权在人');
    expect(await page.getByTestId('promotion-checklist').textContent()).toContain('晋升核查清单');
    expect(await page.locator('[data-check="decided-cases"]').textContent()).toContain('未通过');
    await page.getByTestId('promotion-checklist').scrollIntoViewIfNeeded();
    await screenshotDrawn(page, join(shots, 'promotion-checklist-zh.png'), 'promotion-checklist', join(docsScreens, 'promotion-checklist-zh.png'));
    await page.context().close();
    expect(pageErrors).toEqual([]);
  });
});
