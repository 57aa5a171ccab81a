import { s } from '../dashboard/charts.ts';
import type { DriftQuantity, VersionDrift } from './api.ts';
import { msg } from './messages.ts';

const W = 560;
const H = 240;
const FRAME = { left: 44, right: 12, top: 14, bottom: 34 };
export const QUANTITIES: readonly DriftQuantity[] = ['ood-score', 'input-mean', 'input-sd', 'input-p05', 'input-p95', 'outcome'];

/**
 * PSI per window for every quantity of one version, one line each, with the moderate (0.1) and
 * drift (0.25) lines drawn; the y axis reaches at least 0.5 so the lines always show, and is
 * capped at 2 (a larger PSI is drawn at the top, its value in the point's tooltip).
 */
export function psiChart(version: VersionDrift, thresholds: { moderate: number; drift: number }): SVGSVGElement {
  const m = msg();
  const windows = version.windows;
  const values = windows.flatMap((w) => QUANTITIES.map((q) => w.psi[q] ?? 0));
  const top = Math.min(2, Math.max(0.5, ...values));
  const [x0, x1, y0, y1] = [FRAME.left, W - FRAME.right, H - FRAME.bottom, FRAME.top];
  const x = (i: number) => (windows.length <= 1 ? (x0 + x1) / 2 : x0 + (i / (windows.length - 1)) * (x1 - x0));
  const y = (v: number) => y0 - (Math.min(v, top) / top) * (y0 - y1);
  const over = windows.filter((w) => w.complete && QUANTITIES.some((q) => (w.psi[q] ?? 0) > thresholds.drift)).length;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart drift-chart', role: 'img', testid: 'drift-chart', 'data-version': version.version, preserveAspectRatio: 'xMidYMid meet' },
    s('title', {}, m.chartTitle(version.version)), s('desc', {}, m.chartDescription(windows.length, over)));
  for (const [value, label, cls] of [[thresholds.moderate, m.moderate, 'drift-line-moderate'], [thresholds.drift, m.drift, 'drift-line-drift']] as const) {
    svg.append(s('line', { x1: x0, x2: x1, y1: y(value), y2: y(value), class: cls, testid: 'drift-threshold', 'data-value': value }),
      s('text', { x: x1, y: y(value) - 4, class: 'chart-tick', 'text-anchor': 'end' }, label));
  }
  svg.append(s('line', { x1: x0, x2: x1, y1: y0, y2: y0, class: 'chart-axis-line' }),
    s('text', { x: x0 - 6, y: y0 + 4, class: 'chart-tick', 'text-anchor': 'end' }, '0'),
    s('text', { x: x0 - 6, y: y(top) + 4, class: 'chart-tick', 'text-anchor': 'end' }, top.toFixed(1)),
    s('text', { x: (x0 + x1) / 2, y: H - 6, class: 'chart-axis', 'text-anchor': 'middle' }, m.windowAxis));
  windows.forEach((w, i) => svg.append(s('text', { x: x(i), y: y0 + 16, class: 'chart-tick', 'text-anchor': 'middle' }, String(w.index + 1))));
  QUANTITIES.forEach((q, n) => {
    const points = windows.map((w, i) => ({ w, i, v: w.psi[q] })).filter((p): p is { w: typeof p.w; i: number; v: number } => p.v !== null);
    if (points.length > 1) svg.append(s('polyline', { points: points.map((p) => `${x(p.i)},${y(p.v)}`).join(' '), class: `drift-series drift-series-${n}` }));
    for (const p of points) {
      svg.append(s('circle', { cx: x(p.i), cy: y(p.v), r: p.v > thresholds.drift && p.w.complete ? 5 : 3, class: `drift-dot drift-series-${n}${p.v > thresholds.drift ? ' drift-dot-over' : ''}`, testid: 'drift-point', 'data-quantity': q, 'data-psi': p.v },
        s('title', {}, `${m.quantity(q)} · ${m.window} ${p.w.index + 1}: PSI ${p.v.toFixed(3)}`)));
    }
  });
  return svg;
}
