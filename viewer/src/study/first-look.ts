/**
 * Opening an image in two steps, and the marks that time them: the server's rendering at the
 * pane's size (decoded from a coarse level of the image's pyramid, so it arrives long before
 * the full frame) is drawn at once where the full frame will be; the full frame replaces it.
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
 * Fetches the reduced rendering for `viewport`'s size in device pixels and draws it, unless the
 * full frame came first or the image is no longer `wanted`; `onDrawn` when it is. `answered`
 * settles once the server has answered (or failed): the moment to ask for the full frame. A
 * failure is silent: the full frame is on its way, and its own failure is the one the pane shows.
 */
export function showPreview(view: ImageView, opening: Opening, viewport: HTMLElement, wanted: () => boolean, signal: AbortSignal, onDrawn: () => void): { answered: Promise<void> } {
  const ratio = window.devicePixelRatio || 1;
  const side = (css: number) => Math.min(MAX_RENDERED_SIDE, Math.round(css * ratio));
  const box = { width: side(viewport.clientWidth), height: side(viewport.clientHeight) };
  if (box.width < 1 || box.height < 1) return { answered: Promise.resolve() };
  const picture = getRenderedFrame(opening.instance, 1, box, signal);
  void picture.then(async (blob) => {
    if (!wanted() || opening.firstDrawn || !(await view.showPreview(blob, opening.instance.image))) return;
    markFirstPixels(opening, 'reduced');
    onDrawn();
  }).catch(() => undefined);
  return { answered: picture.then(() => undefined, () => undefined) };
}
