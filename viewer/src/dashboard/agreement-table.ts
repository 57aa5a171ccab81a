/**
 * The agreement table: one row per model version and label, acceptance with its Wilson
 * 95 % interval drawn as a bar, and a button per row that shows that group's charts.
 */
import type { AgreementGroup } from '../api.ts';
import { h } from '../dom.ts';
import { clinical } from '../i18n.ts';
import { msg } from './messages.ts';

export const pct = (v: number) => `${Math.round(v * 100)}%`;

function duration(seconds: number): string {
  const m = msg();
  const one = (v: number) => String(Number(v.toFixed(1)));
  if (seconds < 90) return m.seconds(Math.round(seconds));
  if (seconds < 90 * 60) return m.minutes(one(seconds / 60));
  if (seconds < 36 * 3600) return m.hours(one(seconds / 3600));
  return m.days(one(seconds / 86400));
}

function acceptanceCell(g: AgreementGroup): HTMLElement {
  if (g.acceptanceRate === null) return h('td', { class: 'num muted', testid: 'acceptance' }, '—');
  const [lo, hi] = g.acceptanceCi95 ?? [g.acceptanceRate, g.acceptanceRate];
  return h(
    'td',
    { class: 'num', testid: 'acceptance', 'data-rate': g.acceptanceRate, 'data-ci-low': lo, 'data-ci-high': hi },
    h('span', { class: 'acceptance-rate' }, pct(g.acceptanceRate)),
    h('span', { class: 'muted small' }, ` (${pct(lo)}–${pct(hi)})`),
    h(
      'span',
      { class: 'ci-bar', 'aria-hidden': 'true' },
      h('span', { class: 'ci-range', style: `left:${lo * 100}%;width:${Math.max(0.5, (hi - lo) * 100)}%` }),
      h('span', { class: 'ci-point', style: `left:${g.acceptanceRate * 100}%` }),
    ),
  );
}

export function groupRow(g: AgreementGroup, selected: boolean, select: () => void): HTMLTableRowElement {
  const m = msg();
  const label = clinical(g.display, g.displayZh);
  const cell = (testid: string, value: number) => h('td', { class: 'num', testid }, String(value));
  return h(
    'tr',
    { testid: 'agreement-row', 'data-model': g.modelId, 'data-version': g.modelVersion, 'data-label': g.label, class: selected ? 'selected' : undefined },
    h('td', { class: 'nowrap' }, h('code', {}, g.modelId), h('span', { class: 'muted small' }, ` v${g.modelVersion}`)),
    h(
      'td',
      {},
      h('button', { type: 'button', class: 'link group-select', testid: 'select-group', 'aria-pressed': String(selected), title: m.showCharts(label), onclick: select }, label),
    ),
    cell('findings', g.findings),
    cell('decided', g.decided),
    acceptanceCell(g),
    cell('overridden', g.overridden),
    cell('amended', g.amended),
    h(
      'td',
      { class: 'num nowrap', testid: 'time-to-decision' },
      g.timeToDecisionSeconds ? `${duration(g.timeToDecisionSeconds.median)} / ${duration(g.timeToDecisionSeconds.p90)}` : '—',
    ),
    cell('reader-findings', g.readerFindings),
  );
}

export function agreementTable(tbody: HTMLTableSectionElement): HTMLElement {
  const m = msg();
  const columns = [m.colModel, m.colLabel, m.colFindings, m.colDecided, m.colAcceptance, m.colOverridden, m.colAmended, m.colTime, m.colReader];
  return h(
    'div',
    { class: 'table-scroll' },
    h('table', { class: 'grid agreement', testid: 'agreement-table' }, h('thead', {}, h('tr', {}, columns.map((t) => h('th', { scope: 'col' }, t)))), tbody),
  );
}
