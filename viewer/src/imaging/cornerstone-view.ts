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
import type { CornerstoneImage, Viewport } from 'cornerstone-core';
import type { Heatmap, ImageAttributes } from '../api.ts';

export interface ViewState {
  windowCenter: number;
  windowWidth: number;
  /** Screen pixels per image pixel. */
  scale: number;
  /** Image pixels the image centre is moved from the viewport centre. */
  translation: { x: number; y: number };
  /** Greys flipped relative to how the image asks to be shown (MONOCHROME1 is already flipped once). */
  invert: boolean;
}

export interface VoiWindow {
  center: number;
  width: number;
}

/** What window presets need to know about the image on show. */
export interface ImageInfo {
  /** The window the DICOM header declares, else one spanning the values present. */
  defaultWindow: VoiWindow;
  /**
   * The value (in modality units) below which fraction `q` of the pixels lie, counting from
   * the darkest as displayed: for MONOCHROME1 that is from the highest stored value down.
   */
  displayQuantile(q: number): number;
  color: boolean;
}

export interface ImageView {
  /** Shows one decoded frame; resolves once it is drawn. Throws on bytes that do not match `image`. */
  show(image: ImageAttributes, pixels: ArrayBuffer, key: string): Promise<ImageInfo>;
  setWindow(window: VoiWindow): void;
  setInvert(invert: boolean): void;
  /** Multiplies the zoom, keeping the viewport centre still. */
  zoomBy(factor: number): void;
  /** Moves the image by screen pixels. */
  panBy(dx: number, dy: number): void;
  /** Back to fit-to-window, the image's own window and no inversion. */
  resetView(): void;
  getViewport(): ViewState | undefined;
  /** Overlay a model's class-activation map (values normalised to their max); `null` hides it. */
  setHeatmap(heatmap: Heatmap | null): void;
  /** 0 (invisible) to 1; applies to the current and any later heatmap. */
  setHeatmapOpacity(opacity: number): void;
  /** Called after every render with the current state (for W/L and zoom readouts). */
  onChange(listener: (state: ViewState) => void): void;
  destroy(): void;
}

/** Pixels sampled for the value distribution: enough for stable percentiles, cheap to sort. */
const QUANTILE_SAMPLES = 65_536;
const MIN_SCALE = 0.05;
const MAX_SCALE = 40;

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

/** Sorted modality values of an even sample of the pixels, for percentile-based windows. */
function sortedSample(values: ArrayLike<number>, slope: number, intercept: number): Float64Array {
  const step = Math.max(1, Math.floor(values.length / QUANTILE_SAMPLES));
  const sample = new Float64Array(Math.ceil(values.length / step));
  for (let i = 0, j = 0; i < values.length; i += step, j++) sample[j] = values[i] * slope + intercept;
  return sample.sort();
}

function buildImage(imageId: string, attrs: ImageAttributes, pixels: ArrayBuffer): { image: CornerstoneImage; info: ImageInfo } {
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
  const sample = color ? new Float64Array([0, 255]) : sortedSample(values, slope, intercept);
  const monochrome1 = attrs.photometricInterpretation === 'MONOCHROME1';
  const info: ImageInfo = {
    defaultWindow: { center: windowCenter, width: windowWidth },
    displayQuantile(q) {
      const fromLow = monochrome1 ? 1 - q : q;
      const i = Math.round(Math.min(1, Math.max(0, fromLow)) * (sample.length - 1));
      return sample[i];
    },
    color,
  };
  const image: CornerstoneImage = {
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
    invert: monochrome1,
    sizeInBytes: (data as Uint8Array).byteLength,
    columnPixelSpacing: 1,
    rowPixelSpacing: 1,
  };
  return { image, info };
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

interface HeatmapBitmap {
  bitmap: HTMLCanvasElement;
  region?: Heatmap['region'];
}

/**
 * Drawn in image pixel coordinates after every render, so it follows zoom, pan and
 * resize exactly as the image does; `region` places it where the model looked.
 */
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

type ViewportChange = (change: (vp: Viewport, image: CornerstoneImage) => void) => void;

/**
 * The mouse tools on `element`: left drag = window/level, middle or shift+left drag = pan,
 * wheel = zoom about the pointer. Returns what takes them off again.
 */
function attachPointerTools(
  element: HTMLElement,
  isShown: () => boolean,
  update: ViewportChange,
  panBy: (dx: number, dy: number) => void,
  zoomAt: (factor: number, dx: number, dy: number) => void,
): () => void {
  type Drag = { mode: 'window' | 'pan'; x: number; y: number; pointerId: number };
  let drag: Drag | null = null;

  const onPointerDown = (e: PointerEvent) => {
    if (!isShown()) return;
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
    if (drag.mode === 'pan') {
      panBy(dx, dy);
      return;
    }
    update((vp, image) => {
      // One screen pixel moves the window by ~1/400 of the image's value range, so a
      // drag across the viewport sweeps the whole range whatever the bit depth.
      const range = Math.max((image.maxPixelValue - image.minPixelValue) * Math.abs(image.slope), 1);
      const step = range / 400;
      vp.voi.windowWidth = Math.max(1, vp.voi.windowWidth + dx * step);
      vp.voi.windowCenter += dy * step;
    });
  };
  const onPointerUp = (e: PointerEvent) => {
    if (drag && e.pointerId === drag.pointerId) {
      element.releasePointerCapture(e.pointerId);
      drag = null;
    }
  };
  const onWheel = (e: WheelEvent) => {
    if (!isShown()) return;
    e.preventDefault();
    const r = element.getBoundingClientRect();
    zoomAt(Math.pow(1.0015, -e.deltaY), e.clientX - r.left - r.width / 2, e.clientY - r.top - r.height / 2);
  };
  const onContextMenu = (e: Event) => e.preventDefault();
  // Chromium starts middle-button autoscroll on mousedown, not pointerdown.
  const onMouseDown = (e: MouseEvent) => {
    if (e.button === 1) e.preventDefault();
  };
  const listeners: [string, EventListener, AddEventListenerOptions?][] = [
    ['mousedown', onMouseDown as EventListener],
    ['pointerdown', onPointerDown as EventListener],
    ['pointermove', onPointerMove as EventListener],
    ['pointerup', onPointerUp as EventListener],
    ['pointercancel', onPointerUp as EventListener],
    ['wheel', onWheel as EventListener, { passive: false }],
    ['contextmenu', onContextMenu],
  ];
  for (const [type, fn, options] of listeners) element.addEventListener(type, fn, options);
  return () => {
    for (const [type, fn] of listeners) element.removeEventListener(type, fn);
  };
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
  let heatmap: HeatmapBitmap | null = null;
  let heatmapOpacity = 0.7;
  let listener: ((s: ViewState) => void) | undefined;
  let shown = false;

  const state = () => viewState(element, shown);

  /** Changes the viewport through cornerstone, which re-renders and so redraws the overlay. */
  const update = (change: (vp: Viewport, image: CornerstoneImage) => void) => {
    const vp = shown ? cornerstone.getViewport(element) : undefined;
    const image = cornerstone.getEnabledElement(element).image;
    if (!vp || !image) return;
    change(vp, image);
    cornerstone.setViewport(element, vp);
  };

  const drawOverlay = () => drawHeatmap(overlay, element, enabled.canvas, heatmap, heatmapOpacity);

  const onRendered = () => {
    drawOverlay();
    const s = state();
    if (s && listener) listener(s);
  };
  element.addEventListener(cornerstone.EVENTS.IMAGE_RENDERED, onRendered);

  const panBy = (dx: number, dy: number) =>
    update((vp) => {
      vp.translation = { x: vp.translation.x + dx / vp.scale, y: vp.translation.y + dy / vp.scale };
    });
  /** Zooms by `factor`, keeping the image point at (dx, dy) screen pixels from the viewport centre still. */
  const zoomAt = (factor: number, dx: number, dy: number) =>
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
    });
  const detachPointerTools = attachPointerTools(element, () => shown, update, panBy, zoomAt);

  const resizeObserver = new ResizeObserver(() => {
    if (shown) cornerstone.resize(element, false);
  });
  resizeObserver.observe(element);

  return {
    async show(attrs, pixels, key) {
      const imageId = `${SCHEME}:${key}#${++serial}`;
      const built = buildImage(imageId, attrs, pixels);
      pending.set(imageId, built.image);
      const image = await cornerstone.loadImage(imageId);
      const viewport = cornerstone.getDefaultViewportForImage(element, image);
      cornerstone.displayImage(element, image, viewport);
      shown = true;
      return built.info;
    },
    setWindow({ center, width }) {
      update((vp) => {
        vp.voi = { windowCenter: center, windowWidth: Math.max(1, width) };
      });
    },
    setInvert(invert) {
      update((vp, image) => {
        vp.invert = invert !== image.invert;
      });
    },
    zoomBy(factor) {
      zoomAt(factor, 0, 0);
    },
    panBy,
    resetView() {
      if (shown) cornerstone.reset(element);
    },
    getViewport: state,
    setHeatmap(h) {
      heatmap = h && h.width > 0 && h.height > 0 ? { bitmap: heatmapBitmap(h), region: h.region } : null;
      drawOverlay();
    },
    setHeatmapOpacity(opacity) {
      heatmapOpacity = Math.min(1, Math.max(0, opacity));
      drawOverlay();
    },
    onChange(fn) {
      listener = fn;
    },
    destroy() {
      resizeObserver.disconnect();
      element.removeEventListener(cornerstone.EVENTS.IMAGE_RENDERED, onRendered);
      detachPointerTools();
      cornerstone.disable(element);
      overlay.remove();
    },
  };
}
