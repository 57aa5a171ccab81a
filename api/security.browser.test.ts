/**
 * The CSP (api/security.ts) against what really runs: the built viewer and the Swagger UI
 * reference page in Debian's Chromium, served by the real API role. Each screen must draw,
 * and the browser must report no Content-Security-Policy violation on the way.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureViewerBuilt } from '../scripts/ensure-deps.mjs';
import { startTestApi, type TestApi } from '../test/support/api-role.ts';
import { launchChromium } from '../test/support/browser.ts';

describe('the CSP does not break the viewer or the API reference (Chromium)', () => {
  let api: TestApi;
  let browser: Browser;
  let page: Page;
  const violations: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    ensureViewerBuilt();
    api = await startTestApi();
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    // Both channels: the DOM event (with the blocked directive) and Chromium's console report.
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        (window as unknown as { cspViolations: string[] }).cspViolations ??= [];
        (window as unknown as { cspViolations: string[] }).cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
      });
    });
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await api?.stop();
  });

  const domViolations = () => page.evaluate(() => (window as unknown as { cspViolations?: string[] }).cspViolations ?? []);

  it('when the built viewer is served, then its HTML has no inline script and every screen draws without a violation', async () => {
    const html = await (await fetch(api.url)).text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/\son\w+=/i);
    for (const screen of ['/', '/#/hints', '/#/agreement', '/#/audit']) {
      await page.goto(new URL(screen, api.url).href);
      await page.waitForLoadState('networkidle');
      expect(await page.locator('#app *').count(), screen).toBeGreaterThan(0);
      expect(await domViolations(), screen).toEqual([]);
    }
    expect(violations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('when the viewer sets an element style, then it reaches the element under the CSP (through the CSSOM)', async () => {
    await page.goto(api.url);
    const width = await page.evaluate(() => {
      const el = document.createElement('span');
      el.style.cssText = 'width:42%';
      return el.style.width;
    });
    expect(width).toBe('42%');
    expect(await domViolations()).toEqual([]);
  });

  it('when /docs/api is opened, then Swagger UI renders the document with no inline script and no violation', async () => {
    const html = await (await fetch(new URL('/docs/api', api.url))).text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    await page.goto(new URL('/docs/api', api.url).href);
    await page.locator('.swagger-ui .info .title').waitFor({ timeout: 30_000 });
    expect(await page.locator('.swagger-ui .info .title').textContent()).toContain('Lantern API');
    expect(await page.locator('.opblock').count()).toBeGreaterThan(10);
    expect(await domViolations()).toEqual([]);
    expect(violations).toEqual([]);
  });
});
