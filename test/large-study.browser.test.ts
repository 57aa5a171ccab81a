/**
 * A reader opens a study larger than one answer holds, in a real Chromium against the real
 * stack: the image picker lists the first page, says how many there are in all, and lists
 * the next page when asked — the viewer never fetches or draws a 10,000-image CT whole.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureViewerBuilt } from '../scripts/ensure-deps.mjs';
import { apiClient } from './support/api-client.ts';
import { openReaderPage, signInOnForm } from './support/browser.ts';
import { buildSeriesImage } from './support/dicom-builder.ts';
import { startStack, type Stack } from './support/stack.ts';

const IMAGES = 620;
const STUDY = `1.2.826.0.1.3680043.10.1.89.${Date.now()}`;
const READER = 'dr-large';
const PASSWORD = 'a long large-study password';

describe('viewer: a study of more images than one answer holds', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[];

  beforeAll(async () => {
    ensureViewerBuilt();
    stack = await startStack();
    const api = apiClient(stack.baseUrl, stack.token);
    for (let from = 1; from <= IMAGES; from += 20) {
      const batch = Array.from({ length: Math.min(20, IMAGES - from + 1) }, (_, i) => buildSeriesImage({ study: STUDY, series: `${STUDY}.1`, sop: `${STUDY}.1.${from + i}` }));
      expect((await api.stow(batch)).status).toBe(200);
    }
    const created = await api.json('/v1/users', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: READER, displayName: READER, roles: ['radiologist'], password: PASSWORD }),
    });
    expect(created.status).toBe(201);
    ({ browser, page, pageErrors } = await openReaderPage());
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('when the reader opens it, then the picker lists the first 500 images, lists the rest on request, and shows the last one', async () => {
    await page.goto(`${stack.baseUrl}/#/study/${STUDY}`);
    await signInOnForm(page, READER, PASSWORD);

    const more = page.getByTestId('more-instances');
    await more.waitFor();
    expect(await page.getByTestId('instance').count()).toBe(500);
    expect(await more.textContent()).toBe(`More images (500 of ${IMAGES} listed)`);

    await more.click();
    await expect.poll(() => page.getByTestId('instance').count()).toBe(IMAGES);
    expect(await more.count()).toBe(0);

    const last = page.locator(`[data-testid="instance"][data-sop="${STUDY}.1.${IMAGES}"]`);
    await last.click();
    await expect.poll(() => last.getAttribute('class')).toContain('active');
    expect(pageErrors).toEqual([]);
  });
});
