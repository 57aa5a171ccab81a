/**
 * The model team's story in a real Chromium against `lantern start`: four real chest
 * radiographs arrive over STOW-RS, the served read-assist model reads them, readers accept,
 * override with coded reasons, amend one decision and add a missed finding — all through
 * the API — and the agreement dashboard shows exactly those counts, the Wilson interval,
 * the override Pareto and the day's acceptance, in English and Chinese, on a wide screen
 * and a phone. The CSV download carries the same rows. A decision made while the
 * dashboard is open shows up without a reload. Screenshots land in test-output/dashboard/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from './support/api-client.ts';
import { horizontalOverflow, launchChromium, pngStats } from './support/browser.ts';
import { withFreshUids } from './support/dicom-builder.ts';
import { files } from './support/shared-data.ts';
import { startStack, waitFor, type Stack } from './support/stack.ts';
import { ensureViewerBuilt } from '../scripts/ensure-deps.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
const shots = join(repo, 'test-output', 'dashboard');
/** The read-assist model that answers on these adult CRs (pneumonia-cxr declines them; nih-cxr-abnormal is evaluate-only). */
const MODEL = 'cxr-pneumonia-adult';

interface Decision {
  findingId: string;
  decision: 'accept' | 'override';
  reasonCode?: string;
  comment?: string;
}

interface Expected {
  findings: number;
  decided: number;
  accepted: number;
  overridden: number;
  amended: number;
  readerFindings: number;
  reasons: [string, number][];
}

/** Wilson score interval at 95 %, written out here so the API's own arithmetic is checked, not reused. */
function wilson(k: number, n: number): [number, number] {
  const z = 1.959963984540054;
  const p = k / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

const pct = (v: number) => `${Math.round(v * 100)}%`;

/** Minimal RFC 4180 reader: quoted cells, doubled quotes, CRLF. */
function parseCsv(text: string): Record<string, string>[] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(cell), (cell = '');
    else if (c === '\n') row.push(cell), rows.push(row), (row = []), (cell = '');
    else if (c !== '\r') cell += c;
  }
  if (cell || row.length) row.push(cell), rows.push(row);
  const [header, ...body] = rows;
  return body.map((r) => Object.fromEntries(header.map((name, i) => [name.replace(/^\uFEFF/, ''), r[i]])));
}

describe('agreement dashboard: what readers made of the AI, per model version and label', () => {
  let stack: Stack;
  let api: ReturnType<typeof apiClient>;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  /** The model's findings, one per study, in upload order. */
  let findings: string[] = [];
  const decisions: Decision[] = [];

  const review = async (d: Decision) => {
    const { status, body } = await api.review(d.findingId, { decision: d.decision, reasonCode: d.reasonCode, comment: d.comment });
    expect(status, JSON.stringify(body)).toBe(201);
    decisions.push(d);
  };

  /** What the dashboard must show, derived from the decisions this test made (the latest per finding counts). */
  function expected(readerFindings: number): Expected {
    const latest = new Map<string, Decision>();
    const times = new Map<string, number>();
    for (const d of decisions) {
      latest.set(d.findingId, d);
      times.set(d.findingId, (times.get(d.findingId) ?? 0) + 1);
    }
    const finals = [...latest.values()];
    const reasons = new Map<string, number>();
    for (const d of finals.filter((x) => x.decision === 'override')) reasons.set(d.reasonCode!, (reasons.get(d.reasonCode!) ?? 0) + 1);
    return {
      findings: findings.length,
      decided: finals.length,
      accepted: finals.filter((d) => d.decision === 'accept').length,
      overridden: finals.filter((d) => d.decision === 'override').length,
      amended: [...times.values()].filter((n) => n > 1).length,
      readerFindings,
      reasons: [...reasons].sort((a, b) => b[1] - a[1]),
    };
  }

  async function openDashboard(viewport: { width: number; height: number }, browserLocale = 'en-GB'): Promise<Page> {
    const context = await browser.newContext({ viewport, locale: browserLocale, acceptDownloads: true });
    contexts.push(context);
    await stack.signInBrowser(context);
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${stack.baseUrl}#/agreement`);
    await page.getByTestId('agreement-row').first().waitFor();
    return page;
  }

  const row = (page: Page, modelId: string): Locator => page.locator(`[data-testid="agreement-row"][data-model="${modelId}"]`);

  async function expectRow(page: Page, modelId: string, e: Expected): Promise<void> {
    const r = row(page, modelId);
    for (const [testid, value] of [['findings', e.findings], ['decided', e.decided], ['overridden', e.overridden], ['amended', e.amended], ['reader-findings', e.readerFindings]] as const) {
      expect(await r.getByTestId(testid).textContent(), `${modelId} ${testid}`).toBe(String(value));
    }
    const cell = r.getByTestId('acceptance');
    expect(Number(await cell.getAttribute('data-rate'))).toBeCloseTo(e.accepted / e.decided, 9);
    const [lo, hi] = wilson(e.accepted, e.decided);
    expect(Number(await cell.getAttribute('data-ci-low'))).toBeCloseTo(lo, 6);
    expect(Number(await cell.getAttribute('data-ci-high'))).toBeCloseTo(hi, 6);
    expect(await cell.textContent()).toBe(`${pct(e.accepted / e.decided)} (${pct(lo)}–${pct(hi)})`);
    expect(await r.getByTestId('time-to-decision').textContent()).toMatch(/^\d+(\.\d)? (s|min) \/ \d+(\.\d)? (s|min)$/);
  }

  /** The screenshot shows a drawn chart: ink and several colours inside the chart's box. */
  async function screenshotShows(page: Page, path: string, region: Locator, fullPage = false): Promise<void> {
    await region.scrollIntoViewIfNeeded();
    const box = (await region.boundingBox())!;
    const png = await page.screenshot({ path, fullPage });
    const scrollY = fullPage ? await page.evaluate(() => window.scrollY) : 0;
    expect((await pngStats(png)).colours).toBeGreaterThan(12);
    const inside = await pngStats(png, { left: box.x, top: box.y + scrollY, width: box.width, height: box.height });
    expect(inside.colours).toBeGreaterThan(5);
    expect(inside.inkShare).toBeGreaterThan(0.03);
  }

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    ensureViewerBuilt();
    stack = await startStack();
    api = apiClient(stack.baseUrl, stack.token);
    browser = await launchChromium();

    // Four studies of the two real adult chest radiographs (fresh UIDs for the copies); the model answers on each.
    // (The other CRs in the shared data are a leg and a film whose patient would be 119: the model declines them.)
    const uids: string[] = [];
    const films = [files.chestRaw, files.chestJ2k].map((file) => new Uint8Array(readFileSync(file)));
    for (const bytes of [...films, ...films.map((film, i) => withFreshUids(film, 900 + i))]) {
      const { status, body } = await api.stow([bytes]);
      expect(status).toBe(200);
      expect(body.failed).toEqual([]);
      uids.push(body.stored![0].studyInstanceUid);
    }
    expect(new Set(uids).size).toBe(4);
    findings = [];
    for (const uid of uids) {
      const finding = await waitFor(async () => (await api.study(uid)).body.findings.find((f) => f.model.id === MODEL), `the ${MODEL} finding on ${uid}`, 180_000);
      findings.push(finding.id);
    }

    // Readers decide: one accepted then amended to an override, one accepted, two overridden as false positives.
    const [f0, f1, f2, f3] = findings;
    await review({ findingId: f0, decision: 'accept' });
    await review({ findingId: f0, decision: 'override', reasonCode: 'wrong-location' });
    await review({ findingId: f1, decision: 'accept' });
    await review({ findingId: f2, decision: 'override', reasonCode: 'false-positive', comment: 'Costophrenic angle, no consolidation' });
    await review({ findingId: f3, decision: 'override', reasonCode: 'false-positive' });
    // A nodule the model missed on the first study.
    const added = await api.json<{ readerFinding?: { id: string } }>(`/v1/studies/${encodeURIComponent(uids[0])}/reader-findings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ label: 'nodule', comment: 'Right upper zone' }),
    });
    expect(added.status).toBe(201);
  }, 300_000);

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await stack?.stop();
  });

  it('when readers have accepted, overridden, amended and added findings, then the dashboard counts match, with the Wilson interval, the Pareto and the day', async () => {
    const page = await openDashboard({ width: 1280, height: 720 });
    expect(await page.getByTestId('agreement-row').count()).toBe(1);
    const e = expected(1);
    expect(e).toMatchObject({ findings: 4, decided: 4, accepted: 1, overridden: 3, amended: 1, reasons: [['false-positive', 2], ['wrong-location', 1]] });
    await expectRow(page, MODEL, e);
    expect(await row(page, MODEL).getByTestId('select-group').textContent()).toBe('Pneumonia');

    // The charts show the group: its reasons, most frequent first, with the cumulative line; and the day's acceptance.
    const charts = page.getByTestId('agreement-charts');
    expect(await charts.getAttribute('data-group')).toMatch(new RegExp(`^${MODEL}@.+/pneumonia$`));
    const bars = charts.getByTestId('pareto-bar');
    expect(await bars.evaluateAll((els) => els.map((el) => [el.getAttribute('data-code'), Number(el.getAttribute('data-count'))]))).toEqual(e.reasons);
    const heights = await bars.evaluateAll((els) => els.map((el) => Number(el.getAttribute('height'))));
    expect(heights[0]).toBeCloseTo(heights[1] * 2, 3);
    expect((await charts.getByTestId('pareto-cumulative').getAttribute('points'))!.split(' ')).toHaveLength(2);
    expect(await charts.locator('[data-testid="pareto"] text').allTextContents()).toContain('False positive');
    const today = new Date().toISOString().slice(0, 10);
    const point = charts.getByTestId('trend-point');
    expect(await point.count()).toBe(1);
    expect(await point.getAttribute('data-date')).toBe(today);
    expect(Number(await point.getAttribute('data-rate'))).toBeCloseTo(0.25, 9);
    await page.screenshot({ path: join(shots, 'en-1280-table.png') });
    await screenshotShows(page, join(shots, 'en-1280-charts.png'), charts.getByTestId('pareto'));

    // The group's button is a keyboard target that says it is the one shown.
    await row(page, MODEL).getByTestId('select-group').focus();
    await page.keyboard.press('Enter');
    expect(await row(page, MODEL).getByTestId('select-group').getAttribute('aria-pressed')).toBe('true');
    expect(await horizontalOverflow(page)).toBe(0);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('when the reader downloads the CSV, then it has one row per group with the same counts, and the date range filters both', async () => {
    const page = await openDashboard({ width: 1280, height: 720 });
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-csv').click()]);
    expect(download.suggestedFilename()).toMatch(/^lantern-agreement-\d{4}-\d{2}-\d{2}\.csv$/);
    const saved = join(shots, 'agreement.csv');
    await download.saveAs(saved);
    const rows = parseCsv(readFileSync(saved, 'utf8'));
    expect(rows).toHaveLength(1);
    {
      const e = expected(1);
      const r = rows[0];
      expect(r).toMatchObject({
        modelId: MODEL,
        label: 'pneumonia',
        findings: String(e.findings),
        decided: String(e.decided),
        accepted: String(e.accepted),
        overridden: String(e.overridden),
        amended: String(e.amended),
        readerFindings: String(e.readerFindings),
      });
      expect(Number(r.acceptanceRate)).toBeCloseTo(e.accepted / e.decided, 9);
      for (const [code, count] of e.reasons) expect(r[`override:${code}`]).toBe(String(count));
    }

    // Tomorrow onwards: nothing yet, in the table and in the CSV link.
    const tomorrow = new Date(Date.now() + 86_400_000);
    const day = `${tomorrow.getFullYear()}-${String(tomorrow.getMonth() + 1).padStart(2, '0')}-${String(tomorrow.getDate()).padStart(2, '0')}`;
    await page.getByTestId('filter-from').fill(day);
    await page.getByTestId('filter-apply').click();
    await page.getByTestId('agreement-empty').waitFor();
    expect(await page.getByTestId('agreement-row').count()).toBe(0);
    const href = (await page.getByTestId('download-csv').getAttribute('href'))!;
    expect(new URL(href).searchParams.get('from')).toBe(new Date(tomorrow.getFullYear(), tomorrow.getMonth(), tomorrow.getDate()).toISOString());
    const empty = await (await fetch(href, { headers: stack.authorization })).text();
    expect(parseCsv(empty)).toHaveLength(0);
    await page.screenshot({ path: join(shots, 'en-1280-empty-range.png') });

    // One model only, all time.
    await page.getByTestId('filter-reset').click();
    await expect.poll(() => page.getByTestId('agreement-row').count()).toBe(1);
    await page.getByTestId('filter-model').selectOption('nih-cxr-abnormal');
    await page.getByTestId('filter-apply').click();
    await page.getByTestId('agreement-empty').waitFor();
    expect(new URL((await page.getByTestId('download-csv').getAttribute('href'))!).searchParams.get('model')).toBe('nih-cxr-abnormal');
    await page.getByTestId('filter-model').selectOption(MODEL);
    await page.getByTestId('filter-apply').click();
    await expect.poll(() => page.getByTestId('agreement-row').count()).toBe(1);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('when a reader decides while the dashboard is open, then the numbers update without a reload', async () => {
    const page = await openDashboard({ width: 1280, height: 720 });
    // A second reader amends the accepted finding: one more amendment, one fewer acceptance.
    const before = expected(1);
    await review({ findingId: findings[1], decision: 'override', reasonCode: 'poor-image-quality' });
    const after = expected(1);
    expect(after).toMatchObject({ amended: before.amended + 1, accepted: before.accepted - 1 });
    await expect.poll(() => row(page, MODEL).getByTestId('amended').textContent(), { timeout: 15_000 }).toBe(String(after.amended));
    await expectRow(page, MODEL, after);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('when the reader switches to Chinese, then headings, labels and override reasons are Chinese', async () => {
    const page = await openDashboard({ width: 1280, height: 720 });
    await page.getByTestId('lang-zh').click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('一致性');
    await page.getByTestId('agreement-row').first().waitFor();
    expect(await row(page, MODEL).getByTestId('select-group').textContent()).toBe('肺炎');
    expect(await page.locator('[data-testid="agreement-table"] th').allTextContents()).toContain('采纳率（95% CI）');
    expect(await page.locator('[data-testid="pareto"] text').allTextContents()).toContain('假阳性');
    expect(await page.getByTestId('download-csv').textContent()).toContain('下载 CSV');
    await page.screenshot({ path: join(shots, 'zh-1280-table.png') });
    await screenshotShows(page, join(shots, 'zh-1280-charts.png'), page.getByTestId('pareto'));
    expect(pageErrors).toEqual([]);
  }, 60_000);

  for (const lang of ['en', 'zh'] as const) {
    it(`when the dashboard is opened on a 360×740 phone in ${lang}, then nothing scrolls sideways and the charts fit`, async () => {
      const page = await openDashboard({ width: 360, height: 740 }, lang === 'zh' ? 'zh-CN' : 'en-GB');
      expect(await page.getByTestId('agreement-row').count()).toBe(1);
      expect(await horizontalOverflow(page)).toBe(0);
      const pareto = page.getByTestId('pareto');
      await pareto.waitFor();
      const box = (await pareto.boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(360);
      await page.screenshot({ path: join(shots, `${lang}-360-top.png`) });
      await screenshotShows(page, join(shots, `${lang}-360-charts.png`), pareto);
      await screenshotShows(page, join(shots, `${lang}-360-trend.png`), page.getByTestId('trend'));
      expect(await horizontalOverflow(page)).toBe(0);
      expect(pageErrors).toEqual([]);
    }, 60_000);
  }
});
