/**
 * The image side of the study screen: toolbar (window presets, zoom, invert, reset,
 * heatmap overlay and its opacity), the viewport and its readout. Every tool is a
 * button with a label and a key, and says what it did (announce), so the keyboard, the
 * mouse and a screen reader reach the same tools.
 */
import { getFrame, type Finding, type ImageAttributes, type Instance } from '../api.ts';

/** An instance with pixel data: the only kind the pane can show. */
export type DisplayableInstance = Instance & { image: ImageAttributes };

export const isDisplayable = (instance: Instance): instance is DisplayableInstance => instance.image !== undefined;
import { announce } from '../announce.ts';
import { h, replaceChildren } from '../dom.ts';
import { errorText } from '../error-text.ts';
import { clinical, defineMessages } from '../i18n.ts';
import { createImageView, type ImageView, type ViewState } from '../imaging/cornerstone-view.ts';
import { windowPresets, type PresetId, type WindowPreset } from '../imaging/window-presets.ts';

const msg = defineMessages({
  en: {
    presets: 'Window presets',
    preset: (id: PresetId) => ({ lung: 'Lung', mediastinum: 'Mediastinum', bone: 'Bone', default: 'Default' })[id],
    presetTitle: (name: string, key: string, basis: WindowPreset['basis']) =>
      `${name} window (${key}): ${
        basis === 'hounsfield' ? 'Hounsfield units' : basis === 'percentile' ? "from this image's brightness percentiles (radiographs have no absolute units)" : 'as the DICOM header sets it'
      }`,
    windowSet: (name: string, w: number, l: number) => `Window: ${name} (W ${w} / L ${l})`,
    zoomIn: 'Zoom in (+)',
    zoomOut: 'Zoom out (−)',
    zoomed: (pct: number) => `Zoom ${pct}%`,
    invert: 'Invert (I)',
    inverted: 'Greys inverted',
    notInverted: 'Greys as acquired',
    reset: 'Reset (R)',
    resetDone: 'View reset: fit to window, image window, no inversion',
    heatmap: 'Heatmap (H)',
    heatmapOn: (name: string) => `Heatmap on: ${name}`,
    heatmapOff: 'Heatmap off',
    noHeatmap: 'No heatmap for this image',
    opacity: 'Overlay opacity',
    readout: (w: number, l: number, zoom: number, inverted: boolean) => `W ${w} / L ${l} · zoom ${zoom}%${inverted ? ' · inverted' : ''}`,
    hint: 'Drag: window/level · Shift+drag: pan · Wheel: zoom',
    loading: 'Loading image…',
    noInstances: 'This study has no displayable instances.',
    failed: (detail: string) => `Image could not be shown — ${detail}`,
    image: (n: number, frames: number) => `Image ${n}${frames > 1 ? ` (frame 1 of ${frames})` : ''}`,
    viewport: 'Radiograph viewport',
  },
  zh: {
    presets: '窗宽窗位预设',
    preset: (id: PresetId) => ({ lung: '肺窗', mediastinum: '纵隔窗', bone: '骨窗', default: '默认' })[id],
    presetTitle: (name: string, key: string, basis: WindowPreset['basis']) =>
      `${name}（${key}）：${basis === 'hounsfield' ? 'CT 值（HU）' : basis === 'percentile' ? '按本图像亮度百分位（X 线片没有绝对单位）' : '采用 DICOM 头中的窗'}`,
    windowSet: (name: string, w: number, l: number) => `窗：${name}（W ${w} / L ${l}）`,
    zoomIn: '放大 (+)',
    zoomOut: '缩小 (−)',
    zoomed: (pct: number) => `缩放 ${pct}%`,
    invert: '反相 (I)',
    inverted: '灰度已反相',
    notInverted: '灰度为原始显示',
    reset: '复位 (R)',
    resetDone: '视图已复位：适应窗口、原始窗宽窗位、不反相',
    heatmap: '热力图 (H)',
    heatmapOn: (name: string) => `已显示热力图：${name}`,
    heatmapOff: '已隐藏热力图',
    noHeatmap: '此图像没有热力图',
    opacity: '叠加不透明度',
    readout: (w: number, l: number, zoom: number, inverted: boolean) => `W ${w} / L ${l} · 缩放 ${zoom}%${inverted ? ' · 已反相' : ''}`,
    hint: '拖动：窗宽窗位 · Shift+拖动：平移 · 滚轮：缩放',
    loading: '正在加载图像…',
    noInstances: '此检查没有可显示的图像。',
    failed: (detail: string) => `图像无法显示 — ${detail}`,
    image: (n: number, frames: number) => `图像 ${n}${frames > 1 ? `（第 1 帧，共 ${frames} 帧）` : ''}`,
    viewport: 'X 线片视窗',
  },
});

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
  instances: DisplayableInstance[];
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

function renderInstancePicker(els: PaneElements, instances: DisplayableInstance[], show: (instance: DisplayableInstance) => void): void {
  const m = msg();
  if (instances.length > 1) {
    replaceChildren(
      els.picker,
      instances.map((inst, n) =>
        h('button', { type: 'button', class: 'link', 'data-sop': inst.sopInstanceUid, testid: 'instance', onclick: () => show(inst) }, m.image(n + 1, inst.image.numberOfFrames)),
      ),
    );
  }
  if (!instances.length) els.status.textContent = m.noInstances;
}

export function createImagePane(options: ImagePaneOptions): ImagePane {
  const m = msg();
  const els = paneElements(() => pane, options.onToggleHeatmap);
  const { status, opacity, picker, heatmapButton } = els;
  let view: ImageView | undefined;
  let presets: WindowPreset[] = [];
  let shown: DisplayableInstance | undefined;
  let heatmapId: string | undefined;
  let destroyed = false;

  opacity.addEventListener('input', () => view?.setHeatmapOpacity(Number(opacity.value) / 100));

  const pane: ImagePane = {
    element: els.element,
    current: () => shown,
    async show(instance) {
      shown = instance;
      pane.setHeatmap(null, true);
      status.hidden = false;
      status.textContent = m.loading;
      delete status.dataset.error;
      for (const b of picker.querySelectorAll<HTMLButtonElement>('button')) b.classList.toggle('active', b.dataset.sop === instance.sopInstanceUid);
      try {
        view ??= createImageView(els.viewport);
        view.onChange((s) => syncState(els, presets, s));
        view.setHeatmapOpacity(Number(opacity.value) / 100);
        const frame = await getFrame(instance, 1, options.signal);
        if (destroyed || shown !== instance) return;
        const info = await view.show({ ...instance.image, ...frame.layout }, frame.pixels, instance.sopInstanceUid);
        presets = windowPresets(instance.modality ?? options.modality, info);
        renderPresets(els, presets, (key) => pane.applyPreset(key));
        status.hidden = true;
        syncState(els, presets, view.getViewport());
      } catch (err) {
        if (destroyed) return;
        status.hidden = false;
        status.dataset.error = 'true';
        status.textContent = m.failed(errorText(err));
      }
    },
    applyPreset(key) {
      const p = presets.find((x) => x.key === key);
      if (!p || !view) return;
      view.setWindow(p.window);
      announce(m.windowSet(m.preset(p.id), Math.round(p.window.width), Math.round(p.window.center)), 'ok');
    },
    zoom(factor) {
      if (!view?.getViewport()) return;
      view.zoomBy(factor);
      announce(m.zoomed(Math.round(view.getViewport()!.scale * 100)));
    },
    pan(dx, dy) {
      view?.panBy(dx, dy);
    },
    toggleInvert() {
      const s = view?.getViewport();
      if (!s) return;
      view!.setInvert(!s.invert);
      announce(s.invert ? m.notInverted : m.inverted, 'ok');
    },
    reset() {
      if (!view?.getViewport()) return;
      view.resetView();
      announce(m.resetDone, 'ok');
    },
    setHeatmap(finding, quiet = false) {
      const map = finding?.heatmap && finding.sopInstanceUid === shown?.sopInstanceUid ? finding.heatmap : null;
      heatmapId = map ? finding!.id : undefined;
      view?.setHeatmap(map);
      heatmapButton.setAttribute('aria-pressed', String(Boolean(map)));
      if (quiet) return;
      if (map) announce(m.heatmapOn(clinical(finding!.display, finding!.displayZh)), 'ok');
      else announce(finding ? m.noHeatmap : m.heatmapOff, finding ? 'error' : 'ok');
    },
    heatmapFindingId: () => heatmapId,
    setHeatmapAvailable(available) {
      heatmapButton.disabled = !available;
    },
    destroy() {
      destroyed = true;
      view?.destroy();
    },
  };

  renderInstancePicker(els, options.instances, (inst) => void pane.show(inst));
  return pane;
}
