/**
 * The viewer's first look, in a real Chromium against the API role: a reader opens a 1841 × 1955
 * JPEG 2000 chest film; the server's reduced rendering is drawn first, saying the full resolution
 * is on its way, and the full frame then takes its place at the same fit and, on a film whose
 * header has no window, with the same contrast — both marks set, in order, never a page error.
 * Times are the benchmark's (benchmarks/figures/viewer-first-pixels.ts), never asserted here.
 */
import fs from 'node:fs';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDicom } from '../dicom/parse.ts';
import { ALL_SITES } from '../store/sites.ts';
import { canvasStats, pixelMarks, signInOnForm } from './support/browser.ts';
import { readerSuite } from './support/reader-suite.ts';
import { withFreshUids } from './support/dicom-builder.ts';
import { files } from './support/shared-data.ts';

const READER = 'dr-first-look';
const PASSWORD = 'a long first-look test password';

/**
 * How far the first look may stand from the full frame over the film (luma levels, 0–255): the
 * preview is decoded from a coarser level, resampled and JPEG-coded, and its window comes from
 * that level's percentiles, so the two differ a little — measured on RG1 without its window:
 * means 0.03 apart, SDs 0.1, pixels 1.9 on average. Windowed over its min–max instead, as the
 * viewer did, the full frame's SD is 45.9 against the preview's 53.1 and its pixels 6.3 away on
 * average: the contrast jump these bounds catch.
 */
const MEAN_LEVELS = 1.5;
const SD_LEVELS = 2;
const PIXEL_LEVELS = 3;

/**
 * The same file without Window Center and Width (0028,1050–1051): the two elements cut out of
 * the data set (explicit VR little endian, so an 8-byte header each; no group length to fix), the
 * pixel data byte-identical. Viewers then choose the window themselves.
 */
function withoutWindow(bytes: Uint8Array): Uint8Array {
  const { dataSet } = parseDicom(bytes);
  if (dataSet.elements.x00280000) throw new Error('withoutWindow cannot fix a group length (0028,0000)');
  const cuts = ['x00281050', 'x00281051'].map((tag) => dataSet.elements[tag]).filter((element) => element !== undefined).map((element) => {
    if (element.vr !== 'DS') throw new Error('withoutWindow needs explicit VR little endian');
    return { from: element.dataOffset - 8, to: element.dataOffset + element.length };
  }).sort((a, b) => a.from - b.from);
  if (!cuts.length) throw new Error('this file has no window to remove');
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const { from, to } of cuts) {
    parts.push(bytes.subarray(at, from));
    at = to;
  }
  parts.push(bytes.subarray(at));
  return Buffer.concat(parts);
}

/**
 * Luma (0–255) of the film as the preview canvas and as cornerstone's canvas show it, over the
 * box the film fills at the pane's fit (inset 2 px, past edges both draw smoothed onto black):
 * each one's mean and SD, and the mean absolute difference pixel by pixel. The two canvases are
 * the pane at device pixels, the film at the same place, so they compare as they are.
 */
async function filmGrey(page: Page, size: { columns: number; rows: number }) {
  // No named functions inside: tsx's keepNames would wrap them in a helper the page does not have.
  return page.evaluate((image) => {
    const viewport = document.querySelector<HTMLElement>('[data-testid="viewport"]')!;
    const luma = ['image-preview', 'image-canvas'].map((id) => {
      const canvas = viewport.querySelector<HTMLCanvasElement>(`[data-testid="${id}"]`)!;
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      return { data, width: canvas.width, height: canvas.height };
    });
    const { width, height } = luma[0];
    const fit = Math.min(width / image.columns, height / image.rows);
    const [x0, y0] = [Math.ceil((width - image.columns * fit) / 2) + 2, Math.ceil((height - image.rows * fit) / 2) + 2];
    const [x1, y1] = [width - x0, height - y0];
    const sums = luma.map(() => ({ sum: 0, squares: 0 }));
    let difference = 0;
    let n = 0;
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        const at = (y * width + x) * 4;
        const ys = luma.map(({ data }) => 0.299 * data[at] + 0.587 * data[at + 1] + 0.114 * data[at + 2]);
        ys.forEach((v, i) => { sums[i].sum += v; sums[i].squares += v * v; });
        difference += Math.abs(ys[0] - ys[1]);
        n++;
      }
    }
    const [preview, full] = sums.map(({ sum, squares }) => ({ mean: sum / n, sd: Math.sqrt(squares / n - (sum / n) ** 2) }));
    return { preview, full, meanAbsoluteDifference: difference / n };
  }, size);
}

describe('viewer: the first look at a large film', () => {
  const reader = readerSuite(READER, PASSWORD);
  beforeAll(async () => {
    await reader.page.goto(reader.api.url);
    await signInOnForm(reader.page, READER, PASSWORD);
    await reader.page.getByTestId('sign-in-username').waitFor({ state: 'detached' });
  });

  it('when the reader opens RG1, then a reduced rendering is drawn first and the 1841 × 1955 frame replaces it at the same fit', async () => {
    const { api, page, pageErrors } = reader;
    const film = (await api.client.stow([withFreshUids(fs.readFileSync(files.chestJ2k), 41)])).body.stored![0];
    // The film records no age: the children's model is answered at ingest and its SR stored, a change the open study
    // would take up; waited for, so that the first look is timed on a study that does not change meanwhile.
    await api.answeredAtIngest(film.sopInstanceUid);
    // Every text the image status shows while visible, in order (a preview may stand for a moment only).
    await page.addInitScript(() => {
      const seen: string[] = [];
      Object.assign(window, { statusSeen: seen });
      new MutationObserver(() => {
        const status = document.querySelector<HTMLElement>('[data-testid="image-status"]');
        const text = status && !status.hidden ? status.textContent : null;
        if (text && seen.at(-1) !== text) seen.push(text);
      }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
    });

    await page.goto('about:blank');
    await page.goto(`${api.url}/#/study/${film.studyInstanceUid}`);
    const marks = await pixelMarks(page, film.sopInstanceUid);

    expect(marks.firstResolution).toBe('reduced');
    expect(marks.requested).toBeLessThan(marks.first);
    expect(marks.first).toBeLessThan(marks.full);
    expect(marks.fullSize).toEqual({ columns: 1841, rows: 1955 });
    expect(await page.evaluate(() => (window as unknown as { statusSeen: string[] }).statusSeen)).toContain('Full resolution loading…');
    await expect.poll(() => page.getByTestId('image-status').isHidden()).toBe(true);

    // The preview was a real picture of the pane's size, and now lies hidden under nothing: the full frame is what shows.
    const viewport = page.getByTestId('viewport');
    const pane = await viewport.evaluate((el) => ({ width: el.clientWidth, height: el.clientHeight, scale: Number(el.dataset.scale) }));
    const preview = await canvasStats(page, 'image-preview');
    expect([preview.width, preview.height]).toEqual([pane.width, pane.height]);
    expect(preview.sd).toBeGreaterThan(10);
    // It was asked at the pyramid level just coarser than the pane: this pane fits the film at about 1:3, so 1:4.
    const asked = await page.evaluate((uid) => performance.getEntriesByType('resource').find((e) => e.name.includes(`/instances/${uid}/frames/1/rendered`))?.name, film.sopInstanceUid);
    expect(new URL(asked!).searchParams.get('viewport')).toBe('461,489');
    // Opened once, though two parts of the screen ask for it as the study opens: the study screen, and the findings
    // panel, whose selected finding (the gate's answer) brings its film up. Opened twice, the full frame came first.
    const frameRequests = await page.evaluate((uid) => performance.getEntriesByType('resource').map((e) => e.name).filter((name) => name.includes(`/instances/${uid}/frames/1`)), film.sopInstanceUid);
    expect(frameRequests.filter((name) => name.includes('/frames/1/rendered'))).toHaveLength(1);
    expect(frameRequests.filter((name) => !name.includes('/frames/1/rendered'))).toHaveLength(1);
    expect(await page.getByTestId('image-preview').isHidden()).toBe(true);
    expect((await canvasStats(page)).sd).toBeGreaterThan(10);
    // The full frame sits at the fit the preview was drawn at: nothing moved when it landed.
    expect(pane.scale).toBeCloseTo(Math.min(pane.width / 1841, pane.height / 1955), 6);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('when the film\'s header has no window, then the first look has the contrast the full frame opens with (both over the 0.5–99.5th percentiles)', async () => {
    const { api, page, pageErrors } = reader;
    const film = (await api.client.stow([withFreshUids(withoutWindow(fs.readFileSync(files.chestJ2k)), 42)])).body.stored![0];
    // The film records no age: the children's model is answered at ingest and its SR stored, a change the open study
    // would take up; waited for, so that the first look is timed on a study that does not change meanwhile.
    await api.answeredAtIngest(film.sopInstanceUid);
    const instance = await api.store.getInstance(film.sopInstanceUid, ALL_SITES);
    expect([instance.image!.windowCenter, instance.image!.windowWidth]).toEqual([undefined, undefined]);

    await page.goto('about:blank');
    await page.goto(`${api.url}/#/study/${film.studyInstanceUid}`);
    expect((await pixelMarks(page, film.sopInstanceUid)).firstResolution).toBe('reduced');
    await expect.poll(() => page.getByTestId('image-status').isHidden()).toBe(true);

    const grey = await filmGrey(page, { columns: 1841, rows: 1955 });
    expect(grey.preview.sd).toBeGreaterThan(10);
    expect(Math.abs(grey.preview.mean - grey.full.mean)).toBeLessThan(MEAN_LEVELS);
    expect(Math.abs(grey.preview.sd - grey.full.sd)).toBeLessThan(SD_LEVELS);
    expect(grey.meanAbsoluteDifference).toBeLessThan(PIXEL_LEVELS);
    // The default preset is that window, and says where it comes from.
    expect(await page.getByTestId('preset-default').getAttribute('title')).toMatch(/percentiles/);
    expect(await page.getByTestId('preset-default').getAttribute('aria-pressed')).toBe('true');
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
