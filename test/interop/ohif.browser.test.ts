import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/api-role.ts';
import { launchChromium, pngStats } from '../support/browser.ts';
import { withFreshUids } from '../support/dicom-builder.ts';
import { serveOhif, type OhifSite } from '../support/ohif.ts';
import { files } from '../support/shared-data.ts';
import { srInStudyOf } from '../support/sr-in-study.ts';
import { waitFor } from '../support/stack.ts';

/**
 * The published OHIF viewer (3.13.2, from npm) with Lantern as its only data source, in
 * Debian's Chromium: OHIF's own study list and viewer, making OHIF's own QIDO-RS and WADO-RS
 * calls. Pixels on screen are checked, not the presence of elements.
 */
const out = path.join('test-output', 'interop');

/** Mean grey level (0–255) of a part of a screenshot given as fractions of its width and height. */
async function meanLuma(png: Buffer, part: { x: number; y: number; w: number; h: number }): Promise<number> {
  const { width, height } = await sharp(png).metadata();
  const region = { left: Math.round(part.x * width!), top: Math.round(part.y * height!), width: Math.round(part.w * width!), height: Math.round(part.h * height!) };
  const grey = await sharp(png).extract(region).greyscale().raw().toBuffer();
  return grey.reduce((sum, v) => sum + v, 0) / grey.length;
}

describe('OHIF against Lantern', () => {
  let api: TestApi;
  let site: OhifSite;
  let browser: Browser;
  let page: Page;
  const studies: { studyInstanceUid: string }[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    fs.mkdirSync(out, { recursive: true });
    api = await startTestApi();
    // The raw chest CR with a Comprehensive SR in its study (a PACS holds such studies), and the JPEG 2000 chest CR.
    const film = withFreshUids(fs.readFileSync(files.chestRaw), 41);
    const stowed = await api.client.stow([film, srInStudyOf(film)]);
    expect(stowed.status, JSON.stringify(stowed.body)).toBe(200);
    studies.push({ studyInstanceUid: stowed.body.stored![0].studyInstanceUid }, await api.addStudy(files.chestJ2k));
    site = await serveOhif({ url: `${api.url}/dicomweb`, token: api.token });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // OHIF's first-visit tour would cover the viewport: this reader has seen it.
    await page.addInitScript(() => localStorage.setItem('shownTours', JSON.stringify(['basicViewerTour'])));
  });

  afterAll(async () => {
    await browser?.close();
    await site?.stop();
    await api?.stop();
  });

  it("when a reader opens OHIF, then its study list shows Lantern's studies, the SR counted among the study's modalities", async () => {
    await page.goto(`${site.url}/`);
    await expect.poll(() => page.locator('body').innerText(), { timeout: 30_000 }).toContain('CompressedSamples, RG1');
    const text = await page.locator('body').innerText();
    expect(text).toContain('Anonymized');
    expect(text).toMatch(/1-2 of 2/);
    expect(text, 'ModalitiesInStudy of the film with its SR').toContain('CR\\SR');
    await page.screenshot({ path: path.join(out, 'ohif-study-list.png') });
    const failed = site.requests.filter((r) => r.status >= 400);
    expect(failed, 'every DICOMweb call OHIF made succeeded').toEqual([]);
  });

  it('when the reader opens the chest film, then OHIF draws the radiograph in its viewport from Lantern\'s frames, and lists the study\'s SR beside it', async () => {
    await page.goto(`${site.url}/viewer?StudyInstanceUIDs=${studies[0].studyInstanceUid}`);
    const viewport = page.locator('.cornerstone-viewport-element').first();
    await viewport.waitFor({ timeout: 60_000 });
    const shot = path.join(out, 'ohif-viewer-chest.png');
    // Rendering is asynchronous (metadata, then the frame, then a WebGL draw): the film is there once the viewport holds an image.
    const stats = await waitFor(async () => {
      const s = await pngStats(await viewport.screenshot());
      return s.colours > 40 && s.inkShare > 0.3 ? s : undefined;
    }, 'OHIF to draw the film', 60_000).catch(async (error) => {
      await page.screenshot({ path: shot });
      throw new Error(`${(error as Error).message}; DICOMweb calls: ${JSON.stringify(site.requests)}; page errors: ${pageErrors.join(' | ')}`);
    });
    await page.screenshot({ path: shot });
    expect(stats.colours).toBeGreaterThan(40);
    // A chest film the right way round (MONOCHROME1 inverted for display): the mediastinum between the
    // lungs is bright, the air-filled lungs either side of it dark. Fractions of the viewport, where
    // OHIF fits this film.
    const drawn = await viewport.screenshot();
    const mediastinum = await meanLuma(drawn, { x: 0.49, y: 0.3, w: 0.04, h: 0.15 });
    const lungs = [await meanLuma(drawn, { x: 0.25, y: 0.3, w: 0.08, h: 0.15 }), await meanLuma(drawn, { x: 0.62, y: 0.3, w: 0.08, h: 0.15 })];
    for (const lung of lungs) expect(mediastinum - lung, `mediastinum ${mediastinum.toFixed(0)} vs lungs ${lungs.map((l) => l.toFixed(0)).join(', ')}`).toBeGreaterThan(40);
    expect(site.requests.some((r) => r.path.includes('/frames/1') && r.status === 200), 'the frame came from Lantern').toBe(true);
    expect(await page.locator('body').innerText(), 'the SR series in the study panel').toContain('Demonstration of SR Features');
    expect(site.requests.filter((r) => r.status >= 400)).toEqual([]);
  });
});
