/**
 * The radiologist's story, end to end in a real Chromium against the real stack
 * (redis-server, PGlite, API, worker running the bundled ONNX model): a chest film
 * arrives over STOW-RS, the AI flags it, the reviewer opens it, sees the actual image,
 * overrides the finding with a coded reason, and finds the decision in an intact audit
 * chain. Screenshots of each step land in test-output/viewer/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './support/stack.ts';
import { canvasStats, openReaderPage } from './support/browser.ts';
import { apiClient } from './support/api-client.ts';
import { withFreshUids } from './support/dicom-builder.ts';
import { newUser } from './support/sign-in.ts';
import { files } from './support/shared-data.ts';
import { ensureViewerBuilt } from '../scripts/ensure-deps.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
const shots = join(repo, 'test-output', 'viewer');
/** The reviewer's account: decisions and the audit trail name its user name; the header shows the display name. */
const REVIEWER = 'dr-ada';
const REVIEWER_NAME = 'Dr Ada Browser-Test';
const PASSWORD = 'a long browser-test password';

describe('viewer: reviewing an AI-flagged chest radiograph', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[];

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    ensureViewerBuilt();
    stack = await startStack();
    ({ browser, page, pageErrors } = await openReaderPage());
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('when a reviewer overrides the AI finding on a stored chest film, then the image is shown, the decision is recorded and the audit chain stays intact', async () => {
    // A modality sends the study over STOW-RS.
    const { status, body: stow } = await apiClient(stack.baseUrl, stack.token).stow([files.chestRaw]);
    expect(status).toBe(200);
    expect(stow.failed).toEqual([]);
    expect(stow.stored).toHaveLength(1);
    const studyUid = stow.stored![0].studyInstanceUid;

    // An admin made the reviewer's account; on the first visit the viewer asks them to sign in, once.
    const created = await apiClient(stack.baseUrl, stack.token).json('/v1/users', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: REVIEWER, displayName: REVIEWER_NAME, roles: ['radiologist', 'admin'], password: PASSWORD }),
    });
    expect(created.status).toBe(201);
    await page.goto(stack.baseUrl);
    await page.getByTestId('sign-in-username').waitFor();
    await page.getByTestId('sign-in-username').fill(REVIEWER);
    await page.getByTestId('sign-in-password').fill('not the password');
    await page.getByTestId('sign-in-submit').click();
    await page.getByTestId('sign-in-error').waitFor();
    await page.screenshot({ path: join(shots, '01-sign-in.png') });
    await page.getByTestId('sign-in-password').fill(PASSWORD);
    await page.getByTestId('sign-in-submit').click();
    await expect.poll(() => page.getByTestId('reviewer').textContent()).toBe(REVIEWER_NAME);
    await page.reload();
    await expect.poll(() => page.getByTestId('reviewer').textContent()).toBe(REVIEWER_NAME);
    expect(await page.getByTestId('sign-in-username').count()).toBe(0);

    // The worklist polls until the worker has read the film and attached a finding.
    const row = page.locator(`[data-testid="worklist-row"][data-study-uid="${studyUid}"]`);
    await row.locator('[data-testid="finding-chip"]').first().waitFor({ timeout: 120_000 });
    expect(await row.getByTestId('why').textContent()).not.toBe('');
    expect(await row.getByTestId('finding-chip').first().textContent()).toMatch(/AI.*\d+(\.\d)?%/);
    await page.screenshot({ path: join(shots, '02-worklist.png') });

    // The study shows the actual radiograph, not a blank or uniform canvas.
    await row.click();
    await page.getByTestId('image-canvas').waitFor();
    await page.waitForFunction(() => (document.querySelector('[data-testid="image-status"]') as HTMLElement | null)?.hidden === true, undefined, {
      timeout: 30_000,
    });
    const shown = await canvasStats(page);
    expect(shown.width).toBeGreaterThan(100);
    expect(shown.height).toBeGreaterThan(100);
    expect(shown.sd).toBeGreaterThan(20);
    expect(shown.levels).toBeGreaterThan(64);
    await page.screenshot({ path: join(shots, '03-study.png') });

    // Window/level follows a left drag; Reset restores the image's own window.
    const initialReadout = await page.getByTestId('viewport-readout').textContent();
    const box = (await page.getByTestId('viewport').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 120, box.y + box.height / 2 + 60, { steps: 6 });
    await page.mouse.up();
    await expect.poll(() => page.getByTestId('viewport-readout').textContent()).not.toBe(initialReadout);
    expect((await canvasStats(page)).mean).not.toBeCloseTo(shown.mean, 0);
    await page.getByTestId('reset-view').click();
    await expect.poll(() => page.getByTestId('viewport-readout').textContent()).toBe(initialReadout);

    // Every finding carries provenance and says it is AI-assisted.
    const finding = page.getByTestId('finding').first();
    const findingId = await finding.getAttribute('data-finding-id');
    expect(await finding.getByTestId('ai-label').textContent()).toContain('AI-assisted');
    expect(await finding.getByTestId('weights-hash').textContent()).toMatch(/^[0-9a-f]{12}$/);
    expect(await finding.getByTestId('weights-hash').getAttribute('title')).toMatch(/[0-9a-f]{64}/);

    // The model's class-activation map overlays the image on its own canvas, and hides again.
    await finding.getByTestId('heatmap-toggle').click();
    const overlayPixels = () =>
      page.getByTestId('heatmap-overlay').evaluate((el) => {
        const c = el as HTMLCanvasElement;
        const { data } = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
        let visible = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) visible++;
        return visible;
      });
    await expect.poll(overlayPixels).toBeGreaterThan(1000);
    await page.screenshot({ path: join(shots, '03b-heatmap.png') });
    await finding.getByTestId('heatmap-toggle').click();
    await expect.poll(overlayPixels).toBe(0);

    // Override needs a coded reason before it can be sent.
    await finding.getByTestId('override').click();
    const picker = page.getByTestId('override-picker');
    await picker.waitFor();
    await picker.getByTestId('picker-confirm').click();
    expect(await picker.getByTestId('picker-error').textContent()).toMatch(/choose/i);
    await picker.locator('[data-testid="picker-option"][data-code="false-positive"]').check();
    await picker.getByTestId('picker-comment').fill('Overlapping vessels, no consolidation');
    await page.screenshot({ path: join(shots, '04-override-form.png') });
    await picker.getByTestId('picker-confirm').click();

    const decision = page.locator(`[data-testid="finding"][data-finding-id="${findingId}"] [data-testid="decision"]`);
    await decision.waitFor();
    expect(await decision.getAttribute('data-decision')).toBe('override');
    expect(await decision.getByTestId('decision-reviewer').textContent()).toBe(REVIEWER);
    expect(await decision.getByTestId('decision-reason').getAttribute('data-code')).toBe('false-positive');
    expect(await decision.getByTestId('decision-comment').textContent()).toContain('Overlapping vessels');
    await page.screenshot({ path: join(shots, '05-decision.png') });

    // The decision is the server's, not just the page's.
    const study = (await (await fetch(new URL(`/v1/studies/${encodeURIComponent(studyUid)}`, stack.baseUrl), { headers: stack.authorization })).json()) as {
      findings: { id: string; review: { decision: string; reviewer: string; reasonCode?: string } | null }[];
    };
    expect(study.findings.find((f) => f.id === findingId)?.review).toMatchObject({
      decision: 'override',
      reviewer: REVIEWER,
      reasonCode: 'false-positive',
    });

    // The audit trail names the reviewer — for the decision and for the decision's DICOM SR
    // filed in the study (its newest row may be either) — and the chain verifies.
    await page.getByTestId('nav-audit').click();
    const reviewerRows = page.locator(`[data-testid="audit-row"][data-actor="${REVIEWER}"]`);
    await reviewerRows.first().waitFor();
    const actions = await reviewerRows.getByTestId('audit-action').allTextContents();
    expect(actions.filter((action) => /override|review/i.test(action))).toHaveLength(1);
    await page.getByTestId('verify').click();
    const verified = page.locator('[data-testid="verify-result"][data-intact]');
    await verified.waitFor();
    expect(await verified.getAttribute('data-intact')).toBe('true');
    expect(await verified.textContent()).toMatch(/intact/i);
    await page.screenshot({ path: join(shots, '06-audit-verified.png') });

    expect(pageErrors).toEqual([]);
  }, 240_000);

  it('when a reader of two sites opens the worklist, then each row says whose study it is; a reader of one site sees no such line', async () => {
    const admin = apiClient(stack.baseUrl, stack.token);
    expect((await admin.json('/v1/sites', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'township-c', name: 'Township C clinic', level: 'township' }) })).status).toBe(201);
    const county = await newUser(stack.baseUrl, stack.token, { username: 'dr-county', displayName: 'Dr County', roles: ['radiologist'], sites: ['main', 'township-c'] });
    const township = await newUser(stack.baseUrl, stack.token, { username: 'dr-township', displayName: 'Dr Township', roles: ['grassroots-doctor'], sites: ['township-c'] });
    const { body } = await apiClient(stack.baseUrl, township.token).stow([withFreshUids(readFileSync(files.chestRaw), 77)]);
    const townshipStudy = body.stored![0].studyInstanceUid;

    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    try {
      await county.signInBrowser(context);
      const countyPage = await context.newPage();
      await countyPage.goto(stack.baseUrl);
      const row = countyPage.locator(`[data-testid="worklist-row"][data-study-uid="${townshipStudy}"]`);
      await row.waitFor();
      expect(await row.getByTestId('site').textContent()).toBe('Site: Township C clinic');
      expect(await countyPage.getByTestId('site').count()).toBe(await countyPage.getByTestId('worklist-row').count());
      await countyPage.screenshot({ path: join(shots, '07-two-sites.png') });
    } finally {
      await context.close();
    }
    const single = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    try {
      await township.signInBrowser(single);
      const townshipPage = await single.newPage();
      await townshipPage.goto(stack.baseUrl);
      await townshipPage.locator(`[data-testid="worklist-row"][data-study-uid="${townshipStudy}"]`).waitFor();
      expect(await townshipPage.getByTestId('worklist-row').count()).toBe(1);
      expect(await townshipPage.getByTestId('site').count()).toBe(0);
    } finally {
      await single.close();
    }
  }, 120_000);
});
