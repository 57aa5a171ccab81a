/**
 * Changes to one element's cornerstone viewport, shared by the view's methods and the
 * pointer tools. Every change goes through `cornerstone.setViewport`, which re-renders and
 * so redraws the heatmap overlay and tells the view's listener.
 */
import * as cornerstone from 'cornerstone-core';
import type { CornerstoneImage, Viewport } from 'cornerstone-core';
import type { ViewState } from './image-view.ts';

const MIN_SCALE = 0.05;
const MAX_SCALE = 40;

export type ViewportChange = (vp: Viewport, image: CornerstoneImage) => void;

export interface ViewportControl {
  /** Whether an image is on show: before the first there is no viewport to change. */
  isShown(): boolean;
  state(): ViewState | undefined;
  /** Applies `change` to the viewport of the image on show, if there is one. */
  update(change: ViewportChange): void;
  /** Moves the image by screen pixels. */
  panBy(dx: number, dy: number): void;
  /** Zooms by `factor`, keeping the image point at (dx, dy) screen pixels from the viewport centre still. */
  zoomAt(factor: number, dx: number, dy: number): void;
}

function viewState(element: HTMLElement, shown: boolean): ViewState | undefined {
  const vp = shown ? cornerstone.getViewport(element) : undefined;
  const image = cornerstone.getEnabledElement(element).image;
  if (!vp || !image) return undefined;
  return {
    windowCenter: vp.voi.windowCenter,
    windowWidth: vp.voi.windowWidth,
    scale: vp.scale,
    translation: { ...vp.translation },
    invert: vp.invert !== image.invert,
  };
}

export function viewportControl(element: HTMLElement, isShown: () => boolean): ViewportControl {
  const update = (change: ViewportChange) => {
    const vp = isShown() ? cornerstone.getViewport(element) : undefined;
    const image = cornerstone.getEnabledElement(element).image;
    if (!vp || !image) return;
    change(vp, image);
    cornerstone.setViewport(element, vp);
  };
  return {
    isShown,
    state: () => viewState(element, isShown()),
    update,
    panBy: (dx, dy) =>
      update((vp) => {
        vp.translation = { x: vp.translation.x + dx / vp.scale, y: vp.translation.y + dy / vp.scale };
      }),
    zoomAt: (factor, dx, dy) =>
      update((vp) => {
        const s1 = vp.scale;
        const s2 = Math.min(MAX_SCALE, Math.max(MIN_SCALE, s1 * factor));
        // Cornerstone maps an image point p to canvas centre + scale·(translation + p − image
        // centre) (no rotation/flip here); solve for the translation that keeps (dx, dy) fixed.
        vp.translation = {
          x: dx / s2 - (dx / s1 - vp.translation.x),
          y: dy / s2 - (dy / s1 - vp.translation.y),
        };
        vp.scale = s2;
      }),
  };
}
