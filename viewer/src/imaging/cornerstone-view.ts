/**
 * The one place the viewer touches cornerstone-core. Everything else talks to the
 * `ImageView` interface below, so the renderer can be swapped (cornerstone3D, a plain
 * canvas) by rewriting this file alone.
 *
 * Pixels arrive already decoded by the API (stored values, little-endian), so there is
 * no DICOM parsing here: we wrap the frame in a cornerstone image object and hand it to
 * cornerstone through a `lantern:` image loader.
 */
import * as cornerstone from 'cornerstone-core';
import type { CornerstoneImage } from 'cornerstone-core';
import type { Heatmap, ImageAttributes } from '../api.ts';

export interface ViewState {
  windowCenter: number;
  windowWidth: number;
  /** Screen pixels per image pixel. */
  scale: number;
  translation: { x: number; y: number };
  invert: boolean;
}

export interface ImageView {
  /** Shows one decoded frame; resolves once it is drawn. Throws on bytes that do not match `image`. */
  show(image: ImageAttributes, pixels: ArrayBuffer, key: string): Promise<void>;
  setWindow(center: number, width: number): void;
  /** Back to fit-to-window and the image's own window. */
  resetView(): void;
  getViewport(): ViewState | undefined;
  /** Overlay a model's class-activation map (values normalised to their max); `null` hides it. */
  setHeatmap(heatmap: Heatmap | null): void;
  /** Called after every render with the current state (for W/L and zoom readouts). */
  onChange(listener: (state: ViewState) => void): void;
  destroy(): void;
}

const SCHEME = 'lantern';
/** Images waiting for cornerstone to ask for them by imageId; removed once handed over. */
const pending = new Map<string, CornerstoneImage>();
let loaderRegistered = false;
let serial = 0;

function registerLoader(): void {
  if (loaderRegistered) return;
  cornerstone.registerImageLoader(SCHEME, (imageId) => {
    const image = pending.get(imageId);
    pending.delete(imageId);
    return {
      promise: image ? Promise.resolve(image) : Promise.reject(new Error(`no pixels staged for ${imageId}`)),
    };
  });
  loaderRegistered = true;
}

/**
 * Stored values as a typed array, with bits above BitsStored cleared (or sign-extended)
 * because some modalities keep overlays or garbage there and it would wreck min/max.
 */
function storedValues(attrs: ImageAttributes, pixels: ArrayBuffer): Int16Array | Uint16Array | Uint8Array {
  const count = attrs.rows * attrs.columns * attrs.samplesPerPixel;
  const bytesPer = attrs.bitsAllocated > 8 ? 2 : 1;
  if (pixels.byteLength < count * bytesPer) {
    throw new Error(
      `frame has ${pixels.byteLength} bytes, expected ${count * bytesPer} for ${attrs.columns}×${attrs.rows}×${attrs.samplesPerPixel} at ${bytesPer * 8} bits`,
    );
  }
  const values =
    bytesPer === 1
      ? new Uint8Array(pixels, 0, count).slice()
      : attrs.pixelRepresentation === 1
        ? new Int16Array(pixels.slice(0, count * 2))
        : new Uint16Array(pixels.slice(0, count * 2));
  const bits = attrs.bitsStored;
  if (bits > 0 && bits < bytesPer * 8) {
    const mask = (1 << bits) - 1;
    const sign = 1 << (bits - 1);
    for (let i = 0; i < values.length; i++) {
      const v = values[i] & mask;
      values[i] = attrs.pixelRepresentation === 1 && v & sign ? v - (mask + 1) : v;
    }
  }
  return values;
}

function buildImage(imageId: string, attrs: ImageAttributes, pixels: ArrayBuffer): CornerstoneImage {
  const { rows, columns } = attrs;
  const values = storedValues(attrs, pixels);
  const color = attrs.samplesPerPixel === 3;
  let data: ArrayLike<number> = values;
  let min = Infinity;
  let max = -Infinity;
  if (color) {
    // cornerstone draws colour images from RGBA; the API sends interleaved RGB.
    const rgba = new Uint8ClampedArray(rows * columns * 4);
    for (let p = 0, s = 0; p < rgba.length; p += 4, s += 3) {
      rgba[p] = values[s];
      rgba[p + 1] = values[s + 1];
      rgba[p + 2] = values[s + 2];
      rgba[p + 3] = 255;
    }
    data = rgba;
    min = 0;
    max = 255;
  } else {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  const slope = attrs.rescaleSlope || 1;
  const intercept = attrs.rescaleIntercept || 0;
  let windowCenter = attrs.windowCenter;
  let windowWidth = attrs.windowWidth;
  if (windowCenter === undefined || windowWidth === undefined || !(windowWidth > 0)) {
    // No window in the header: span the values actually present (in modality units).
    const lo = Math.min(min * slope + intercept, max * slope + intercept);
    const hi = Math.max(min * slope + intercept, max * slope + intercept);
    windowWidth = Math.max(hi - lo, 1);
    windowCenter = lo + windowWidth / 2;
  }
  return {
    imageId,
    minPixelValue: min,
    maxPixelValue: max,
    slope,
    intercept,
    windowCenter,
    windowWidth,
    getPixelData: () => data,
    rows,
    columns,
    height: rows,
    width: columns,
    color,
    rgba: false,
    invert: attrs.photometricInterpretation === 'MONOCHROME1',
    sizeInBytes: (data as Uint8Array).byteLength,
    columnPixelSpacing: 1,
    rowPixelSpacing: 1,
  };
}

/** Jet-like ramp: blue → cyan → yellow → red; opacity grows with the value so weak
 * activation fades into the image instead of tinting all of it. */
function heatColour(v: number): [number, number, number, number] {
  const t = Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0;
  const r = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - 3)));
  const g = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - 2)));
  const b = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - 1)));
  return [r * 255, g * 255, b * 255, 200 * Math.pow(t, 1.5)];
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

/**
 * Makes `element` an image viewport: left drag = window/level, middle or shift+left
 * drag = pan, wheel = zoom. `element` must have a size (cornerstone sizes its canvas
 * from the element's client box).
 */
export function createImageView(element: HTMLElement): ImageView {
  registerLoader();
  cornerstone.enable(element);
  const enabled = cornerstone.getEnabledElement(element);
  enabled.canvas.dataset.testid = 'image-canvas';

  // The heatmap lives on its own canvas so the image canvas only ever shows the image.
  const overlay = document.createElement('canvas');
  overlay.className = 'image-overlay';
  overlay.dataset.testid = 'heatmap-overlay';
  element.appendChild(overlay);
  let heatmap: { bitmap: HTMLCanvasElement; region?: Heatmap['region'] } | null = null;
  let listener: ((s: ViewState) => void) | undefined;
  let shown = false;

  const state = (): ViewState | undefined => {
    const vp = shown ? cornerstone.getViewport(element) : undefined;
    if (!vp) return undefined;
    return {
      windowCenter: vp.voi.windowCenter,
      windowWidth: vp.voi.windowWidth,
      scale: vp.scale,
      translation: { ...vp.translation },
      invert: vp.invert,
    };
  };

  const drawOverlay = () => {
    overlay.width = enabled.canvas.width;
    overlay.height = enabled.canvas.height;
    const ctx = overlay.getContext('2d')!;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    const image = cornerstone.getEnabledElement(element).image;
    if (!heatmap || !image) return;
    cornerstone.setToPixelCoordinateSystem(cornerstone.getEnabledElement(element), ctx);
    ctx.imageSmoothingEnabled = true;
    const r = heatmap.region;
    if (r) ctx.drawImage(heatmap.bitmap, r.left, r.top, r.size, r.size);
    else ctx.drawImage(heatmap.bitmap, 0, 0, image.columns, image.rows);
  };

  const onRendered = () => {
    drawOverlay();
    const s = state();
    if (s && listener) listener(s);
  };
  element.addEventListener(cornerstone.EVENTS.IMAGE_RENDERED, onRendered);

  // ---- interactions -------------------------------------------------------------
  type Drag = { mode: 'window' | 'pan'; x: number; y: number; pointerId: number };
  let drag: Drag | null = null;

  const onPointerDown = (e: PointerEvent) => {
    if (!shown) return;
    const pan = e.button === 1 || (e.button === 0 && e.shiftKey);
    if (!pan && e.button !== 0) return;
    e.preventDefault(); // middle button would otherwise start autoscroll
    element.setPointerCapture(e.pointerId);
    drag = { mode: pan ? 'pan' : 'window', x: e.clientX, y: e.clientY, pointerId: e.pointerId };
  };
  const onPointerMove = (e: PointerEvent) => {
    if (!drag || e.pointerId !== drag.pointerId) return;
    const dx = e.clientX - drag.x;
    const dy = e.clientY - drag.y;
    drag.x = e.clientX;
    drag.y = e.clientY;
    const vp = cornerstone.getViewport(element);
    const image = cornerstone.getEnabledElement(element).image;
    if (!vp || !image) return;
    if (drag.mode === 'pan') {
      vp.translation.x += dx / vp.scale;
      vp.translation.y += dy / vp.scale;
    } else {
      // One screen pixel moves the window by ~1/400 of the image's value range, so a
      // drag across the viewport sweeps the whole range whatever the bit depth.
      const range = Math.max((image.maxPixelValue - image.minPixelValue) * Math.abs(image.slope), 1);
      const step = range / 400;
      vp.voi.windowWidth = Math.max(1, vp.voi.windowWidth + dx * step);
      vp.voi.windowCenter += dy * step;
    }
    cornerstone.setViewport(element, vp);
  };
  const onPointerUp = (e: PointerEvent) => {
    if (drag && e.pointerId === drag.pointerId) {
      element.releasePointerCapture(e.pointerId);
      drag = null;
    }
  };
  const onWheel = (e: WheelEvent) => {
    if (!shown) return;
    e.preventDefault();
    const vp = cornerstone.getViewport(element);
    if (!vp) return;
    const s1 = vp.scale;
    const s2 = Math.min(40, Math.max(0.05, s1 * Math.pow(1.0015, -e.deltaY)));
    // Keep the image point under the cursor still. Cornerstone maps an image point p to
    // canvas centre + scale·(translation + p − image centre) (no rotation/flip here).
    const r = element.getBoundingClientRect();
    const dx = e.clientX - r.left - r.width / 2;
    const dy = e.clientY - r.top - r.height / 2;
    vp.translation = {
      x: dx / s2 - (dx / s1 - vp.translation.x),
      y: dy / s2 - (dy / s1 - vp.translation.y),
    };
    vp.scale = s2;
    cornerstone.setViewport(element, vp);
  };
  const onContextMenu = (e: Event) => e.preventDefault();
  // Chromium starts middle-button autoscroll on mousedown, not pointerdown.
  const onMouseDown = (e: MouseEvent) => {
    if (e.button === 1) e.preventDefault();
  };
  element.addEventListener('mousedown', onMouseDown);
  element.addEventListener('pointerdown', onPointerDown);
  element.addEventListener('pointermove', onPointerMove);
  element.addEventListener('pointerup', onPointerUp);
  element.addEventListener('pointercancel', onPointerUp);
  element.addEventListener('wheel', onWheel, { passive: false });
  element.addEventListener('contextmenu', onContextMenu);

  const resizeObserver = new ResizeObserver(() => {
    if (shown) cornerstone.resize(element, false);
  });
  resizeObserver.observe(element);

  return {
    async show(attrs, pixels, key) {
      const imageId = `${SCHEME}:${key}#${++serial}`;
      pending.set(imageId, buildImage(imageId, attrs, pixels));
      const image = await cornerstone.loadImage(imageId);
      const viewport = cornerstone.getDefaultViewportForImage(element, image);
      cornerstone.displayImage(element, image, viewport);
      shown = true;
    },
    setWindow(center, width) {
      const vp = shown ? cornerstone.getViewport(element) : undefined;
      if (!vp) return;
      vp.voi = { windowCenter: center, windowWidth: Math.max(1, width) };
      cornerstone.setViewport(element, vp);
    },
    resetView() {
      if (shown) cornerstone.reset(element);
    },
    getViewport: state,
    setHeatmap(h) {
      heatmap = h && h.width > 0 && h.height > 0 ? { bitmap: heatmapBitmap(h), region: h.region } : null;
      drawOverlay();
    },
    onChange(fn) {
      listener = fn;
    },
    destroy() {
      resizeObserver.disconnect();
      element.removeEventListener(cornerstone.EVENTS.IMAGE_RENDERED, onRendered);
      element.removeEventListener('pointerdown', onPointerDown);
      element.removeEventListener('pointermove', onPointerMove);
      element.removeEventListener('pointerup', onPointerUp);
      element.removeEventListener('pointercancel', onPointerUp);
      element.removeEventListener('wheel', onWheel);
      element.removeEventListener('contextmenu', onContextMenu);
      element.removeEventListener('mousedown', onMouseDown);
      cornerstone.disable(element);
      overlay.remove();
    },
  };
}
