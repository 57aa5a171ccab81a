/**
 * A model's class-activation map over the image. It lives on its own canvas so the image
 * canvas only ever shows the image, and is redrawn in image pixel coordinates after every
 * render, so it follows zoom, pan and resize exactly as the image does.
 */
import * as cornerstone from 'cornerstone-core';
import type { Heatmap } from '../api.ts';

export interface HeatmapOverlay {
  /** `null` (or an empty map) hides it. */
  set(heatmap: Heatmap | null): void;
  /** Clamped to 0–1. */
  setOpacity(opacity: number): void;
  /** Call after every render of the image. */
  draw(): void;
  remove(): void;
}

interface HeatmapBitmap {
  bitmap: HTMLCanvasElement;
  region?: Heatmap['region'];
}

/** Jet-like ramp: blue → cyan → yellow → red; opacity grows with the value so weak
 * activation fades into the image instead of tinting all of it. */
function heatColour(v: number): [number, number, number, number] {
  const t = Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0;
  const r = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - 3)));
  const g = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - 2)));
  const b = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - 1)));
  return [r * 255, g * 255, b * 255, 255 * Math.pow(t, 1.5)];
}

function heatmapBitmap(h: Heatmap): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = h.width;
  c.height = h.height;
  const ctx = c.getContext('2d')!;
  const img = ctx.createImageData(h.width, h.height);
  let max = 0;
  for (const v of h.data) if (v > max) max = v;
  for (let i = 0; i < h.width * h.height; i++) {
    const [r, g, b, a] = heatColour(max > 0 ? (h.data[i] ?? 0) / max : 0);
    img.data.set([r, g, b, a], i * 4);
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

/** `region` places the map where the model looked; without it the map covers the image. */
function drawHeatmap(overlay: HTMLCanvasElement, element: HTMLElement, canvas: HTMLCanvasElement, heatmap: HeatmapBitmap | null, opacity: number): void {
  overlay.width = canvas.width;
  overlay.height = canvas.height;
  const ctx = overlay.getContext('2d')!;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, overlay.width, overlay.height);
  const image = cornerstone.getEnabledElement(element).image;
  if (!heatmap || !image || opacity <= 0) return;
  cornerstone.setToPixelCoordinateSystem(cornerstone.getEnabledElement(element), ctx);
  ctx.imageSmoothingEnabled = true;
  ctx.globalAlpha = opacity;
  const r = heatmap.region;
  if (r) ctx.drawImage(heatmap.bitmap, r.left, r.top, r.size, r.size);
  else ctx.drawImage(heatmap.bitmap, 0, 0, image.columns, image.rows);
}

/** Adds the overlay canvas to `element` (a cornerstone-enabled element), sized to its `imageCanvas`. */
export function createHeatmapOverlay(element: HTMLElement, imageCanvas: HTMLCanvasElement): HeatmapOverlay {
  const overlay = document.createElement('canvas');
  overlay.className = 'image-overlay';
  overlay.dataset.testid = 'heatmap-overlay';
  element.appendChild(overlay);
  let heatmap: HeatmapBitmap | null = null;
  let opacity = 0.7;
  const draw = () => drawHeatmap(overlay, element, imageCanvas, heatmap, opacity);
  return {
    set(h) {
      heatmap = h && h.width > 0 && h.height > 0 ? { bitmap: heatmapBitmap(h), region: h.region } : null;
      draw();
    },
    setOpacity(value) {
      opacity = Math.min(1, Math.max(0, value));
      draw();
    },
    draw,
    remove: () => overlay.remove(),
  };
}
