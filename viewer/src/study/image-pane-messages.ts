/** The image pane's words, in both languages: its tools, their announcements and its readout. */
import { defineMessages } from '../i18n.ts';
import type { PresetId, WindowPreset } from '../imaging/window-presets.ts';

export const msg = defineMessages({
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
    moreImages: (shown: number, total: number) => `More images (${shown} of ${total} listed)`,
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
    moreImages: (shown: number, total: number) => `更多图像（已列出 ${shown}/${total}）`,
    viewport: 'X 线片视窗',
  },
});
