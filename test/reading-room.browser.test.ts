/**
 * The reading room, in Debian's Chromium at 1280×720 against the real stack: real chest
 * radiographs (one film re-identified into many studies) are read by the bundled model,
 * bedside vitals (POST /v1/triage) give them different priorities, and a radiologist
 * works the worklist with the keyboard. Every decision is checked where it matters: in
 * the audit trail. Screenshots land in test-output/reading-room/ and are checked by
 * their pixels.
 */
import fs from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureViewerBuilt } from '../scripts/ensure-deps.mjs';
import { apiClient, type AuditItem } from './support/api-client.ts';
import { newUser, type SignedIn } from './support/sign-in.ts';
import { canvasStats, horizontalOverflow, launchChromium, pngStats } from './support/browser.ts';
import { withFreshUids } from './support/dicom-builder.ts';
import { files } from './support/shared-data.ts';
import { startStack, waitFor, type Stack } from './support/stack.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
const out = join(repo, 'test-output', 'reading-room');
/** Reader accounts: the audit trail records their user names. */
const READER = 'dr-lin';
const SHIFT_READER = 'dr-shift';
const VIEWPORT = { width: 1280, height: 720 };

const mmHg = (value: number) => ({ value, unit: 'mmHg' });
const celsius = (value: number) => ({ value, unit: '°C' });
/** RISK-EQUATIONS.md §4 row 2: NEWS2 8 (high). */
const sickNews2 = { respiratoryRate: 22, spo2: 94, spo2Scale: '1', supplementalOxygen: true, systolicBp: mmHg(105), pulse: 105, consciousness: 'alert', temperature: celsius(38.4) };
/** NEWS2 5: respiratory rate 21–24 (2), pulse 91–110 (1), temperature 38.1–39 (1), SpO2 94–95 (1). */
const unwellNews2 = { respiratoryRate: 22, spo2: 95, spo2Scale: '1', supplementalOxygen: false, systolicBp: mmHg(125), pulse: 95, consciousness: 'alert', temperature: celsius(38.4) };
/** §4 row 1: NEWS2 0 (low). */
const wellNews2 = { respiratoryRate: 16, spo2: 97, spo2Scale: '1', supplementalOxygen: false, systolicBp: mmHg(125), pulse: 72, consciousness: 'alert', temperature: celsius(37.0) };

interface StudyFinding {
  id: string;
  label: string;
  display: string;
  displayZh?: string;
  sopInstanceUid: string;
  probability: number | null;
  model: { id: string; version: string };
  heatmap?: { region?: { left: number; top: number; size: number } };
  review: { id: string; decision: string; reasonCode?: string } | null;
  reviews?: { id: string; decision: string; amends?: string }[];
}
interface StudyAnswer {
  study: { studyInstanceUid: string; status: string; priority: number; why: string; whyZh: string };
  instances: { sopInstanceUid: string; image: { rows: number; columns: number } }[];
  findings: StudyFinding[];
  readerFindings: { id: string; label: string; reviewer: string; comment?: string }[];
}

/** Mean colour and saturation of a PNG (or a box of it): the heatmap is the only colour on a greyscale film. */
async function colour(png: Buffer, box?: { x0: number; y0: number; x1: number; y1: number }) {
  let img = sharp(png).removeAlpha();
  if (box) img = img.extract({ left: box.x0, top: box.y0, width: box.x1 - box.x0, height: box.y1 - box.y0 });
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  let r = 0;
  let g = 0;
  let b = 0;
  let sat = 0;
  let coloured = 0;
  for (let i = 0; i < data.length; i += info.channels) {
    const [R, G, B] = [data[i], data[i + 1], data[i + 2]];
    r += R;
    g += G;
    b += B;
    const s = Math.max(R, G, B) - Math.min(R, G, B);
    sat += s;
    if (s > 60) coloured++;
  }
  const n = data.length / info.channels;
  return { r: r / n, g: g / n, b: b / n, saturation: sat / n, colouredShare: coloured / n };
}

/** Where the heatmap overlay has ink (alpha above `minAlpha`), and how much. */
function overlayInk(page: Page, minAlpha = 0) {
  return page.getByTestId('heatmap-overlay').evaluate((el, minAlpha) => {
    const c = el as HTMLCanvasElement;
    const { data } = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
    let n = 0;
    let alpha = 0;
    let x0 = Infinity;
    let y0 = Infinity;
    let x1 = -Infinity;
    let y1 = -Infinity;
    for (let i = 3; i < data.length; i += 4) {
      if (data[i] <= minAlpha) continue;
      n++;
      alpha += data[i];
      const p = (i - 3) / 4;
      const x = p % c.width;
      const y = Math.floor(p / c.width);
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x + 1);
      y1 = Math.max(y1, y + 1);
    }
    return { pixels: n, meanAlpha: n ? alpha / n : 0, box: n ? { x0, y0, x1, y1 } : null, width: c.width, height: c.height };
  }, minAlpha);
}

/**
 * Where the model's region must land on the canvas, from cornerstone's documented mapping
 * (canvas centre + scale·(translation + p − image centre)) and the viewport's state.
 */
async function expectedRegion(page: Page, region: { left: number; top: number; size: number }, image: { rows: number; columns: number }) {
  const vp = page.getByTestId('viewport');
  const s = Number(await vp.getAttribute('data-scale'));
  const tx = Number(await vp.getAttribute('data-translate-x'));
  const ty = Number(await vp.getAttribute('data-translate-y'));
  const { width, height } = await overlayInk(page);
  const x0 = width / 2 + s * (tx + region.left - image.columns / 2);
  const y0 = height / 2 + s * (ty + region.top - image.rows / 2);
  return { x0, y0, x1: x0 + s * region.size, y1: y0 + s * region.size, scale: s, tx, ty };
}

async function checkedScreenshot(page: Page, name: string) {
  const path = join(out, name);
  await page.screenshot({ path });
  const stats = await pngStats(path);
  expect(stats.width).toBe(VIEWPORT.width);
  // Not blank: a real screen has text, chips and an image, so many colours and much ink.
  expect(stats.colours, `${name} looks blank`).toBeGreaterThan(40);
  expect(stats.inkShare, `${name} looks blank`).toBeGreaterThan(0.05);
  return path;
}

describe('reading room: a radiologist reads by keyboard in Chromium', () => {
  let stack: Stack;
  let api: ReturnType<typeof apiClient>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const film = new Uint8Array(fs.readFileSync(files.chestRaw));
  let copy = 100; // three-digit suffixes: re-identified UIDs never collide
  const study = async (uid: string) => (await api.json<StudyAnswer>(`/v1/studies/${encodeURIComponent(uid)}`)).body;
  const triage = (uid: string, news2: object) =>
    api.json<{ triage: { priority: number } }>('/v1/triage', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ studyInstanceUid: uid, scores: { news2 } }) });
  /** Uploads `n` new studies of the same real film; resolves with their UIDs. */
  const upload = async (n: number) => {
    const { status, body } = await api.stow(Array.from({ length: n }, () => withFreshUids(film, copy++)));
    expect(status).toBe(200);
    expect(body.failed).toEqual([]);
    return body.stored!.map((s) => s.studyInstanceUid);
  };
  const settled = async (uids: string[]) => {
    for (const uid of uids) await api.settled(uid, 120_000);
  };
  const decisionsBy = async (actor: string) =>
    (await api.audit('?limit=500')).filter((a) => a.actor === actor && /^finding\.(accept|override)$/.test(a.action));
  const newPage = async (ctx: BrowserContext) => {
    const p = await ctx.newPage();
    p.on('pageerror', (err) => pageErrors.push(err.message));
    return p;
  };
  const readers = new Map<string, Promise<SignedIn>>();
  /** A browser in which `reviewer` (an account made once, a radiologist) is signed in, in `locale`. */
  const readerContext = (reviewer: string, locale: 'en' | 'zh') =>
    browser.newContext({ viewport: VIEWPORT }).then(async (ctx) => {
      if (!readers.has(reviewer)) readers.set(reviewer, newUser(stack.baseUrl, stack.token, { username: reviewer, displayName: reviewer, roles: ['radiologist'] }));
      await (await readers.get(reviewer)!).signInBrowser(ctx);
      await ctx.addInitScript((loc) => localStorage.setItem('lantern.locale', loc), locale);
      return ctx;
    });
  const waitForImage = (p: Page) =>
    p.waitForFunction(() => (document.querySelector('[data-testid="image-status"]') as HTMLElement | null)?.hidden === true, undefined, { timeout: 30_000 });
  const openStudy = async (p: Page, uid: string) => {
    await p.locator(`[data-testid="study-head"][data-study-uid="${uid}"]`).waitFor();
    await p.getByTestId('finding').first().waitFor();
  };

  // The three studies whose order the worklist must show, sickest first.
  let sick: string;
  let unwell: string;
  let well: string;
  /** Studies for the scripted shift, uploaded early so the model reads them meanwhile. */
  let shift: string[];

  beforeAll(async () => {
    fs.rmSync(out, { recursive: true, force: true });
    fs.mkdirSync(out, { recursive: true });
    ensureViewerBuilt();
    stack = await startStack();
    api = apiClient(stack.baseUrl, stack.token);
    browser = await launchChromium();
    [well, unwell, sick] = await upload(3);
    await settled([well, unwell, sick]);
    expect((await triage(well, wellNews2)).status).toBe(200);
    expect((await triage(unwell, unwellNews2)).status).toBe(200);
    expect((await triage(sick, sickNews2)).status).toBe(200);
    context = await readerContext(READER, 'en');
    page = await newPage(context);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('when studies carry different bedside scores, then the worklist follows priority, the why chip names NEWS2, the waiting clock shows the level target, and filters survive a reload', async () => {
    await page.goto(stack.baseUrl);
    const rows = page.getByTestId('worklist-row');
    await page.locator(`[data-testid="worklist-row"][data-study-uid="${sick}"]`).waitFor();
    const order = await rows.evaluateAll((els) => els.map((e) => ({ uid: e.getAttribute('data-study-uid')!, priority: Number(e.getAttribute('data-priority')), status: e.getAttribute('data-status') })));
    const api3 = (await api.worklist()).filter((i) => [sick, unwell, well].includes(i.studyInstanceUid));
    expect(api3.map((i) => i.studyInstanceUid)).toEqual([sick, unwell, well]);
    expect(order.filter((r) => [sick, unwell, well].includes(r.uid)).map((r) => r.uid)).toEqual([sick, unwell, well]);
    const unreviewed = order.filter((r) => r.status !== 'reviewed').map((r) => r.priority);
    expect(unreviewed).toEqual([...unreviewed].sort((a, b) => b - a));

    const sickRow = page.locator(`[data-testid="worklist-row"][data-study-uid="${sick}"]`);
    expect(await sickRow.getByTestId('why').textContent()).toMatch(/NEWS2 8/);
    expect(await sickRow.getByTestId('sla').textContent()).toMatch(/^\d+ min \/ \d+ min/);
    expect(await sickRow.getByTestId('sla').getAttribute('data-breached')).toBe('false');
    expect(await horizontalOverflow(page)).toBe(0);
    await checkedScreenshot(page, 'worklist.png');

    // Filters are query parameters, kept in the hash: a reload keeps them.
    const sickBand = await sickRow.locator('.priority').getAttribute('class');
    const band = /priority-(urgent|high|routine|low)/.exec(sickBand!)![1];
    await page.getByTestId(`filter-priority-${band}`).check();
    await expect.poll(() => page.evaluate(() => location.hash)).toContain(`priority=${band}`);
    await expect.poll(() => rows.count()).toBeLessThan(3);
    await page.reload();
    await sickRow.waitFor();
    expect(await page.getByTestId(`filter-priority-${band}`).isChecked()).toBe(true);
    expect(await page.locator(`[data-testid="worklist-row"][data-study-uid="${well}"]`).count()).toBe(0);
    await page.getByTestId('filter-clear').click();
    await page.locator(`[data-testid="worklist-row"][data-study-uid="${well}"]`).waitFor();
    expect(await page.evaluate(() => location.hash)).toBe('#/');
  });

  it('when a study arrives while the worklist is open, then its row appears without a reload', async () => {
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    shift = await upload(20);
    const [first] = await upload(1);
    await page.locator(`[data-testid="worklist-row"][data-study-uid="${first}"]`).waitFor({ timeout: 15_000 });
    // And it follows the AI read: its finding chip appears once the worker is done.
    await page.locator(`[data-testid="worklist-row"][data-study-uid="${first}"] [data-testid="finding-chip"]:not([data-call="not-applicable"])`).waitFor({ timeout: 120_000 });
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
  }, 180_000);

  it('when the waiting time passes the level target, then the clock turns red on its own tick, without a refetch', async () => {
    const ctx = await readerContext(READER, 'en');
    const p = await newPage(ctx);
    await p.clock.install();
    await p.goto(stack.baseUrl);
    const sla = p.locator(`[data-testid="worklist-row"][data-study-uid="${sick}"] [data-testid="sla"]`);
    await sla.waitFor();
    expect(await sla.getAttribute('data-breached')).toBe('false');
    const before = await sla.textContent();
    // From here on the worklist cannot be fetched: whatever changes comes from the page's own clock.
    await p.route('**/v1/worklist**', (route) => route.abort());
    await p.clock.fastForward('04:01:00');
    await expect.poll(() => sla.getAttribute('data-breached')).toBe('true');
    const after = await sla.textContent();
    expect(after).not.toBe(before);
    expect(after).toMatch(/^4 h \d+ min \/ /);
    const red = await sla.locator('.sla-time').evaluate((el) => getComputedStyle(el).color);
    const [r, g] = red.match(/\d+/g)!.map(Number);
    expect(r).toBeGreaterThan(200);
    expect(g).toBeLessThan(160);
    await ctx.close();
  });

  it('when the reader opens the top study by keyboard, then the heatmap overlay toggles with h, sits on the region the model saw through zoom and pan, and opacity, invert and a window preset change the pixels', async () => {
    await page.goto(`${stack.baseUrl}/#/`);
    await page.locator(`[data-testid="worklist-row"][data-study-uid="${sick}"]`).waitFor();
    // j then k: the selection moves and comes back to the top row; Enter opens it.
    await page.keyboard.press('j');
    await page.keyboard.press('k');
    expect(await page.locator('[data-testid="worklist-row"].selected').getAttribute('data-study-uid')).toBe(sick);
    await page.keyboard.press('Enter');
    await openStudy(page, sick);
    await waitForImage(page);
    const answer = await study(sick);
    const finding = answer.findings.find((f) => f.heatmap)!;
    expect(finding, 'the pneumonia model returns a heatmap').toBeTruthy();
    const image = answer.instances.find((i) => i.sopInstanceUid === finding.sopInstanceUid)!.image;
    const region = finding.heatmap!.region ?? { left: 0, top: 0, size: image.columns };

    const viewport = page.getByTestId('viewport');
    const plainShot = await viewport.screenshot();
    const shown = await canvasStats(page);
    expect(shown.sd).toBeGreaterThan(20);

    // h: the overlay appears, coloured, inside the model's region.
    await page.keyboard.press('h');
    await expect.poll(async () => (await overlayInk(page)).pixels).toBeGreaterThan(500);
    expect(await page.getByTestId('heatmap-button').getAttribute('aria-pressed')).toBe('true');
    // What the reader sees where the map has ink: the film alone is grey, with the map it is coloured.
    const hot = (await overlayInk(page, 100)).box!;
    const inkArea = (png: Buffer) => colour(png, hot);
    const plain = await inkArea(plainShot);
    const withMap = await inkArea(await viewport.screenshot());
    expect(plain.saturation).toBeLessThan(3);
    expect(withMap.saturation).toBeGreaterThan(plain.saturation + 20);
    type Placed = { ink: Awaited<ReturnType<typeof overlayInk>>; want: Awaited<ReturnType<typeof expectedRegion>> };
    /** Which edge of the ink lies outside the model's region (2 px of rounding allowed), or 'inside'. */
    const placement = ({ ink, want }: Placed) => {
      const box = ink.box!;
      if (box.x0 < Math.floor(want.x0) - 2) return `left edge ${box.x0} < ${want.x0}`;
      if (box.y0 < Math.floor(want.y0) - 2) return `top edge ${box.y0} < ${want.y0}`;
      if (box.x1 > Math.ceil(want.x1) + 2) return `right edge ${box.x1} > ${want.x1}`;
      if (box.y1 > Math.ceil(want.y1) + 2) return `bottom edge ${box.y1} > ${want.y1}`;
      return 'inside';
    };
    // The overlay is drawn once the image has rendered, a frame after the transform's data attributes
    // change (a CI run read it between the two: bottom edge 449 > 411): read until it has caught up.
    const inside = async () => {
      let placed!: Placed;
      await expect.poll(async () => {
        placed = { ink: await overlayInk(page), want: await expectedRegion(page, region, image) };
        return placement(placed);
      }, { timeout: 5_000 }).toBe('inside');
      return placed;
    };
    const atFit = await inside();
    const studyShot = await checkedScreenshot(page, 'study-overlay.png');
    const box = (await viewport.boundingBox())!;
    const onImage = await pngStats(studyShot, { left: box.x, top: box.y, width: box.width, height: box.height });
    expect(onImage.colours).toBeGreaterThan(60);
    // In the saved screenshot, the overlay region is coloured.
    const shotHot = { x0: Math.round(box.x) + hot.x0, y0: Math.round(box.y) + hot.y0, x1: Math.round(box.x) + hot.x1, y1: Math.round(box.y) + hot.y1 };
    expect((await colour(fs.readFileSync(studyShot), shotHot)).colouredShare).toBeGreaterThan(0.1);

    // Zoom in and pan toward the map's hot core (wherever the model looked, often the film's edge),
    // so it stays in view: the overlay moves and grows with the image, still on its region.
    const canvas = await overlayInk(page);
    const right = (hot.x0 + hot.x1) / 2 < canvas.width / 2;
    const down = (hot.y0 + hot.y1) / 2 < canvas.height / 2;
    await page.keyboard.press('+');
    for (const key of [...Array(3).fill(right ? 'ArrowRight' : 'ArrowLeft'), ...Array(3).fill(down ? 'ArrowDown' : 'ArrowUp')]) await page.keyboard.press(key);
    await expect.poll(async () => Number(await viewport.getAttribute('data-scale'))).toBeCloseTo(atFit.want.scale * 1.25, 3);
    await expect.poll(async () => Math.sign(Number(await viewport.getAttribute('data-translate-y')) - atFit.want.ty)).toBe(down ? 1 : -1);
    const zoomed = await inside();
    expect(zoomed.ink.box).not.toEqual(atFit.ink.box);
    // The map's hot core is where the image moved it: mapped through image pixels from
    // the fitted view to the zoomed and panned one (and clipped by the canvas).
    const before = atFit.want;
    const now = zoomed.want;
    const remap = (v: number, axis: 'x' | 'y') => {
      const half = (axis === 'x' ? zoomed.ink.width : zoomed.ink.height) / 2;
      const imagePixel = (v - half) / before.scale - (axis === 'x' ? before.tx : before.ty);
      const mapped = half + now.scale * ((axis === 'x' ? now.tx : now.ty) + imagePixel);
      return Math.min(2 * half, Math.max(0, mapped));
    };
    const hotZoomed = (await overlayInk(page, 100)).box!;
    const tolerance = 2 + 2 * (now.scale / before.scale);
    expect(Math.abs(hotZoomed.x0 - remap(hot.x0, 'x'))).toBeLessThan(tolerance);
    expect(Math.abs(hotZoomed.x1 - remap(hot.x1, 'x'))).toBeLessThan(tolerance);
    expect(Math.abs(hotZoomed.y0 - remap(hot.y0, 'y'))).toBeLessThan(tolerance);
    expect(Math.abs(hotZoomed.y1 - remap(hot.y1, 'y'))).toBeLessThan(tolerance);
    await page.keyboard.press('r');
    await expect.poll(async () => Number(await viewport.getAttribute('data-scale'))).toBeCloseTo(atFit.want.scale, 5);

    // Opacity: the same overlay, fainter.
    const strong = await overlayInk(page);
    await page.getByTestId('heatmap-opacity').fill('20');
    await expect.poll(async () => (await overlayInk(page)).meanAlpha).toBeLessThan(strong.meanAlpha * 0.5);
    const faint = await inkArea(await viewport.screenshot());
    expect(faint.saturation).toBeLessThan(withMap.saturation * 0.6);
    expect(faint.saturation).toBeGreaterThan(plain.saturation);
    await page.getByTestId('heatmap-opacity').fill('70');

    // h again: gone.
    await page.locator('body').focus();
    await page.keyboard.press('h');
    await expect.poll(async () => (await overlayInk(page)).pixels).toBe(0);

    // i inverts the greys; i again restores them.
    await page.keyboard.press('i');
    await expect.poll(async () => Math.abs((await canvasStats(page)).mean - shown.mean)).toBeGreaterThan(10);
    expect(await page.getByTestId('invert').getAttribute('aria-pressed')).toBe('true');
    await page.keyboard.press('i');
    await expect.poll(async () => Math.abs((await canvasStats(page)).mean - shown.mean)).toBeLessThan(1);

    // 1 = lung window: different pixels; 4 = the image's own window: the first view again.
    await page.keyboard.press('1');
    await expect.poll(async () => Math.abs((await canvasStats(page)).mean - shown.mean)).toBeGreaterThan(3);
    expect(await page.getByTestId('preset-lung').getAttribute('aria-pressed')).toBe('true');
    await page.keyboard.press('4');
    await expect.poll(async () => Math.abs((await canvasStats(page)).mean - shown.mean)).toBeLessThan(1);

    // ? lists the keys; Escape closes the list.
    await page.keyboard.press('?');
    const help = page.getByTestId('shortcuts-help');
    await help.waitFor();
    expect(await help.textContent()).toMatch(/Accept the selected finding/);
    const helpShot = await checkedScreenshot(page, 'shortcuts-help.png');
    const helpBox = (await help.boundingBox())!;
    expect((await pngStats(helpShot, { left: helpBox.x, top: helpBox.y, width: helpBox.width, height: helpBox.height })).inkShare).toBeGreaterThan(0.03);
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'detached' });
    expect(await horizontalOverflow(page)).toBe(0);
  }, 120_000);

  it('when the reader accepts one study and overrides another with a reason digit, by keyboard only, then both land in the audit, and an amendment keeps both records', async () => {
    // Accept on the sick study (open from the previous story).
    await openStudy(page, sick);
    const sickFinding = (await study(sick)).findings[0];
    await page.keyboard.press('a');
    const accepted = await waitFor(async () => (await decisionsBy(READER)).find((a) => a.entityId === sickFinding.id), 'the accept in the audit');
    expect(accepted).toMatchObject({ action: 'finding.accept', entityType: 'finding', payload: { decision: 'accept', studyInstanceUid: sick, amends: null } });
    const card = page.locator(`[data-testid="finding"][data-finding-id="${sickFinding.id}"]`);
    await card.locator('[data-testid="decision"][data-decision="accept"]').waitFor();

    // n: on to the next unreviewed study in worklist order: the unwell one.
    await page.keyboard.press('n');
    await openStudy(page, unwell);
    const unwellFinding = (await study(unwell)).findings[0];
    await page.keyboard.press('o');
    const picker = page.getByTestId('override-picker');
    await picker.waitFor();
    await page.keyboard.press('1');
    expect(await picker.locator('[data-testid="picker-option"][data-code="false-positive"]').isChecked()).toBe(true);
    await checkedScreenshot(page, 'override-picker.png');
    await page.keyboard.press('Enter');
    await picker.waitFor({ state: 'detached' });
    const overridden = await waitFor(async () => (await decisionsBy(READER)).find((a) => a.entityId === unwellFinding.id), 'the override in the audit');
    expect(overridden).toMatchObject({ action: 'finding.override', payload: { decision: 'override', reasonCode: 'false-positive', amends: null } });

    // e amends: override the earlier decision with reason 2; both decisions stay.
    const unwellCard = page.locator(`[data-testid="finding"][data-finding-id="${unwellFinding.id}"]`);
    await unwellCard.locator('[data-testid="decision"][data-decision="override"]').waitFor();
    await page.keyboard.press('a'); // refused: a decided finding changes only through Amend
    await page.locator('[data-testid="toast"][data-tone="error"]').first().waitFor();
    await page.keyboard.press('e');
    await unwellCard.getByTestId('cancel-amend').waitFor();
    await page.keyboard.press('o');
    await picker.waitFor();
    await page.keyboard.press('2');
    await page.keyboard.press('Enter');
    await picker.waitFor({ state: 'detached' });
    const both = await waitFor(async () => {
      const records = (await decisionsBy(READER)).filter((a) => a.entityId === unwellFinding.id);
      return records.length === 2 ? records : undefined;
    }, 'two audit records for the amended finding');
    const [latest, earlier] = both as AuditItem[];
    expect(earlier.payload).toMatchObject({ reasonCode: 'false-positive', amends: null });
    expect(latest.payload).toMatchObject({ reasonCode: 'false-negative', amends: earlier.payload.reviewId });
    const after = (await study(unwell)).findings.find((f) => f.id === unwellFinding.id)!;
    expect(after.reviews?.map((r) => r.id)).toEqual([earlier.payload.reviewId, latest.payload.reviewId]);
    expect(after.review?.id).toBe(latest.payload.reviewId);
    await expect.poll(() => unwellCard.getByTestId('history-entry').count()).toBe(2);
  }, 120_000);

  it('when the reader adds a finding the AI missed, by keyboard, then it is stored on the study and audited', async () => {
    await openStudy(page, unwell);
    const labels = (await api.json<{ items: { code: string; display: string }[] }>('/v1/reader-finding-labels')).body.items;
    const effusion = labels.findIndex((l) => l.code === 'effusion');
    expect(effusion).toBeGreaterThanOrEqual(0);
    await page.keyboard.press('m');
    const picker = page.getByTestId('missed-picker');
    await picker.waitFor();
    await page.keyboard.press(String(effusion + 1));
    await page.getByTestId('picker-comment').focus();
    await page.keyboard.type('Small left effusion, blunted angle 2');
    await page.keyboard.press('Enter');
    await picker.waitFor({ state: 'detached' });
    await page.locator('[data-testid="reader-finding"][data-label="effusion"]').waitFor();
    const stored = (await study(unwell)).readerFindings;
    expect(stored).toEqual([expect.objectContaining({ label: 'effusion', reviewer: READER, comment: 'Small left effusion, blunted angle 2' })]);
    const audit = await waitFor(async () => (await api.audit('?limit=50')).find((a) => a.action === 'finding.reader-added' && a.entityId === stored[0].id), 'the reader finding audit');
    expect(audit).toMatchObject({ actor: READER, payload: { studyInstanceUid: unwell, label: 'effusion' } });
  });

  it('when the reader reads Chinese, then the study shows the finding name, why and labels in Chinese', async () => {
    const ctx = await readerContext(READER, 'zh');
    const p = await newPage(ctx);
    await p.goto(`${stack.baseUrl}/#/study/${encodeURIComponent(well)}`);
    await openStudy(p, well);
    await waitForImage(p);
    const answer = await study(well);
    const f = answer.findings[0];
    expect(f.displayZh, 'the model card names the finding in Chinese').toMatch(/[\u4e00-\u9fff]/);
    const card = p.locator(`[data-testid="finding"][data-finding-id="${f.id}"]`);
    expect(await card.getByTestId('finding-display').textContent()).toBe(f.displayZh);
    expect(await card.getByTestId('accept').textContent()).toContain('接受');
    expect(await card.getByTestId('ai-label').textContent()).toMatch(/AI 辅助/);
    expect(await p.getByTestId('study-why').textContent()).toBe(answer.study.whyZh);
    expect(answer.study.whyZh).toMatch(/[\u4e00-\u9fff]|NEWS2/);
    expect(await p.locator('.findings-pane h2').textContent()).toBe('AI 发现');
    await expect.poll(() => card.getByTestId('calibration').textContent()).toMatch(/校准/);
    expect(await horizontalOverflow(p)).toBe(0);
    const shot = await checkedScreenshot(p, 'zh-study.png');
    const box = (await card.boundingBox())!;
    expect((await pngStats(shot, { left: box.x, top: box.y, width: box.width, height: Math.min(box.height, VIEWPORT.height - box.y) })).colours).toBeGreaterThan(20);

    // Switched at run time, the same study re-mounts in English, with one set of keys.
    await p.getByTestId('lang-en').click();
    await expect.poll(() => card.getByTestId('finding-display').textContent()).toBe(f.display);
    expect(await card.getByTestId('accept').textContent()).toBe('Accept (A)');
    await p.keyboard.press('?');
    await expect.poll(() => p.getByTestId('shortcuts-help').count()).toBe(1);
    expect(await p.getByTestId('shortcuts-help').textContent()).toMatch(/Accept the selected finding/);
    await ctx.close();
  });

  it('when a reader works through 20 studies by keyboard only, then every decision is audited and the time is reported', async () => {
    // Everything else on the list is decided first, so the walk covers exactly the 20.
    await settled(shift);
    for (const item of await api.worklist()) {
      if (item.status === 'reviewed' || shift.includes(item.studyInstanceUid)) continue;
      for (const f of (await study(item.studyInstanceUid)).findings.filter((x) => !x.review && x.probability !== null)) {
        expect((await api.review(f.id, { decision: 'accept' })).status).toBe(201);
      }
    }
    const ctx = await readerContext(SHIFT_READER, 'en');
    const p = await newPage(ctx);
    await p.goto(stack.baseUrl);
    await p.getByTestId('worklist-row').first().waitFor();
    const firstRow = await p.locator('[data-testid="worklist-row"].selected').getAttribute('data-study-uid');
    expect(shift).toContain(firstRow);

    const started = performance.now();
    await p.keyboard.press('Enter');
    const seen: string[] = [];
    for (let i = 0; i < 20; i++) {
      const head = p.locator('[data-testid="study-head"]');
      await p.waitForFunction((prev) => {
        const uid = document.querySelector('[data-testid="study-head"]')?.getAttribute('data-study-uid');
        return uid && uid !== prev && document.querySelector('[data-testid="finding"]');
      }, seen[seen.length - 1] ?? '');
      seen.push((await head.getAttribute('data-study-uid'))!);
      if (i % 2 === 0) {
        await p.keyboard.press('a');
      } else {
        await p.keyboard.press('o');
        await p.getByTestId('override-picker').waitFor();
        await p.keyboard.press(String(1 + ((i >> 1) % 5)));
        await p.keyboard.press('Enter');
      }
      await p.keyboard.press('n');
    }
    const decisions = await waitFor(async () => {
      const d = await decisionsBy(SHIFT_READER);
      return d.length >= 20 ? d : undefined;
    }, '20 decisions in the audit', 60_000);
    const wallMs = performance.now() - started;
    // After the last study, n leads back to the worklist.
    await expect.poll(() => p.evaluate(() => location.hash)).toMatch(/^#\/(\?.*)?$/);

    expect(new Set(seen).size).toBe(20);
    expect([...seen].sort()).toEqual([...shift].sort());
    expect(decisions).toHaveLength(20);
    const byStudy = new Map(decisions.map((d) => [d.payload.studyInstanceUid as string, d]));
    seen.forEach((uid, i) => {
      const d = byStudy.get(uid)!;
      expect(d.action).toBe(i % 2 === 0 ? 'finding.accept' : 'finding.override');
      if (i % 2 === 1) expect(d.payload.reasonCode).toBeTruthy();
    });
    const timing = { studies: 20, decisions: decisions.length, wallMs: Math.round(wallMs), perStudyMs: Math.round(wallMs / 20), measuredFrom: 'first keypress (Enter on the worklist)', measuredTo: '20th decision visible in GET /v1/audit', viewport: VIEWPORT, at: new Date().toISOString() };
    fs.writeFileSync(join(out, 'timing.json'), `${JSON.stringify(timing, null, 2)}\n`);
    console.log(`reading room: 20 studies by keyboard in ${(wallMs / 1000).toFixed(1)} s (${timing.perStudyMs} ms per study)`);
    await ctx.close();
  }, 300_000);

  it('when the film is not square, then the overlay covers the centre square the model saw, not the whole film', async () => {
    // RG1: 1841×1955, so the model saw rows 57…1897 (a centred square); a map stretched over the film would be taller than wide.
    const { body } = await api.stow([withFreshUids(new Uint8Array(fs.readFileSync(files.chestJ2k)), copy++)]);
    const uid = body.stored![0].studyInstanceUid;
    await settled([uid]);
    const answer = await study(uid);
    const finding = answer.findings.find((f) => f.heatmap)!;
    const image = answer.instances[0].image;
    const region = finding.heatmap!.region!;
    expect(region.size).toBe(Math.min(image.rows, image.columns));
    expect(region.top).toBeGreaterThan(0);

    await page.goto(`${stack.baseUrl}/#/study/${encodeURIComponent(uid)}`);
    await openStudy(page, uid);
    await waitForImage(page);
    await page.locator('body').focus();
    await page.keyboard.press('h');
    await expect.poll(async () => (await overlayInk(page)).pixels).toBeGreaterThan(500);
    const { box } = await overlayInk(page);
    const want = await expectedRegion(page, region, image);
    const filmTop = (await expectedRegion(page, { left: 0, top: 0, size: image.rows }, image)).y0;
    expect(want.y0 - filmTop).toBeGreaterThan(5);
    // Every inked pixel lies in the model's square, and the ink spans it: the map is placed, not stretched.
    expect(box!.x0).toBeGreaterThanOrEqual(Math.floor(want.x0) - 2);
    expect(box!.y0).toBeGreaterThanOrEqual(Math.floor(want.y0) - 2);
    expect(box!.x1).toBeLessThanOrEqual(Math.ceil(want.x1) + 2);
    expect(box!.y1).toBeLessThanOrEqual(Math.ceil(want.y1) + 2);
    expect((box!.y1 - box!.y0) / (box!.x1 - box!.x0)).toBeCloseTo(1, 1);
    await page.keyboard.press('h');
  }, 120_000);

  it('when a model was not applicable to the film, then the study shows why in place of a probability and takes no decision, and the worklist chip says so', async () => {
    const { body } = await api.stow([withFreshUids(new Uint8Array(fs.readFileSync(files.chestJ2k)), copy++)]);
    const uid = body.stored![0].studyInstanceUid;
    await settled([uid]);
    const declined = (await study(uid)).findings.find((f) => f.model.id === 'pneumonia-cxr')!;
    expect(declined.probability).toBeNull();

    await page.goto(`${stack.baseUrl}/#/study/${encodeURIComponent(uid)}`);
    await openStudy(page, uid);
    const card = page.locator(`[data-testid="finding"][data-finding-id="${declined.id}"]`);
    await card.waitFor();
    expect(await card.getByTestId('not-applicable').textContent()).toContain('patient age 64 y outside 1–5 y');
    expect(await card.getByTestId('finding-probability').textContent()).toBe('—');
    expect(await card.getByTestId('accept').count()).toBe(0);
    await card.click();
    await page.keyboard.press('a');
    await page.getByText(/no AI claim to decide/).first().waitFor();
    await card.screenshot({ path: join(out, 'not-applicable.png') });
    expect((await api.audit(`?entityId=${declined.id}`)).map((a) => a.action)).toEqual(['finding.created']);

    await page.goto(`${stack.baseUrl}/#/`);
    const chip = page.locator(`[data-testid="worklist-row"][data-study-uid="${uid}"] [data-testid="finding-chip"][data-call="not-applicable"]`);
    await chip.waitFor();
    expect(await chip.getAttribute('title')).toContain('patient age 64 y outside 1–5 y');
  }, 120_000);

  it('no page raised an error', () => {
    expect(pageErrors).toEqual([]);
  });
});
