/**
 * Browser-test support: Debian's Chromium driven by playwright-core, and pixel checks
 * on what the page actually drew (a canvas, or a whole screenshot), so a screen test
 * fails on a blank or broken render and not only on a missing element.
 */
import { writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import type { SignedIn } from './sign-in.ts';

/** Debian's `/usr/bin/chromium`, headless, with everything that would reach the network off. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** A reading-room sized page in a fresh Chromium, collecting the errors the page throws (a test expects none). */
export async function openReaderPage(): Promise<{ browser: Browser; page: Page; pageErrors: string[] }> {
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  return { browser, page, pageErrors };
}

/** Signs in on the viewer's own form, as a reader would. */
export async function signInOnForm(page: Page, username: string, password: string): Promise<void> {
  await page.getByTestId('sign-in-username').fill(username);
  await page.getByTestId('sign-in-password').fill(password);
  await page.getByTestId('sign-in-submit').click();
}

export interface CanvasStats {
  width: number;
  height: number;
  /** Mean luma, 0–255. */
  mean: number;
  sd: number;
  /** Distinct luma levels (rounded). */
  levels: number;
}

/** Grey-level statistics of what a canvas (found by test id) actually shows. */
export async function canvasStats(page: Page, testId = 'image-canvas'): Promise<CanvasStats> {
  return page.getByTestId(testId).evaluate((el) => {
    const canvas = el as HTMLCanvasElement;
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    let sum = 0;
    let sumSq = 0;
    const levels = new Set<number>();
    const n = data.length / 4;
    for (let i = 0; i < data.length; i += 4) {
      const y = 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
      sum += y;
      sumSq += y * y;
      levels.add(Math.round(y));
    }
    const mean = sum / n;
    return { width: canvas.width, height: canvas.height, mean, sd: Math.sqrt(sumSq / n - mean * mean), levels: levels.size };
  });
}

export interface Region {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface PixelStats {
  width: number;
  height: number;
  /** Distinct RGB colours in the region (quantised to 4 bits per channel, so anti-aliasing noise does not count). */
  colours: number;
  /** Share of the region's pixels that differ from its most common colour (the background). */
  inkShare: number;
}

/**
 * Decodes a PNG (a saved screenshot) and measures a region of it, by default the whole
 * image: how many colours it holds and how much of it is not background.
 */
export async function pngStats(png: Buffer | string, region?: Region): Promise<PixelStats> {
  let img = sharp(png).removeAlpha();
  if (region) {
    const meta = await sharp(png).metadata();
    const left = Math.max(0, Math.floor(region.left));
    const top = Math.max(0, Math.floor(region.top));
    const width = Math.min(meta.width! - left, Math.ceil(region.width));
    const height = Math.min(meta.height! - top, Math.ceil(region.height));
    img = img.extract({ left, top, width, height });
  }
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  const counts = new Map<number, number>();
  for (let i = 0; i < data.length; i += info.channels) {
    const key = ((data[i] >> 4) << 8) | ((data[i + 1] >> 4) << 4) | (data[i + 2] >> 4);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const n = info.width * info.height;
  const background = Math.max(...counts.values());
  return { width: info.width, height: info.height, colours: counts.size, inkShare: (n - background) / n };
}

/** Pixels by which the page is wider than its viewport (0 when nothing scrolls sideways). */
export function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => Math.max(0, document.scrollingElement!.scrollWidth - window.innerWidth));
}

/** A page signed in as `user`, in a browser context of its own (added to `contexts` for the test to close), reading `lang`. */
export async function signedInPage(browser: Browser, user: SignedIn, options: {
  viewport: { width: number; height: number };
  lang?: 'en' | 'zh';
  contexts: BrowserContext[];
  pageErrors: string[];
}): Promise<Page> {
  const context = await browser.newContext({ viewport: options.viewport, locale: options.lang === 'zh' ? 'zh-CN' : 'en-GB' });
  options.contexts.push(context);
  await user.signInBrowser(context);
  const page = await context.newPage();
  page.on('pageerror', (err) => options.pageErrors.push(err.message));
  return page;
}

/** Switches the viewer's language with its header buttons, and waits until the page says it. */
export async function setViewerLanguage(page: Page, lang: 'en' | 'zh'): Promise<void> {
  await page.getByTestId(`lang-${lang}`).click();
  await expect.poll(() => page.evaluate(() => document.documentElement.lang)).toBe(lang === 'zh' ? 'zh-CN' : 'en');
}

/** A palette copy of a screenshot for docs/screens/, checked to stay under 250 KB. */
export async function writeDocsScreenshot(png: Buffer, path: string): Promise<void> {
  const small = await sharp(png).png({ palette: true, colours: 128, effort: 10 }).toBuffer();
  expect(small.length).toBeLessThan(250_000);
  writeFileSync(path, small);
}

/**
 * A screenshot saved to `path`, checked to be a drawn screen rather than a blank one: many
 * colours, and ink inside the visible part of `testId`'s box. With `docsPath`, a docs copy too.
 */
export async function screenshotDrawn(page: Page, path: string, testId: string, docsPath?: string): Promise<Buffer> {
  const png = await page.screenshot({ path });
  expect((await pngStats(png)).colours).toBeGreaterThan(20);
  const box = (await page.getByTestId(testId).first().boundingBox())!;
  const top = Math.max(0, box.y);
  const inside = await pngStats(png, { left: box.x, top, width: box.width, height: Math.min(box.height, page.viewportSize()!.height - top) });
  expect(inside.inkShare).toBeGreaterThan(0.03);
  if (docsPath) await writeDocsScreenshot(png, docsPath);
  return png;
}

/** The viewer's marks for one image opened (viewer/src/study/first-look.ts PIXEL_MARKS), in ms from the page's navigation. */
export interface PixelMarks {
  requested: number;
  first: number;
  /** What the first pixels were: the server's reduced rendering, or the full frame when it came first. */
  firstResolution: 'reduced' | 'full';
  full: number;
  /** When the full frame's request went out (Resource Timing): after the preview's answer. */
  fullRequested: number;
  /** The full frame's decoded size. */
  fullSize: { columns: number; rows: number };
}

/** Waits until the viewer has drawn `sop`'s full frame (at most `timeout` ms) and reads its pixel marks. */
export async function pixelMarks(page: Page, sop: string, timeout = 60_000): Promise<PixelMarks> {
  // No named functions inside: tsx's keepNames would wrap them in a helper the page does not have.
  const read = (uid: string) => {
    const latest: Record<string, PerformanceMark> = {};
    for (const mark of performance.getEntriesByType('mark') as PerformanceMark[]) if (mark.detail?.sopInstanceUid === uid) latest[mark.name] = mark;
    const { 'lantern:image-requested': requested, 'lantern:first-pixels': first, 'lantern:full-pixels': full } = latest;
    const fullRequest = performance.getEntriesByType('resource').find((entry) => entry.name.endsWith(`/instances/${uid}/frames/1`));
    if (!requested || !first || !full || !fullRequest) return null;
    return {
      requested: requested.startTime, first: first.startTime, firstResolution: first.detail.resolution, full: full.startTime,
      fullRequested: fullRequest.startTime, fullSize: { columns: full.detail.columns, rows: full.detail.rows },
    };
  };
  await page.waitForFunction(read, sop, { timeout });
  return (await page.evaluate(read, sop))!;
}
