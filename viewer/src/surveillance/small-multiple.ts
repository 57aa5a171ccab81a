/**
 * One site's daily series as a small SVG chart: bars of cases per day, the display method's band
 * from the expected count to the alarm line, alarm days in red with a marker above. Every chart of
 * a signal shares its day axis; each has its own count axis (a county and a village differ tenfold),
 * its top written in the upper left corner. Drawn at a fixed size and scaled by CSS, so it reads at 360 px.
 */
import { niceMax, s } from '../dashboard/charts.ts';
import { msg } from './messages.ts';

const W = 300;
const H = 120;
const PAD = { left: 6, right: 6, top: 16, bottom: 14 };

export interface SeriesDay {
  count: number;
  denominator?: number;
  /** Absent on a day the method could not judge. */
  detection?: { expected: number; upper: number; alarm: boolean } | null;
}

/** `from`: the first day's date (YYYY-MM-DD), written under the first bar; the last day's under the last. */
export function smallMultiple(days: readonly SeriesDay[], opts: { title: string; description: string; from: string; to: string; testid: string }): SVGSVGElement {
  const m = msg();
  const top = niceMax(Math.max(1, ...days.map((d) => Math.max(d.count, d.detection?.upper ?? 0))));
  const x0 = PAD.left;
  const step = (W - PAD.left - PAD.right) / Math.max(1, days.length);
  const y = (v: number) => H - PAD.bottom - (Math.min(v, top) / top) * (H - PAD.top - PAD.bottom);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'surv-chart', role: 'img', testid: opts.testid, preserveAspectRatio: 'xMidYMid meet' },
    s('title', {}, opts.title), s('desc', {}, opts.description));
  svg.append(s('line', { x1: x0, x2: W - PAD.right, y1: y(0), y2: y(0), class: 'surv-axis' }));
  // The band: one trapezoid per judged day, so untested days leave a gap rather than a made-up line.
  days.forEach((d, i) => {
    if (!d.detection) return;
    const bx = x0 + i * step;
    svg.append(s('rect', { x: bx, width: step, y: y(d.detection.upper), height: Math.max(0.5, y(d.detection.expected) - y(d.detection.upper)), class: 'surv-band', testid: 'band' }));
    svg.append(s('line', { x1: bx, x2: bx + step, y1: y(d.detection.upper), y2: y(d.detection.upper), class: 'surv-upper' }));
  });
  days.forEach((d, i) => {
    const alarm = Boolean(d.detection?.alarm);
    const bx = x0 + i * step + step * 0.15;
    const title = `${d.count} ${m.cases}${d.denominator === undefined ? '' : ` / ${d.denominator}`}${d.detection ? ` · ${m.expected} ${d.detection.expected.toFixed(1)} · ${m.alarmLine} ${d.detection.upper.toFixed(1)}` : ''}${alarm ? ` · ${m.alarmDay}` : ''}`;
    if (d.count > 0) {
      svg.append(s('rect', { x: bx, width: step * 0.7, y: y(d.count), height: y(0) - y(d.count), class: alarm ? 'surv-bar surv-bar-alarm' : 'surv-bar', testid: alarm ? 'alarm-bar' : 'bar' }, s('title', {}, title)));
    }
    if (alarm) {
      const cx = bx + step * 0.35;
      svg.append(s('path', { d: `M${cx - 4},${PAD.top - 11} L${cx + 4},${PAD.top - 11} L${cx},${PAD.top - 4} Z`, class: 'surv-alarm-mark', testid: 'alarm-day' }, s('title', {}, title)));
    }
  });
  svg.append(
    s('text', { x: x0, y: PAD.top - 4, class: 'surv-axis-label' }, String(top)),
    s('text', { x: x0, y: H - 2, class: 'surv-axis-label' }, opts.from.slice(5)),
    s('text', { x: W - PAD.right, y: H - 2, class: 'surv-axis-label', 'text-anchor': 'end' }, opts.to.slice(5)),
  );
  return svg;
}
