/**
 * The patient trend's small plots as inline SVG, all on one time axis so they read as a column:
 * one per parameter (its NEWS2 scoring ranges shaded by the points they score, measured values
 * filled, carried-forward values hollow) and one for NEWS2 (the 5 and 7 thresholds drawn,
 * alerts marked). Drawn with the dashboard's SVG helper; colours from patients.css.
 */
import { s } from '../dashboard/charts.ts';
import { intlLocale } from '../i18n.ts';

const W = 560;
const H = 140;
/** Room for the category names ("Unresponsive", "对疼痛有反应") at the left. */
const LEFT = 84;
const RIGHT = 12;
const TOP = 8;
const BOTTOM = 20;

export interface TimeAxis { t0: number; t1: number }
export interface Mark { t: number; label: string }
export interface Point { t: number; value: number; label: string }

const xOf = (axis: TimeAxis, t: number) => LEFT + ((t - axis.t0) / Math.max(1, axis.t1 - axis.t0)) * (W - LEFT - RIGHT);
const yOf = (domain: [number, number], v: number) => H - BOTTOM - ((v - domain[0]) / (domain[1] - domain[0])) * (H - TOP - BOTTOM);
const clamp = (v: number, [lo, hi]: [number, number]) => Math.min(hi, Math.max(lo, v));

function frame(testid: string, title: string, description: string): SVGSVGElement {
  return s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart vitals-plot', role: 'img', 'aria-label': `${title}. ${description}`, testid, preserveAspectRatio: 'xMidYMid meet' },
    s('title', {}, title));
}

/** Start, middle and end of the period, as local times. */
function timeAxis(svg: SVGSVGElement, axis: TimeAxis): void {
  const format = new Intl.DateTimeFormat(intlLocale(), { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
  svg.append(s('line', { x1: LEFT, x2: W - RIGHT, y1: H - BOTTOM, y2: H - BOTTOM, class: 'axis' }));
  for (const [t, anchor] of [[axis.t0, 'start'], [(axis.t0 + axis.t1) / 2, 'middle'], [axis.t1, 'end']] as const) {
    svg.append(s('text', { x: xOf(axis, t), y: H - 5, 'text-anchor': anchor, class: 'tick' }, format.format(new Date(t))));
  }
}

function alertMarks(svg: SVGSVGElement, axis: TimeAxis, alerts: Mark[], domain: [number, number]): void {
  for (const a of alerts) {
    const x = xOf(axis, a.t);
    svg.append(s('line', { x1: x, x2: x, y1: yOf(domain, domain[1]), y2: H - BOTTOM, class: 'alert-line' }, s('title', {}, a.label)));
  }
}

function dots(svg: SVGSVGElement, axis: TimeAxis, domain: [number, number], points: Point[], kind: 'measured' | 'carried', testid: string): void {
  for (const p of points) {
    svg.append(s('circle', { cx: xOf(axis, p.t), cy: yOf(domain, clamp(p.value, domain)), r: kind === 'measured' ? 3 : 3.5, class: `dot dot-${kind}`, testid }, s('title', {}, p.label)));
  }
}

/**
 * A numeric parameter: its scoring rows (`upTo` inclusive, last open) shaded by points, the
 * band edges labelled on the left, measured values joined by a line.
 */
export function numericPlot(o: {
  testid: string; title: string; unit: string; domain: [number, number]; bands: { upTo?: number; points: number }[];
  measured: Point[]; carried: Point[]; alerts: Mark[]; axis: TimeAxis;
}): SVGSVGElement {
  const values = o.measured.map((p) => p.value);
  const domain: [number, number] = [Math.min(o.domain[0], ...values), Math.max(o.domain[1], ...values)];
  const svg = frame(o.testid, o.title, `${o.measured.length} readings, ${o.unit}`);
  let lower = domain[0];
  for (const band of o.bands) {
    const upper = Math.min(band.upTo ?? domain[1], domain[1]);
    if (upper > lower && band.points > 0) {
      svg.append(s('rect', { x: LEFT, width: W - LEFT - RIGHT, y: yOf(domain, upper), height: yOf(domain, lower) - yOf(domain, upper), class: `band band-${band.points}`, testid: `band-${band.points}` }));
    }
    if (band.upTo !== undefined && band.upTo > domain[0] && band.upTo < domain[1]) {
      svg.append(s('text', { x: LEFT - 4, y: yOf(domain, band.upTo) + 3, 'text-anchor': 'end', class: 'tick' }, String(band.upTo)));
    }
    lower = Math.max(lower, band.upTo ?? lower);
  }
  timeAxis(svg, o.axis);
  alertMarks(svg, o.axis, o.alerts, domain);
  if (o.measured.length > 1) {
    svg.append(s('polyline', { points: o.measured.map((p) => `${xOf(o.axis, p.t)},${yOf(domain, p.value)}`).join(' '), class: 'trace' }));
  }
  dots(svg, o.axis, domain, o.carried, 'carried', 'carried-point');
  dots(svg, o.axis, domain, o.measured, 'measured', 'obs-point');
  return svg;
}

/** A coded parameter (ACVPU, air/oxygen): one row per category, the rows that score shaded. */
export function categoryPlot(o: {
  testid: string; title: string; categories: { key: string; label: string; points: number }[];
  measured: Point[]; carried: Point[]; alerts: Mark[]; axis: TimeAxis;
}): SVGSVGElement {
  const domain: [number, number] = [-0.5, o.categories.length - 0.5];
  const svg = frame(o.testid, o.title, `${o.measured.length} readings`);
  o.categories.forEach((c, i) => {
    if (c.points > 0) svg.append(s('rect', { x: LEFT, width: W - LEFT - RIGHT, y: yOf(domain, i + 0.5), height: yOf(domain, i - 0.5) - yOf(domain, i + 0.5), class: `band band-${c.points}`, testid: `band-${c.points}` }));
    svg.append(s('text', { x: LEFT - 4, y: yOf(domain, i) + 3, 'text-anchor': 'end', class: 'tick' }, c.label));
  });
  timeAxis(svg, o.axis);
  alertMarks(svg, o.axis, o.alerts, domain);
  dots(svg, o.axis, domain, o.carried, 'carried', 'carried-point');
  dots(svg, o.axis, domain, o.measured, 'measured', 'obs-point');
  return svg;
}

/** NEWS2 over time: the urgent (5) and emergency (7) thresholds, each point (hollow when a value was carried forward), alerts as triangles. */
export function news2Plot(o: {
  title: string; thresholds: { urgent: number; emergency: number }; lineLabels: { urgent: string; emergency: string };
  points: (Point & { carried: boolean })[]; alerts: (Mark & { level: string })[]; axis: TimeAxis;
}): SVGSVGElement {
  const domain: [number, number] = [0, Math.max(10, ...o.points.map((p) => p.value + 1))];
  const svg = frame('news2-plot', o.title, `${o.points.length} NEWS2 points`);
  svg.append(s('rect', { x: LEFT, width: W - LEFT - RIGHT, y: yOf(domain, domain[1]), height: yOf(domain, o.thresholds.emergency) - yOf(domain, domain[1]), class: 'band band-3' }));
  svg.append(s('rect', { x: LEFT, width: W - LEFT - RIGHT, y: yOf(domain, o.thresholds.emergency), height: yOf(domain, o.thresholds.urgent) - yOf(domain, o.thresholds.emergency), class: 'band band-2' }));
  for (const [key, value] of [['urgent', o.thresholds.urgent], ['emergency', o.thresholds.emergency]] as const) {
    const y = yOf(domain, value);
    svg.append(s('line', { x1: LEFT, x2: W - RIGHT, y1: y, y2: y, class: `threshold threshold-${key}`, testid: `threshold-${value}` }));
    svg.append(s('text', { x: W - RIGHT - 2, y: y - 3, 'text-anchor': 'end', class: 'tick threshold-label' }, o.lineLabels[key]));
  }
  for (const v of [0, o.thresholds.urgent, o.thresholds.emergency, domain[1]]) svg.append(s('text', { x: LEFT - 4, y: yOf(domain, v) + 3, 'text-anchor': 'end', class: 'tick' }, String(v)));
  timeAxis(svg, o.axis);
  if (o.points.length > 1) svg.append(s('polyline', { points: o.points.map((p) => `${xOf(o.axis, p.t)},${yOf(domain, p.value)}`).join(' '), class: 'trace trace-news2' }));
  for (const p of o.points) {
    svg.append(s('circle', { cx: xOf(o.axis, p.t), cy: yOf(domain, p.value), r: 3.5, class: `dot ${p.carried ? 'dot-carried' : 'dot-measured'}`, testid: 'news2-point', 'data-score': p.value }, s('title', {}, p.label)));
  }
  for (const a of o.alerts) {
    const x = xOf(o.axis, a.t);
    svg.append(s('path', { d: `M${x - 6},${TOP} L${x + 6},${TOP} L${x},${TOP + 10} Z`, class: `alert-mark alert-${a.level}`, testid: 'alert-mark' }, s('title', {}, a.label)));
    svg.append(s('line', { x1: x, x2: x, y1: TOP + 10, y2: H - BOTTOM, class: 'alert-line' }));
  }
  return svg;
}
