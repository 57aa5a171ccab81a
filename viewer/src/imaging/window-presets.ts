/**
 * Window/level presets. CT values are Hounsfield units, so CT gets the textbook windows.
 * Projection radiographs (CR, DX) carry no absolute units — the same lung is 900 on one
 * detector and 12 000 on another — so their presets are percentiles of this image's own
 * brightness distribution: "lung" spreads the darker part over the grey scale,
 * "bone" the brightest. Adding a preset is one row below.
 */
import type { ImageInfo, VoiWindow } from './image-view.ts';

export type PresetId = 'lung' | 'mediastinum' | 'bone' | 'default';

interface PresetRule {
  id: PresetId;
  /** Hounsfield window for CT. */
  hu?: VoiWindow;
  /** Fractions of the pixels, darkest first as displayed, that the window spans on a radiograph. */
  displayRange?: [number, number];
}

/** In key order: the reader presses 1–4. */
const RULES: readonly PresetRule[] = [
  { id: 'lung', hu: { center: -600, width: 1500 }, displayRange: [0.05, 0.6] },
  { id: 'mediastinum', hu: { center: 50, width: 350 }, displayRange: [0.4, 0.97] },
  { id: 'bone', hu: { center: 400, width: 1800 }, displayRange: [0.75, 0.998] },
  { id: 'default' },
];

export interface WindowPreset {
  id: PresetId;
  /** The digit that applies it: its place in the table, so a preset keeps its key on every image. */
  key: string;
  window: VoiWindow;
  /** How the window was chosen, for the button's tooltip. */
  basis: 'hounsfield' | 'percentile' | 'dicom';
}

/** The presets that make sense for this image, in key order; colour images only get their default. */
export function windowPresets(modality: string | undefined, info: ImageInfo): WindowPreset[] {
  const presets: WindowPreset[] = [];
  for (const [n, rule] of RULES.entries()) {
    const key = String(n + 1);
    if (rule.id === 'default') {
      presets.push({ id: 'default', key, window: info.defaultWindow, basis: info.defaultBasis });
    } else if (info.color) {
      continue;
    } else if (modality === 'CT' && rule.hu) {
      presets.push({ id: rule.id, key, window: rule.hu, basis: 'hounsfield' });
    } else if (rule.displayRange) {
      const a = info.displayQuantile(rule.displayRange[0]);
      const b = info.displayQuantile(rule.displayRange[1]);
      const lo = Math.min(a, b);
      const width = Math.max(Math.abs(b - a), 1);
      presets.push({ id: rule.id, key, window: { center: lo + width / 2, width }, basis: 'percentile' });
    }
  }
  return presets;
}
