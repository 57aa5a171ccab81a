/**
 * `#/surveillance` (监测预警): one signal at a time as small multiples — one chart per site in the
 * caller's scope, grouped by parent site (a neighbour group), bars of daily cases with the
 * baseline band and alarm days marked — and the alert list with evidence and acknowledgement.
 * The chosen signal and span live in this module, so a language switch (a re-mount) keeps them.
 */
import { getSites, type Site } from '../api.ts';
import { h, replaceChildren } from '../dom.ts';
import { errorText } from '../error-text.ts';
import type { AppContext } from '../main.ts';
import { alertCard } from './alerts.ts';
import { getAlerts, getSeries, getSignals, type SiteSeries, type SignalItem, type SurveillanceSeries } from './api.ts';
import { msg, signalName } from './messages.ts';
import { smallMultiple } from './small-multiple.ts';
import './surveillance.css';

let chosenSignal: string | undefined;
let spanDays = 28;
const SPANS = [14, 28, 56, 91];
/** Open alerts shown with their evidence unfolded. */
const EXPANDED_ALERTS = 3;

const isoDay = (d: Date) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;

function siteChart(series: SurveillanceSeries, site: SiteSeries, name: string): HTMLElement {
  const m = msg();
  const days = site.counts.map((count, i) => ({ count, denominator: site.denominators?.[i], detection: site.detection[i] }));
  const total = site.counts.reduce((a, b) => a + b, 0);
  const of = site.denominators?.reduce((a, b) => a + b, 0);
  const alarms = days.filter((d) => d.detection?.alarm).length;
  const signal = signalName(series.signal);
  return h('figure', { class: `surv-site${alarms ? ' surv-site-alarm' : ''}`, testid: 'surv-site', 'data-site': site.siteId, 'data-alarms': alarms },
    h('figcaption', {}, h('strong', {}, name), h('span', { class: 'muted small' }, ` ${m.total(total, of, m.denominator(series.denominator))}${of ? ` (${((100 * total) / of).toFixed(1)}%)` : ''}`)),
    smallMultiple(days, { title: m.chartTitle(name, signal), description: m.chartDescription(days.length, alarms), from: series.from, to: series.to, testid: 'surv-chart' }));
}

/** Charts grouped by parent: each neighbour group under its parent's name, sites without a parent first. */
function smallMultiples(series: SurveillanceSeries, sites: Map<string, Site>): HTMLElement {
  const m = msg();
  const groups = new Map<string, SiteSeries[]>();
  for (const site of series.sites) groups.set(site.parentId ?? '', [...(groups.get(site.parentId ?? '') ?? []), site]);
  const name = (id: string) => sites.get(id)?.name ?? id;
  return h('div', { class: 'surv-groups', testid: 'surv-groups' }, [...groups].sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))).map(([parent, members]) =>
    h('section', { class: 'surv-group', testid: 'surv-group', 'data-parent': parent },
      h('h3', {}, parent ? m.group(name(parent)) : m.topLevel),
      h('div', { class: 'surv-grid' }, members.map((site) => siteChart(series, site, site.name))))));
}

export function mountSurveillance(root: HTMLElement, _ctx: AppContext): () => void {
  const m = msg();
  const controller = new AbortController();
  const banner = h('div', { class: 'banner banner-error', hidden: true, role: 'alert', testid: 'surv-error' });
  const signalSelect = h('select', { id: 'surv-signal', testid: 'surv-signal' });
  const spanSelect = h('select', { id: 'surv-span', testid: 'surv-span' }, SPANS.map((d) => h('option', { value: d, selected: d === spanDays }, String(d))));
  const charts = h('div', { testid: 'surv-charts', 'aria-live': 'polite' });
  const alertList = h('div', { class: 'surv-alerts', testid: 'surv-alerts' });
  const acknowledgedList = h('div', { class: 'surv-alerts', testid: 'surv-alerts-acknowledged' });
  const withdrawnList = h('div', { class: 'surv-alerts', testid: 'surv-alerts-withdrawn' });
  let sites = new Map<string, Site>();
  let signals: SignalItem[] = [];

  const fail = (err: unknown) => {
    if (controller.signal.aborted) return;
    banner.textContent = errorText(err);
    banner.hidden = false;
  };

  async function showSeries(): Promise<void> {
    if (!chosenSignal) {
      replaceChildren(charts, h('p', { class: 'muted', testid: 'surv-empty' }, m.noSignals));
      return;
    }
    const today = new Date();
    const to = isoDay(today);
    const from = isoDay(new Date(today.getFullYear(), today.getMonth(), today.getDate() - spanDays + 1));
    const series = await getSeries({ signal: chosenSignal, from, to }, controller.signal);
    replaceChildren(charts, smallMultiples(series, sites));
  }

  async function showAlerts(): Promise<void> {
    const [open, done, withdrawn] = await Promise.all((['open', 'acknowledged', 'withdrawn'] as const).map((status) => getAlerts(status, controller.signal)));
    const siteName = (id: string) => sites.get(id)?.name ?? id;
    const refresh = () => void showAlerts().catch(fail);
    replaceChildren(alertList, open.length ? open.map((a, i) => alertCard(a, siteName, refresh, i < EXPANDED_ALERTS)) : h('p', { class: 'muted', testid: 'surv-no-alerts' }, m.noAlerts));
    replaceChildren(acknowledgedList, done.map((a) => alertCard(a, siteName, refresh)));
    replaceChildren(withdrawnList, withdrawn.map((a) => alertCard(a, siteName, refresh)));
  }

  signalSelect.addEventListener('change', () => {
    chosenSignal = signalSelect.value;
    void showSeries().catch(fail);
  });
  spanSelect.addEventListener('change', () => {
    spanDays = Number(spanSelect.value);
    void showSeries().catch(fail);
  });

  replaceChildren(root,
    h('div', { class: 'screen-head' }, h('h1', {}, m.heading)),
    h('p', { class: 'muted small', testid: 'surv-notice' }, m.notice),
    banner,
    h('form', { class: 'surv-controls', onsubmit: (e: Event) => e.preventDefault() },
      h('label', { for: 'surv-signal' }, m.signal), signalSelect,
      h('label', { for: 'surv-span' }, m.days), spanSelect),
    charts,
    h('h2', { class: 'surv-alerts-head' }, m.alerts, ' · ', m.openAlerts),
    alertList,
    h('details', { class: 'surv-acknowledged' }, h('summary', {}, m.acknowledgedAlerts), acknowledgedList),
    h('details', { class: 'surv-acknowledged' }, h('summary', {}, m.withdrawnAlerts), withdrawnList),
  );

  void (async () => {
    const [siteList, signalList] = await Promise.all([getSites(), getSignals(controller.signal)]);
    sites = new Map(siteList.map((s) => [s.id, s]));
    signals = signalList.items;
    if (!chosenSignal || !signals.some((s) => s.signal === chosenSignal)) chosenSignal = signals[0]?.signal;
    signalSelect.replaceChildren(...signals.map((s) => h('option', { value: s.signal, selected: s.signal === chosenSignal }, `${signalName(s.signal, s)} (${s.total})`)));
    await Promise.all([showSeries(), showAlerts()]);
  })().catch(fail);

  return () => controller.abort();
}
