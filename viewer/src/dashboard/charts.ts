/**
 * The agreement dashboard's two charts as inline SVG: a Pareto of override reasons (bars
 * by count, cumulative share as a line on its own axis, the 80 % line dashed) and the
 * acceptance rate by day. Drawn for the width they will get (so text keeps its size on a
 * phone) and scaled by CSS from there; colours come from styles.css classes.
 */

const SVG_NS = 'http://www.w3.org/2000/svg';

type SvgAttrs = Record<string, string | number | undefined>;

/** An SVG element with attributes (`testid` → data-testid) and children: the charts' one way of making SVG (also the surveillance screen's). */
export function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: SvgAttrs = {}, ...children: (SVGElement | string | null)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined) continue;
    if (key === 'testid') el.setAttribute('data-testid', String(value));
    else el.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null) continue;
    el.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

/** The widest a chart is drawn; wider screens scale it up. */
export const CHART_MAX_WIDTH = 560;
const H = 260;

interface Frame {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

let chartCount = 0;

/** An accessible chart: `title` names it, `description` says in words what it shows. */
function chart(testid: string, title: string, description: string, frame: Frame, W: number): { svg: SVGSVGElement; plot: { x0: number; x1: number; y0: number; y1: number } } {
  const id = `${testid}-${++chartCount}`;
  const svg = s(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-labelledby': `${id}-t ${id}-d`, testid, preserveAspectRatio: 'xMidYMid meet' },
    s('title', { id: `${id}-t` }, title),
    s('desc', { id: `${id}-d` }, description),
  );
  return { svg, plot: { x0: frame.left, x1: W - frame.right, y0: H - frame.bottom, y1: frame.top } };
}

/** Round up to 1, 2 or 5 × 10^n so the axis reads in whole steps. */
export function niceMax(v: number): number {
  if (v <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 5, 10].find((m) => m * p >= v) ?? 10) * p;
}

function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export interface ParetoBar {
  code: string;
  /** Short name under the bar; `title` holds the full one. */
  label: string;
  title: string;
  count: number;
  cumulativeShare: number;
}

export interface ParetoOptions {
  /** Drawing width in CSS pixels, at most CHART_MAX_WIDTH. */
  width: number;
  title: string;
  description: string;
  countAxis: string;
  cumulativeAxis: string;
}

export function paretoChart(bars: ParetoBar[], opts: ParetoOptions): SVGSVGElement {
  const W = opts.width;
  const { svg, plot } = chart('pareto', opts.title, opts.description, { left: 54, right: 58, top: 18, bottom: 40 }, W);
  const max = niceMax(Math.max(1, ...bars.map((b) => b.count)));
  const y = (count: number) => plot.y0 - (count / max) * (plot.y0 - plot.y1);
  const yShare = (share: number) => plot.y0 - share * (plot.y0 - plot.y1);
  const band = (plot.x1 - plot.x0) / Math.max(1, bars.length);
  const cx = (i: number) => plot.x0 + band * (i + 0.5);
  const steps = Math.min(max, 5);

  for (let k = 0; k <= steps; k++) {
    const v = (max / steps) * k;
    svg.append(
      s('line', { x1: plot.x0, x2: plot.x1, y1: y(v), y2: y(v), class: 'chart-grid' }),
      s('text', { x: plot.x0 - 6, y: y(v) + 4, class: 'chart-tick', 'text-anchor': 'end' }, String(Math.round(v * 10) / 10)),
    );
  }
  for (const share of [0, 0.5, 1]) {
    svg.append(s('text', { x: plot.x1 + 6, y: yShare(share) + 4, class: 'chart-tick' }, `${share * 100}%`));
  }
  svg.append(
    s('line', { x1: plot.x0, x2: plot.x1, y1: yShare(0.8), y2: yShare(0.8), class: 'chart-ref' }),
    s('text', { x: plot.x1 - 4, y: yShare(0.8) - 4, class: 'chart-tick', 'text-anchor': 'end' }, '80%'),
    s('text', { x: 12, y: (plot.y0 + plot.y1) / 2, class: 'chart-axis', transform: `rotate(-90 12 ${(plot.y0 + plot.y1) / 2})`, 'text-anchor': 'middle' }, opts.countAxis),
    s('text', { x: W - 12, y: (plot.y0 + plot.y1) / 2, class: 'chart-axis', transform: `rotate(90 ${W - 12} ${(plot.y0 + plot.y1) / 2})`, 'text-anchor': 'middle' }, opts.cumulativeAxis),
  );

  const barWidth = Math.min(64, band * 0.62);
  bars.forEach((b, i) => {
    svg.append(
      s(
        'rect',
        { x: cx(i) - barWidth / 2, y: y(b.count), width: barWidth, height: plot.y0 - y(b.count), class: 'chart-bar', testid: 'pareto-bar', 'data-code': b.code, 'data-count': b.count },
        s('title', {}, `${b.title}: ${b.count}`),
      ),
      s('text', { x: cx(i), y: y(b.count) - 4, class: 'chart-value', 'text-anchor': 'middle' }, String(b.count)),
      // The full name is in the bar's tooltip and the chart's description.
      s('text', { x: cx(i), y: plot.y0 + 16, class: 'chart-tick', 'text-anchor': 'middle' }, shorten(b.label, Math.max(6, Math.floor(band / 7)))),
    );
  });
  if (bars.length) {
    const points = bars.map((b, i) => `${cx(i)},${yShare(b.cumulativeShare)}`).join(' ');
    svg.append(s('polyline', { points, class: 'chart-line', testid: 'pareto-cumulative' }));
    bars.forEach((b, i) => svg.append(s('circle', { cx: cx(i), cy: yShare(b.cumulativeShare), r: 3.5, class: 'chart-dot' }, s('title', {}, `${Math.round(b.cumulativeShare * 100)}%`))));
  }
  svg.append(s('line', { x1: plot.x0, x2: plot.x1, y1: plot.y0, y2: plot.y0, class: 'chart-axis-line' }));
  return svg;
}

export interface TrendPoint {
  date: string;
  decided: number;
  accepted: number;
  acceptanceRate: number | null;
}

export interface TrendOptions {
  /** Drawing width in CSS pixels, at most CHART_MAX_WIDTH. */
  width: number;
  title: string;
  description: string;
  rateAxis: string;
  /** Tooltip of one day's point. */
  point: (p: TrendPoint) => string;
  /** A date on the x axis, in the reader's locale. */
  date: (iso: string) => string;
}

const DAY_MS = 86_400_000;

/** Acceptance rate by day, days placed by date (gaps stay gaps); dot size follows the day's number of decisions. */
export function trendChart(points: TrendPoint[], opts: TrendOptions): SVGSVGElement {
  const { svg, plot } = chart('trend', opts.title, opts.description, { left: 54, right: 20, top: 18, bottom: 40 }, opts.width);
  const days = points.map((p) => Date.parse(`${p.date}T00:00:00Z`));
  const first = Math.min(...days);
  const span = Math.max(...days) - first;
  const x = (t: number) => (span === 0 ? (plot.x0 + plot.x1) / 2 : plot.x0 + ((t - first) / span) * (plot.x1 - plot.x0));
  const y = (rate: number) => plot.y0 - rate * (plot.y0 - plot.y1);
  const most = Math.max(1, ...points.map((p) => p.decided));

  for (const r of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(
      s('line', { x1: plot.x0, x2: plot.x1, y1: y(r), y2: y(r), class: 'chart-grid' }),
      s('text', { x: plot.x0 - 6, y: y(r) + 4, class: 'chart-tick', 'text-anchor': 'end' }, `${r * 100}%`),
    );
  }
  svg.append(
    s('text', { x: 12, y: (plot.y0 + plot.y1) / 2, class: 'chart-axis', transform: `rotate(-90 12 ${(plot.y0 + plot.y1) / 2})`, 'text-anchor': 'middle' }, opts.rateAxis),
    s('line', { x1: plot.x0, x2: plot.x1, y1: plot.y0, y2: plot.y0, class: 'chart-axis-line' }),
  );
  // First, last and (when there is room) a middle date under the axis.
  const labelled = [...new Set([0, points.length - 1, ...(span >= 4 * DAY_MS ? [Math.floor((points.length - 1) / 2)] : [])])].filter((i) => i >= 0);
  for (const i of labelled) {
    svg.append(s('text', { x: x(days[i]), y: plot.y0 + 18, class: 'chart-tick', 'text-anchor': span === 0 ? 'middle' : i === 0 ? 'start' : i === points.length - 1 ? 'end' : 'middle' }, opts.date(points[i].date)));
  }
  const rated = points.map((p, i) => ({ p, t: days[i] })).filter(({ p }) => p.acceptanceRate !== null);
  if (rated.length > 1) svg.append(s('polyline', { points: rated.map(({ p, t }) => `${x(t)},${y(p.acceptanceRate!)}`).join(' '), class: 'chart-line' }));
  for (const { p, t } of rated) {
    svg.append(
      s(
        'circle',
        { cx: x(t), cy: y(p.acceptanceRate!), r: 3 + 4 * Math.sqrt(p.decided / most), class: 'chart-dot', testid: 'trend-point', 'data-date': p.date, 'data-rate': p.acceptanceRate!, 'data-decided': p.decided },
        s('title', {}, opts.point(p)),
      ),
    );
  }
  return svg;
}
