/**
 * Opening an image in two steps, and the marks that time them: the server's rendering from a
 * coarse level of the image's pyramid (so it arrives long before the full frame) is drawn at
 * once, stretched over the pane where the full frame will be; the full frame replaces it.
 */
import { getRenderedFrame } from '../api.ts';
import type { ImageView } from '../imaging/image-view.ts';
import type { DisplayableInstance } from './image-pane.ts';

/**
 * Performance marks set for every image opened (detail: its SOP Instance UID): the frame
 * asked for, the first pixels drawn (detail.resolution: 'reduced' for the preview, 'full'
 * when the full frame came first) and the full frame drawn (detail: its columns and rows).
 * The viewer's first-pixels benchmark (benchmarks/figures/viewer-first-pixels.ts) and its
 * browser test read them (test/support/browser.ts pixelMarks).
 */
export const PIXEL_MARKS = { requested: 'lantern:image-requested', first: 'lantern:first-pixels', full: 'lantern:full-pixels' } as const;

/** The server's limit on a rendered viewport, each way (api/routes/rendered.ts). */
const MAX_RENDERED_SIDE = 4096;

/** One image being opened: whether any of its pixels are on screen yet. */
export interface Opening {
  instance: DisplayableInstance;
  firstDrawn: boolean;
}

export function startOpening(instance: DisplayableInstance): Opening {
  // The last image's marks go: a reader opening thousands of images keeps three marks, not thousands.
  for (const name of Object.values(PIXEL_MARKS)) performance.clearMarks(name);
  performance.mark(PIXEL_MARKS.requested, { detail: { sopInstanceUid: instance.sopInstanceUid } });
  return { instance, firstDrawn: false };
}

function markFirstPixels(opening: Opening, resolution: 'reduced' | 'full'): void {
  if (opening.firstDrawn) return;
  opening.firstDrawn = true;
  performance.mark(PIXEL_MARKS.first, { detail: { sopInstanceUid: opening.instance.sopInstanceUid, resolution } });
}

/** The full frame (`size`, as decoded) is drawn; and so, if the preview never was, the first pixels too. */
export function markFullPixels(opening: Opening, size: { columns: number; rows: number }): void {
  markFirstPixels(opening, 'full');
  performance.mark(PIXEL_MARKS.full, { detail: { sopInstanceUid: opening.instance.sopInstanceUid, columns: size.columns, rows: size.rows } });
}

/**
 * The box to ask the first look for: the image reduced by the power of two just coarser than
 * fitting it into `pane` (device pixels) needs, so between half and all of the pane's pixels
 * each way. The server decodes power-of-two reductions (a JPEG 2000 level, else a box
 * average) and the coarsest one no smaller than the box asked: asking the pane's own size
 * would decode the level just finer, about four times the pixels — on a chest film in a
 * reading-room pane, 921 × 978 instead of 461 × 489, ~130 ms of decoding instead of ~35 ms —
 * for a picture the full frame replaces a few hundred milliseconds later.
 */
function previewBox(image: { columns: number; rows: number }, pane: { width: number; height: number }): { width: number; height: number } {
  const imagePixelsPerPanePixel = Math.max(image.columns / pane.width, image.rows / pane.height);
  const reduction = imagePixelsPerPanePixel <= 1 ? 1 : 2 ** Math.ceil(Math.log2(imagePixelsPerPanePixel));
  const side = (pixels: number) => Math.min(MAX_RENDERED_SIDE, Math.ceil(pixels / reduction));
  return { width: side(image.columns), height: side(image.rows) };
}

/**
 * Fetches a reduced rendering for `viewport` (previewBox of its size in device pixels) and draws
 * it, unless the full frame came first or the image is no longer `wanted`; `onDrawn` when it is.
 * `answered` settles once the server has answered (or failed): the moment to ask for the full
 * frame. A failure is silent: the full frame is on its way, and its own failure is the one the pane shows.
 */
export function showPreview(view: ImageView, opening: Opening, viewport: HTMLElement, wanted: () => boolean, signal: AbortSignal, onDrawn: () => void): { answered: Promise<void> } {
  const ratio = window.devicePixelRatio || 1;
  const pane = { width: Math.round(viewport.clientWidth * ratio), height: Math.round(viewport.clientHeight * ratio) };
  if (pane.width < 1 || pane.height < 1) return { answered: Promise.resolve() };
  const picture = getRenderedFrame(opening.instance, 1, previewBox(opening.instance.image, pane), signal);
  void picture.then(async (blob) => {
    if (!wanted() || opening.firstDrawn || !(await view.showPreview(blob, opening.instance.image))) return;
    markFirstPixels(opening, 'reduced');
    onDrawn();
  }).catch(() => undefined);
  return { answered: picture.then(() => undefined, () => undefined) };
}
