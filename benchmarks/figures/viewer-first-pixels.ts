/**
 * The viewer's first look, timed in Debian's Chromium against a real `lantern start` (no
 * worker, so nothing else decodes meanwhile): a reader opens a film; the viewer's own
 * performance marks (viewer/src/study/first-look.ts) say when the image was asked for, when its
 * first pixels were drawn (the server's reduced rendering) and when the full frame was drawn.
 * Every load is a fresh copy of the study (the API keeps a few decoded frames; a copy is never
 * among them) with the browser's cache off; the first load, which pays for the decoder thread's
 * start and the codec's compilation, is left out. The figure is first ÷ full at p50 and p95;
 * where the first look's time goes is split from Chromium's resource timing of the rendered
 * request and the route's Server-Timing (api/routes/rendered.ts).
 */
import { performance } from 'node:perf_hooks';
import type { BrowserContext, Page } from 'playwright-core';
import { ensureViewerBuilt } from '../../scripts/ensure-deps.mjs';
import { apiClient } from '../../test/support/api-client.ts';
import { launchChromium, pixelMarks, signedInPage } from '../../test/support/browser.ts';
import { newUser } from '../../test/support/sign-in.ts';
import { startStack } from '../../test/support/stack.ts';
import { progressBar } from '../progress.ts';
import { ratio, summarise, type Summary } from '../stats.ts';
import { studyCopies } from './pipeline.ts';

/** The reading room's window (test/support/browser.ts openReaderPage): the pane is about 970 × 650 CSS pixels. */
const READING_ROOM = { width: 1400, height: 900 };

export interface ViewerFirstPixels {
  /** Loads measured (the warm-up load not counted). */
  loads: number;
  /** Loads whose first pixels were the reduced rendering (the rest drew the full frame first). */
  reducedFirst: number;
  /**
   * ms from the pane's image request to the first pixels and to the full frame drawn; and from
   * the full frame's own request (sent once the preview is answered) to it drawn — about what
   * the full frame took before there was a preview, the decoder being idle by then.
   */
  fromRequest: { first: Summary; full: Summary; fullAlone: Summary };
  /**
   * The first look's time (ms, p50 each): from the image request until the rendered request is
   * sent; the wait for its first byte, of which the server's decoding (blob read included) and
   * rendering (window, resize, JPEG); its transfer; and decoding the picture and drawing it.
   */
  firstLook: { toSend: number; wait: number; decode: number; render: number; transfer: number; draw: number; kilobytes: number };
  /** The same from the page's navigation (page, sign-in check and study answer included). */
  fromNavigation: { first: Summary; full: Summary };
  /** First ÷ full from the image request: the figure. */
  ratio: { p50: number; p95: number };
  /** First ÷ the full frame's own time: first pixels now against the only pixels before. */
  ratioToFullAlone: { p50: number; p95: number };
  ratioFromNavigation: { p50: number; p95: number };
  goal: '≤ 0.3';
}

/** Opens `study` (a DICOM file) `loads` + 1 times, each a fresh copy, in the viewer and times each; progress on stderr. */
export async function measureViewerFirstPixels(options: { study: string; loads: number }): Promise<ViewerFirstPixels> {
  ensureViewerBuilt();
  const stack = await startStack({ workers: 0, env: { LANTERN_RATE_LIMIT: '0' } });
  const browser = await launchChromium();
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  try {
    const reader = await newUser(stack.baseUrl, stack.token, { username: 'bench-reader', displayName: 'Bench Reader', roles: ['radiologist'] });
    const { body } = await apiClient(stack.baseUrl, stack.token).stow(studyCopies(options.study, options.loads + 1, 7000));
    if (body.failed?.length || body.stored?.length !== options.loads + 1) throw new Error(`storing the copies failed: ${JSON.stringify(body.failed)}`);
    const page = await signedInPage(browser, reader, { viewport: READING_ROOM, contexts, pageErrors });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });

    const samples = { first: [] as number[], full: [] as number[], fullAlone: [] as number[], navFirst: [] as number[], navFull: [] as number[] };
    const look = { toSend: [] as number[], wait: [] as number[], decode: [] as number[], render: [] as number[], transfer: [] as number[], draw: [] as number[], kilobytes: [] as number[] };
    let reducedFirst = 0;
    const bar = progressBar('viewer first pixels (Chromium)', options.loads + 1);
    for (const [i, stored] of body.stored.entries()) {
      await page.goto('about:blank');
      await page.goto(`${stack.baseUrl}/#/study/${stored.studyInstanceUid}`);
      const marks = await pixelMarks(page, stored.sopInstanceUid);
      const rendered = await renderedTiming(page, stored.sopInstanceUid);
      bar.tick(i + 1);
      if (i === 0) continue;
      samples.first.push(marks.first - marks.requested);
      samples.full.push(marks.full - marks.requested);
      samples.fullAlone.push(marks.full - marks.fullRequested);
      samples.navFirst.push(marks.first);
      samples.navFull.push(marks.full);
      if (marks.firstResolution === 'reduced') reducedFirst++;
      if (rendered) {
        look.toSend.push(rendered.requestStart - marks.requested);
        look.wait.push(rendered.responseStart - rendered.requestStart);
        look.decode.push(rendered.decode);
        look.render.push(rendered.render);
        look.transfer.push(rendered.responseEnd - rendered.responseStart);
        look.draw.push(marks.first - rendered.responseEnd);
        look.kilobytes.push(rendered.bytes / 1000);
      }
    }
    bar.done();
    if (pageErrors.length) throw new Error(`the viewer threw: ${pageErrors.join('; ')}`);
    const fromRequest = { first: summarise(samples.first), full: summarise(samples.full), fullAlone: summarise(samples.fullAlone) };
    const fromNavigation = { first: summarise(samples.navFirst), full: summarise(samples.navFull) };
    return {
      loads: options.loads,
      reducedFirst,
      fromRequest,
      firstLook: Object.fromEntries(Object.entries(look).map(([part, values]) => [part, values.length ? summarise(values).p50 : NaN])) as ViewerFirstPixels['firstLook'],
      fromNavigation,
      ratio: { p50: ratio(fromRequest.first.p50, fromRequest.full.p50), p95: ratio(fromRequest.first.p95, fromRequest.full.p95) },
      ratioToFullAlone: { p50: ratio(fromRequest.first.p50, fromRequest.fullAlone.p50), p95: ratio(fromRequest.first.p95, fromRequest.fullAlone.p95) },
      ratioFromNavigation: { p50: ratio(fromNavigation.first.p50, fromNavigation.full.p50), p95: ratio(fromNavigation.first.p95, fromNavigation.full.p95) },
      goal: '≤ 0.3',
    };
  } finally {
    await browser.close();
    await stack.stop();
  }
}

/** The rendered request's resource timing and the route's Server-Timing parts (ms); null if the page made none. */
function renderedTiming(page: Page, sopInstanceUid: string) {
  // No named functions inside: tsx's keepNames would wrap them in a helper the page does not have;
  // and the page's own `globalThis.performance`: this module imports Node's, which vitest renames.
  return page.evaluate((uid) => {
    const entry = (globalThis.performance.getEntriesByType('resource') as PerformanceResourceTiming[]).find((e) => e.name.includes(`/instances/${uid}/frames/1/rendered`));
    if (!entry) return null;
    const server = Object.fromEntries(entry.serverTiming.map((t) => [t.name, t.duration]));
    return {
      requestStart: entry.requestStart, responseStart: entry.responseStart, responseEnd: entry.responseEnd, bytes: entry.encodedBodySize,
      decode: server.decode ?? NaN, render: server.render ?? NaN,
    };
  }, sopInstanceUid);
}

/** `npx tsx benchmarks/figures/viewer-first-pixels.ts [study.dcm] [loads]`: this figure alone, as JSON. */
if (import.meta.url === `file://${process.argv[1]}`) {
  const { files } = await import('../../test/support/shared-data.ts');
  const started = performance.now();
  const figure = await measureViewerFirstPixels({ study: process.argv[2] ?? files.chestJ2k, loads: Number(process.argv[3] ?? 9) });
  process.stdout.write(`${JSON.stringify({ ...figure, seconds: Math.round((performance.now() - started) / 1000) }, null, 2)}\n`);
}
