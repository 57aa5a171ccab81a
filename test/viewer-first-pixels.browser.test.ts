/**
 * The viewer's first look, in a real Chromium against the API role: a reader opens a 1841 × 1955
 * JPEG 2000 chest film; the server's reduced rendering is drawn first, saying the full resolution
 * is on its way, and the full frame then takes its place at the same fit — both marks set, in
 * order, never a page error. Times are the benchmark's (benchmarks/figures/viewer-first-pixels.ts),
 * never asserted here.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canvasStats, pixelMarks, signInOnForm } from './support/browser.ts';
import { readerSuite } from './support/reader-suite.ts';
import { withFreshUids } from './support/dicom-builder.ts';
import { files } from './support/shared-data.ts';

const READER = 'dr-first-look';
const PASSWORD = 'a long first-look test password';

describe('viewer: the first look at a large film', () => {
  const reader = readerSuite(READER, PASSWORD);

  it('when the reader opens RG1, then a reduced rendering is drawn first and the 1841 × 1955 frame replaces it at the same fit', async () => {
    const { api, page, pageErrors } = reader;
    const film = (await api.client.stow([withFreshUids(fs.readFileSync(files.chestJ2k), 41)])).body.stored![0];
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

    await page.goto(`${api.url}/#/study/${film.studyInstanceUid}`);
    await signInOnForm(page, READER, PASSWORD);
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
    expect(await page.getByTestId('image-preview').isHidden()).toBe(true);
    expect((await canvasStats(page)).sd).toBeGreaterThan(10);
    // The full frame sits at the fit the preview was drawn at: nothing moved when it landed.
    expect(pane.scale).toBeCloseTo(Math.min(pane.width / 1841, pane.height / 1955), 6);
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
