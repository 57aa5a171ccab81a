/**
 * The care network in a real Chromium against the real stack (redis-server, PGlite, the API):
 * an admin builds county → township → village on the Sites screen and sets "the county reads
 * for the township"; a township doctor sends a real chest film through the API; a county
 * radiologist, in another browser, finds it on the worklist, named by its site, and lists it
 * alone with the site filter. Screens in both languages land in test-output/sites/, palette
 * copies in docs/screens/sites-{en,zh}.png.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Site } from '../contract/sites.ts';
import { apiClient } from './support/api-client.ts';
import { launchChromium, screenshotDrawn, setViewerLanguage, signedInPage } from './support/browser.ts';
import { files } from './support/shared-data.ts';
import { newUser, type SignedIn } from './support/sign-in.ts';
import { startStack, type Stack } from './support/stack.ts';
import { ensureViewerBuilt } from '../scripts/ensure-deps.mjs';

const repo = fileURLToPath(new URL('..', import.meta.url));
const shots = join(repo, 'test-output', 'sites');
const docsScreens = join(repo, 'docs', 'screens');
const SCREEN = { width: 1280, height: 800 };
const COUNTY = { id: 'qingshan-county', name: 'Qingshan County Hospital', level: 'county' };
const TOWNSHIP = { id: 'baihe-township', name: 'Baihe Township Health Centre', level: 'township' };
const VILLAGE = { id: 'shuikou-village', name: 'Shuikou Village Clinic', level: 'village' };

describe('sites: an admin builds the network, a county radiologist reads a township\'s film', () => {
  let stack: Stack;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  let admin: SignedIn;

  const pageOf = (user: SignedIn) => signedInPage(browser, user, { viewport: SCREEN, contexts, pageErrors });
  /** A drawn screen (not a blank one) under test-output; with `docs`, the palette copy in docs/screens/. */
  const shoot = (page: Page, name: string, testId: string, docs?: string) => screenshotDrawn(page, join(shots, name), testId, docs && join(docsScreens, docs));


  /** The sites as the API lists them. */
  const sites = async () => (await apiClient(stack.baseUrl, admin.token).json<{ items: Site[] }>('/v1/sites')).body.items;

  async function addSite(page: Page, site: { id: string; name: string; level: string }, parentName?: string): Promise<void> {
    await page.getByTestId('new-site-id').fill(site.id);
    await page.getByTestId('new-site-name').fill(site.name);
    await page.getByTestId('new-site-level').selectOption(site.level);
    if (parentName) await page.getByTestId('new-site-parent').selectOption({ label: parentName });
    await page.getByTestId('new-site-submit').click();
    await page.getByTestId(`site-node-${site.id}`).waitFor();
  }

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    mkdirSync(docsScreens, { recursive: true });
    ensureViewerBuilt();
    // No worker: the film needs no AI to be listed, and the test is about who sees it.
    stack = await startStack({ workers: 0 });
    admin = await newUser(stack.baseUrl, stack.token, { username: 'net-admin', displayName: 'Network admin', roles: ['admin'] });
    browser = await launchChromium();
  }, 300_000);

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await stack?.stop();
  });

  it('when the admin adds county, township and village and sets the county to read for the township, then the tree shows them by parent and the API holds it', async () => {
    const page = await pageOf(admin);
    await page.goto(`${stack.baseUrl}#/sites`);
    await expect.poll(() => page.getByTestId('nav-sites').getAttribute('aria-current')).toBe('page');
    await addSite(page, COUNTY);
    await addSite(page, TOWNSHIP, 'Qingshan County Hospital (County)');
    await addSite(page, VILLAGE, 'Baihe Township Health Centre (Township)');

    // A village's parent can only be above it: a county's choices leave out the township and the village.
    await page.getByTestId(`site-node-${COUNTY.id}`).click();
    expect(await page.getByTestId('site-parent').locator('option').allTextContents()).toEqual(['— none —']);
    await page.getByTestId(`reads-for-${TOWNSHIP.id}`).check();
    await page.getByTestId('reads-for-save').click();
    await expect.poll(() => page.getByTestId(`site-reads-${COUNTY.id}`).textContent()).toBe('Reads for: Baihe Township Health Centre');

    // The tree nests by parent: village inside township inside county, each with its level badge.
    const village = page.getByTestId(`site-node-${COUNTY.id}`).locator('..').getByTestId(`site-node-${VILLAGE.id}`);
    expect(await village.getByTestId('level-badge').textContent()).toBe('Village');
    const listed = await sites();
    expect(listed.filter((s) => s.id !== 'main')).toEqual([
      { ...TOWNSHIP, parentId: COUNTY.id, readsFor: [] },
      { ...COUNTY, readsFor: [TOWNSHIP.id] },
      { ...VILLAGE, parentId: TOWNSHIP.id, readsFor: [] },
    ]);

    // A change the network's rules refuse is shown, and nothing changes: a village above its township.
    await page.getByTestId(`site-node-${VILLAGE.id}`).click();
    await page.getByTestId('site-level').selectOption('city');
    await page.getByTestId('site-save').click();
    await expect.poll(() => page.getByTestId('site-edit-error').textContent()).toMatch(/VALIDATION_FAILED: a site must be of a higher level than its children|parent must be of a higher level/);
    expect((await sites()).find((s) => s.id === VILLAGE.id)?.level).toBe('village');

    // The township's consultation policy (contract consultationPolicy): cases to the county, on disagreement.
    await page.getByTestId(`site-node-${TOWNSHIP.id}`).click();
    await page.getByTestId('policy-route-to').selectOption(COUNTY.id);
    await page.getByTestId('policy-disagreement').check();
    await page.getByTestId('policy-sla-urgent').fill('90');
    await page.getByTestId('policy-save').click();
    await expect.poll(async () => (await apiClient(stack.baseUrl, admin.token).json<{ routeToSiteId?: string; routeOnDisagreement: boolean; slaMinutes: { urgent: number } }>(`/v1/sites/${TOWNSHIP.id}/consultation-policy`)).body)
      .toMatchObject({ routeToSiteId: COUNTY.id, routeOnDisagreement: true, slaMinutes: { urgent: 90 } });

    // Pixels: the county's badge is drawn in its own colour (blue), the village's in another (amber).
    const countyBadge = await sharp(await page.getByTestId(`site-node-${COUNTY.id}`).getByTestId('level-badge').screenshot()).stats();
    const villageBadge = await sharp(await page.getByTestId(`site-node-${VILLAGE.id}`).getByTestId('level-badge').screenshot()).stats();
    expect(countyBadge.channels[2].mean).toBeGreaterThan(countyBadge.channels[0].mean + 40);
    expect(villageBadge.channels[0].mean).toBeGreaterThan(villageBadge.channels[2].mean + 40);

    await page.getByTestId(`site-node-${COUNTY.id}`).click();
    await page.getByTestId('policy-save').waitFor();
    await shoot(page, 'sites-en.png', 'site-tree', 'sites-en.png');
    await setViewerLanguage(page, 'zh');
    await expect.poll(() => page.getByTestId(`site-node-${COUNTY.id}`).getByTestId('level-badge').textContent()).toBe('县');
    expect(await page.getByTestId(`site-node-${VILLAGE.id}`).getByTestId('level-badge').textContent()).toBe('村');
    await page.getByTestId(`site-node-${COUNTY.id}`).click();
    await page.getByTestId('policy-save').waitFor();
    await shoot(page, 'sites-zh.png', 'site-tree', 'sites-zh.png');
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('when a township doctor sends a film, then the county radiologist finds it on the worklist named by its site, alone under the township filter, gone under the county\'s', async () => {
    const doctor = await newUser(stack.baseUrl, stack.token, { username: 'dr-tang', displayName: 'Dr Tang (Baihe)', roles: ['grassroots-doctor'], sites: [TOWNSHIP.id] });
    const radiologist = await newUser(stack.baseUrl, stack.token, { username: 'dr-chen', displayName: 'Dr Chen (Qingshan)', roles: ['radiologist'], sites: [COUNTY.id] });
    const { status, body } = await apiClient(stack.baseUrl, doctor.token).stow([files.chestRaw]);
    expect(status).toBe(200);
    const studyUid = body.stored![0].studyInstanceUid;

    const page = await pageOf(radiologist);
    await page.goto(`${stack.baseUrl}#/`);
    const row = page.locator(`[data-testid="worklist-row"][data-study-uid="${studyUid}"]`);
    await row.waitFor();
    expect(await row.getByTestId('site').textContent()).toBe('Site: Baihe Township Health Centre');
    // The radiologist's scope: the county and the township it reads for — not the village.
    expect(await page.getByTestId('filter-site').locator('label').allTextContents()).toEqual(['Qingshan County Hospital', 'Baihe Township Health Centre']);
    expect(await page.getByTestId('nav-sites').count()).toBe(0);

    await page.getByTestId(`filter-site-${TOWNSHIP.id}`).check();
    await expect.poll(() => page.evaluate(() => location.hash)).toBe(`#/?site=${TOWNSHIP.id}`);
    await expect.poll(() => page.getByTestId('worklist-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-study-uid')))).toEqual([studyUid]);
    await shoot(page, 'worklist-site-filter-en.png', 'worklist-row');

    await page.getByTestId(`filter-site-${TOWNSHIP.id}`).uncheck();
    await page.getByTestId(`filter-site-${COUNTY.id}`).check();
    await expect.poll(() => page.getByTestId('worklist-row').count()).toBe(0);

    await page.getByTestId(`filter-site-${COUNTY.id}`).uncheck();
    await setViewerLanguage(page, 'zh');
    await row.waitFor();
    expect(await row.getByTestId('site').textContent()).toBe('机构：Baihe Township Health Centre');
    expect(await page.getByTestId('filter-site').locator('legend').textContent()).toBe('机构');
    await shoot(page, 'worklist-site-filter-zh.png', 'worklist-row');
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
