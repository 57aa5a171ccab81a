/**
 * The image side of the study screen: toolbar (window presets, zoom, invert, reset,
 * heatmap overlay and its opacity), the viewport and its readout. Every tool is a
 * button with a label and a key, and says what it did (announce), so the keyboard, the
 * mouse and a screen reader reach the same tools.
 *
 * An image opens in two steps (first-look.ts): a reduced rendering drawn at once, then the
 * full frame in its place; the tools wait for the full frame.
 */
import { announce } from '../announce.ts';
import { getFrame, type Finding, type ImageAttributes, type Instance } from '../api.ts';
import { h, replaceChildren } from '../dom.ts';
import { errorText } from '../error-text.ts';
import { clinical } from '../i18n.ts';
import { createImageView } from '../imaging/cornerstone-view.ts';
import type { ImageView, ViewState } from '../imaging/image-view.ts';
import { windowPresets, type WindowPreset } from '../imaging/window-presets.ts';
import { markFullPixels, showPreview, startOpening } from './first-look.ts';
import { msg } from './image-pane-messages.ts';

/** An instance with pixel data: the only kind the pane can show. */
export type DisplayableInstance = Instance & { image: ImageAttributes };

export const isDisplayable = (instance: Instance): instance is DisplayableInstance => instance.image !== undefined;

export const ZOOM_STEP = 1.25;
/** Screen pixels per arrow-key press. */
export const PAN_STEP = 40;

export interface ImagePane {
  element: HTMLElement;
  /** The instance on screen. */
  current(): DisplayableInstance | undefined;
  show(instance: DisplayableInstance): Promise<void>;
  applyPreset(key: string): void;
  zoom(factor: number): void;
  pan(dx: number, dy: number): void;
  toggleInvert(): void;
  reset(): void;
  /** Overlays this finding's heatmap (or none); says so unless `quiet`. */
  setHeatmap(finding: Finding | null, quiet?: boolean): void;
  heatmapFindingId(): string | undefined;
  /** Whether any finding has a map for the image on screen (enables the heatmap button). */
  setHeatmapAvailable(available: boolean): void;
  destroy(): void;
}

export interface ImagePaneOptions {
  modality?: string;
  /** The study's first page of images. */
  instances: DisplayableInstance[];
  /** Images of a large study past the first page, a page at a time; absent when there are none. */
  more?: { total: number; next: () => Promise<{ instances: DisplayableInstance[]; done: boolean }> };
  /** The toolbar's heatmap button: the study decides which finding's map to show. */
  onToggleHeatmap: () => void;
  signal: AbortSignal;
}

/** The pane's lasting elements; the pane's methods update them in place. */
interface PaneElements {
  element: HTMLElement;
  viewport: HTMLElement;
  status: HTMLElement;
  readout: HTMLElement;
  presetBar: HTMLElement;
  heatmapButton: HTMLButtonElement;
  opacity: HTMLInputElement;
  invertButton: HTMLButtonElement;
  picker: HTMLElement;
}

/** Toolbar, sub-toolbar (readout, image picker, mouse hint) and viewport; the buttons call `pane`. */
function paneElements(pane: () => ImagePane, onToggleHeatmap: () => void): PaneElements {
  const m = msg();
  const viewport = h('div', { class: 'viewport', testid: 'viewport', role: 'img', 'aria-label': m.viewport });
  const status = h('div', { class: 'viewport-status', testid: 'image-status' }, m.loading);
  const readout = h('span', { class: 'readout', testid: 'viewport-readout', 'aria-live': 'off' });
  const presetBar = h('div', { class: 'tool-group', role: 'group', 'aria-label': m.presets, testid: 'presets' });
  const heatmapButton = h('button', { type: 'button', testid: 'heatmap-button', 'aria-pressed': 'false', disabled: true, onclick: () => onToggleHeatmap() }, m.heatmap);
  const opacity = h('input', { type: 'range', min: 0, max: 100, step: 5, value: 70, id: 'heatmap-opacity', testid: 'heatmap-opacity', 'aria-label': m.opacity, title: m.opacity });
  const invertButton = h('button', { type: 'button', testid: 'invert', 'aria-pressed': 'false', onclick: () => pane().toggleInvert() }, m.invert);
  const picker = h('div', { class: 'instance-picker' });
  const element = h(
    'section',
    { class: 'image-pane' },
    h(
      'div',
      { class: 'toolbar', role: 'toolbar', 'aria-label': m.viewport },
      presetBar,
      h(
        'div',
        { class: 'tool-group' },
        h('button', { type: 'button', testid: 'zoom-out', 'aria-label': m.zoomOut, title: m.zoomOut, onclick: () => pane().zoom(1 / ZOOM_STEP) }, '−'),
        h('button', { type: 'button', testid: 'zoom-in', 'aria-label': m.zoomIn, title: m.zoomIn, onclick: () => pane().zoom(ZOOM_STEP) }, '+'),
        invertButton,
        h('button', { type: 'button', testid: 'reset-view', onclick: () => pane().reset() }, m.reset),
      ),
      h('div', { class: 'tool-group' }, heatmapButton, opacity),
    ),
    h('div', { class: 'toolbar toolbar-sub' }, readout, picker, h('span', { class: 'muted small hint' }, m.hint)),
    h('div', { class: 'viewport-wrap' }, viewport, status),
  );
  return { element, viewport, status, readout, presetBar, heatmapButton, opacity, invertButton, picker };
}

function renderPresets(els: PaneElements, presets: WindowPreset[], apply: (key: string) => void): void {
  const m = msg();
  replaceChildren(
    els.presetBar,
    presets.map((p) =>
      h(
        'button',
        {
          type: 'button',
          'data-key': p.key,
          testid: `preset-${p.id}`,
          'aria-pressed': 'false',
          title: m.presetTitle(m.preset(p.id), p.key, p.basis),
          onclick: () => apply(p.key),
        },
        h('kbd', { 'aria-hidden': 'true' }, p.key),
        ` ${m.preset(p.id)}`,
      ),
    ),
  );
}

/** Readout, invert and preset buttons as the view now stands. */
function syncState(els: PaneElements, presets: WindowPreset[], s: ViewState | undefined): void {
  if (!s) return;
  els.readout.textContent = msg().readout(Math.round(s.windowWidth), Math.round(s.windowCenter), Math.round(s.scale * 100), s.invert);
  els.invertButton.setAttribute('aria-pressed', String(s.invert));
  // The transform as data, so a test can check the overlay is registered to the image.
  els.viewport.dataset.scale = String(s.scale);
  els.viewport.dataset.translateX = String(s.translation.x);
  els.viewport.dataset.translateY = String(s.translation.y);
  for (const b of els.presetBar.querySelectorAll<HTMLButtonElement>('button')) {
    const p = presets.find((x) => x.key === b.dataset.key);
    const on = Boolean(p && Math.abs(p.window.center - s.windowCenter) < 0.5 && Math.abs(p.window.width - s.windowWidth) < 0.5);
    b.setAttribute('aria-pressed', String(on));
  }
}

/**
 * One button per listed image and, for a study larger than a page, one that lists the next
 * page: a 10,000-image CT is never fetched or drawn whole.
 */
function renderInstancePicker(els: PaneElements, instances: DisplayableInstance[], show: (instance: DisplayableInstance) => void, more?: ImagePaneOptions['more']): void {
  const m = msg();
  if (instances.length > 1 || more) {
    const loadMore = more && h('button', {
      type: 'button', class: 'link', testid: 'more-instances',
      onclick: () => more.next().then(
        (page) => renderInstancePicker(els, [...instances, ...page.instances], show, page.done ? undefined : more),
        (err: unknown) => { els.status.textContent = m.failed(errorText(err)); },
      ),
    }, m.moreImages(instances.length, more.total));
    replaceChildren(
      els.picker,
      [...instances.map((inst, n) =>
        h('button', { type: 'button', class: 'link', 'data-sop': inst.sopInstanceUid, testid: 'instance', onclick: () => show(inst) }, m.image(n + 1, inst.image.numberOfFrames)),
      ), ...(loadMore ? [loadMore] : [])],
    );
  }
  if (!instances.length) els.status.textContent = m.noInstances;
}

/** What the pane's operations share: its elements, the view once made, and what is on it. */
interface PaneState {
  els: PaneElements;
  options: ImagePaneOptions;
  /** Made on the first `show`. */
  view?: ImageView;
  /** For the image on show. */
  presets: WindowPreset[];
  shown?: DisplayableInstance;
  /** The image being opened, until its full frame is drawn (or its opening fails). */
  opening?: { instance: DisplayableInstance; done: Promise<void> };
  heatmapId?: string;
  destroyed: boolean;
}

async function showInstance(state: PaneState, instance: DisplayableInstance): Promise<void> {
  const m = msg();
  const { els, options } = state;
  const { status } = els;
  state.shown = instance;
  state.view?.clearPreview();
  setHeatmap(state, null, true);
  status.hidden = false;
  status.textContent = m.loading;
  status.classList.remove('viewport-status-partial');
  delete status.dataset.error;
  for (const b of els.picker.querySelectorAll<HTMLButtonElement>('button')) b.classList.toggle('active', b.dataset.sop === instance.sopInstanceUid);
  try {
    const view = (state.view ??= createImageView(els.viewport));
    view.onChange((s) => syncState(els, state.presets, s));
    view.setHeatmapOpacity(Number(els.opacity.value) / 100);
    const opening = startOpening(instance);
    const preview = showPreview(view, opening, els.viewport, () => !state.destroyed && state.shown === instance, options.signal, () => {
      status.textContent = m.fullLoading;
      status.classList.add('viewport-status-partial');
    });
    // The server decodes one frame at a time, in the order asked: the full frame is asked once the preview is answered.
    const frame = await preview.answered.then(() => getFrame(instance, 1, options.signal));
    if (state.destroyed || state.shown !== instance) return;
    const attrs = { ...instance.image, ...frame.layout };
    const info = await view.show(attrs, frame.pixels, instance.sopInstanceUid);
    markFullPixels(opening, attrs);
    if (state.destroyed || state.shown !== instance) return;
    state.presets = windowPresets(instance.modality ?? options.modality, info);
    renderPresets(els, state.presets, (key) => applyPreset(state, key));
    status.hidden = true;
    status.classList.remove('viewport-status-partial');
    syncState(els, state.presets, view.getViewport());
  } catch (err) {
    if (state.destroyed) return;
    state.view?.clearPreview();
    status.hidden = false;
    status.classList.remove('viewport-status-partial');
    status.dataset.error = 'true';
    status.textContent = m.failed(errorText(err));
  }
}

/**
 * Opens `instance`, or joins its opening if it is being opened: the study screen and the
 * findings panel (whose selected finding brings its image up) both ask for the first image as a
 * study opens, and a second opening would request the preview and the full frame again and draw
 * the full frame first. Once drawn, or failed, asking again opens it again (a retry).
 */
function show(state: PaneState, instance: DisplayableInstance): Promise<void> {
  if (state.opening?.instance === instance) return state.opening.done;
  const done = showInstance(state, instance).finally(() => {
    if (state.opening?.done === done) state.opening = undefined;
  });
  state.opening = { instance, done };
  return done;
}

function applyPreset(state: PaneState, key: string): void {
  const m = msg();
  const p = state.presets.find((x) => x.key === key);
  // No viewport while a preview stands for the frame to come: the presets are the last full frame's.
  if (!p || !state.view?.getViewport()) return;
  state.view.setWindow(p.window);
  announce(m.windowSet(m.preset(p.id), Math.round(p.window.width), Math.round(p.window.center)), 'ok');
}

function zoom({ view }: PaneState, factor: number): void {
  if (!view?.getViewport()) return;
  view.zoomBy(factor);
  announce(msg().zoomed(Math.round(view.getViewport()!.scale * 100)));
}

function toggleInvert({ view }: PaneState): void {
  const s = view?.getViewport();
  if (!s) return;
  view!.setInvert(!s.invert);
  announce(s.invert ? msg().notInverted : msg().inverted, 'ok');
}

function resetView({ view }: PaneState): void {
  if (!view?.getViewport()) return;
  view.resetView();
  announce(msg().resetDone, 'ok');
}

function setHeatmap(state: PaneState, finding: Finding | null, quiet = false): void {
  const m = msg();
  const map = finding?.heatmap && finding.sopInstanceUid === state.shown?.sopInstanceUid ? finding.heatmap : null;
  state.heatmapId = map ? finding!.id : undefined;
  state.view?.setHeatmap(map);
  state.els.heatmapButton.setAttribute('aria-pressed', String(Boolean(map)));
  if (quiet) return;
  if (map) announce(m.heatmapOn(clinical(finding!.display, finding!.displayZh)), 'ok');
  else announce(finding ? m.noHeatmap : m.heatmapOff, finding ? 'error' : 'ok');
}

export function createImagePane(options: ImagePaneOptions): ImagePane {
  const state: PaneState = { els: paneElements(() => pane, options.onToggleHeatmap), options, presets: [], destroyed: false };
  const { opacity } = state.els;
  opacity.addEventListener('input', () => state.view?.setHeatmapOpacity(Number(opacity.value) / 100));

  const pane: ImagePane = {
    element: state.els.element,
    current: () => state.shown,
    show: (instance) => show(state, instance),
    applyPreset: (key) => applyPreset(state, key),
    zoom: (factor) => zoom(state, factor),
    pan: (dx, dy) => state.view?.panBy(dx, dy),
    toggleInvert: () => toggleInvert(state),
    reset: () => resetView(state),
    setHeatmap: (finding, quiet) => setHeatmap(state, finding, quiet),
    heatmapFindingId: () => state.heatmapId,
    setHeatmapAvailable(available) {
      state.els.heatmapButton.disabled = !available;
    },
    destroy() {
      state.destroyed = true;
      state.view?.destroy();
    },
  };

  renderInstancePicker(state.els, options.instances, (inst) => void show(state, inst), options.more);
  return pane;
}
