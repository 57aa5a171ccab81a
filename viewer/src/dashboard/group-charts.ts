/** One group's charts: its override reasons as a Pareto and its acceptance by day. */
import type { AgreementGroup } from '../api.ts';
import { h } from '../dom.ts';
import { clinical, intlLocale } from '../i18n.ts';
import { groupKey } from './agreement-query.ts';
import { pct } from './agreement-table.ts';
import { CHART_MAX_WIDTH, paretoChart, trendChart, type TrendPoint } from './charts.ts';
import { msg } from './messages.ts';

/** The coded reason's short name: the part before its explanation. */
const shortReason = (text: string) => text.split(/[:：]/)[0];

export function groupCharts(g: AgreementGroup): HTMLElement {
  const m = msg();
  const day = (iso: string) => new Date(`${iso}T00:00:00Z`).toLocaleDateString(intlLocale(), { month: 'short', day: 'numeric', timeZone: 'UTC' });
  const reasons = g.overrideReasons.map((r) => ({
    code: r.code,
    label: shortReason(clinical(r.display, r.displayZh)),
    title: clinical(r.display, r.displayZh),
    count: r.count,
    cumulativeShare: r.cumulativeShare,
  }));
  const days: TrendPoint[] = g.byDay;
  // Each chart gets the screen's width less the page and card padding, or half a wide screen.
  const width = Math.min(CHART_MAX_WIDTH, Math.max(280, window.innerWidth - 64));
  const rateText = (p: TrendPoint) => (p.acceptanceRate === null ? '—' : pct(p.acceptanceRate));
  return h(
    'section',
    { class: 'agreement-charts', testid: 'agreement-charts', 'data-group': groupKey(g) },
    h('h2', {}, m.chartsOf(clinical(g.display, g.displayZh), `${g.modelId} v${g.modelVersion}`)),
    h(
      'div',
      { class: 'chart-grid-2' },
      h(
        'figure',
        { class: 'chart-card' },
        h('figcaption', {}, m.pareto),
        reasons.length
          ? paretoChart(reasons, {
              width,
              title: m.pareto,
              description: m.paretoDesc(reasons.map((r) => `${r.title} ${r.count}`).join('; ')),
              countAxis: m.count,
              cumulativeAxis: m.cumulative,
            })
          : h('p', { class: 'muted empty-chart' }, m.noOverrides),
      ),
      h(
        'figure',
        { class: 'chart-card' },
        h('figcaption', {}, m.trend),
        days.length
          ? trendChart(days, {
              width,
              title: m.trend,
              description: m.trendDesc(days.map((p) => `${p.date} ${rateText(p)}`).join('; ')),
              rateAxis: m.rate,
              point: (p) => m.trendPoint(day(p.date), p.accepted, p.decided, rateText(p)),
              date: day,
            })
          : h('p', { class: 'muted empty-chart' }, m.noDecisions),
      ),
    ),
  );
}
