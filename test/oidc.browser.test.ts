/**
 * A clinician signs in with the hospital's identity provider in a real browser (Debian's
 * Chromium): the built viewer offers the provider, the provider's own login and consent
 * screens are filled in, and the browser comes back to the screen it left, signed in —
 * across two sites (provider on `localhost`, Lantern on `127.0.0.1`), so the cookies'
 * SameSite rules are the real ones. Then the provider's grant runs out while the worklist's
 * event stream is open, and the viewer asks to sign in again at once.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureViewerBuilt } from '../scripts/ensure-deps.mjs';
import { startTestApi, type TestApi } from './support/api-role.ts';
import { launchChromium } from './support/browser.ts';
import { API_AUDIENCE, API_SCOPE, startTestProvider, type TestProvider } from './support/oidc-provider.ts';

describe('signing in with the hospital\'s identity provider (Chromium)', () => {
  let idp: TestProvider;
  let api: TestApi;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ensureViewerBuilt();
    idp = await startTestProvider();
    api = await startTestApi({
      oidc: {
        issuer: idp.issuer, clientId: 'lantern', clientSecret: 'browser-test-secret', name: 'Test Hospital',
        scopes: ['openid', 'profile', 'roles', API_SCOPE], usernameClaim: 'preferred_username', rolesClaim: 'roles',
        roleMap: { Radiology: ['radiologist'] }, provisionUsers: true, apiAudience: API_AUDIENCE, jwksCooldownSeconds: 30,
      },
    });
    await idp.configure(
      [{ client_id: 'lantern', client_secret: 'browser-test-secret', redirect_uris: [new URL('/v1/session/oidc/callback', api.url).toString()] }],
      { wei: { preferred_username: 'wei.zhang', name: '张伟', roles: ['Radiology'] } },
    );
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await api?.stop();
    await idp?.stop();
  });

  /**
   * From the viewer's sign-in dialog through the provider's screens, as the clinician clicks:
   * its login (unless the provider still has them signed in) and its consent (first time only).
   */
  async function signInAtProvider() {
    const offer = page.getByTestId('sign-in-provider');
    await expect.poll(() => offer.textContent()).toBe('Sign in with Test Hospital');
    const navigated = () => page.waitForEvent('framenavigated', (frame) => frame === page.mainFrame());
    let arrived = navigated();
    await offer.click();
    for (let screen = 0; screen < 4; screen++) {
      await arrived;
      await page.waitForLoadState('domcontentloaded');
      if (new URL(page.url()).origin !== idp.issuer) return;
      arrived = navigated();
      const login = page.locator('input[name="login"]');
      if (await login.count()) {
        await login.fill('wei');
        await page.locator('input[name="password"]').fill('any password');
      }
      await page.locator('button[type="submit"]').click();
    }
    throw new Error(`still at the provider: ${page.url()}`);
  }

  it('when a clinician chooses the provider on the sign-in dialog, then after its login they are back on the same screen, signed in under their own name', async () => {
    await page.goto(new URL('/#/hints', api.url).href);
    await signInAtProvider();
    expect(new URL(page.url()).hash).toBe('#/hints');
    await expect.poll(() => page.getByTestId('reviewer').textContent(), { timeout: 10_000 }).toBe('张伟');
    // The session is an HttpOnly cookie: nothing of it (or of the provider's tokens) is readable by the page.
    expect(await page.evaluate(() => document.cookie)).toBe('');
    const session = (await page.context().cookies(api.url)).find((c) => c.name === 'lantern_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
  });

  it('when the provider\'s grant runs out while the worklist\'s event stream is open, then the viewer asks to sign in at once, and signing in again returns to the worklist', async () => {
    await page.context().clearCookies();
    idp.ttlSeconds = 4;
    try {
      await page.goto(new URL('/#/', api.url).href);
      await signInAtProvider();
      await expect.poll(() => page.getByTestId('reviewer').textContent(), { timeout: 10_000 }).toBe('张伟');
      const signedInAt = Date.now();
      await page.getByTestId('sign-in-provider').waitFor({ state: 'visible', timeout: 10_000 });
      // Well before the worklist's 10 s polling fallback could have noticed: the stream said so.
      const askedAfter = Date.now() - signedInAt;
      expect(askedAfter).toBeLessThan(6_000);
      idp.ttlSeconds = 300;
      await signInAtProvider();
      await expect.poll(() => page.getByTestId('reviewer').textContent(), { timeout: 10_000 }).toBe('张伟');
      expect(await page.getByTestId('sign-in-provider').count()).toBe(0);
    } finally {
      idp.ttlSeconds = 300;
    }
  });
});
