/**
 * The alert list: each alert with its evidence — the series window it was raised on (the day
 * marked), the baseline, the statistic against the threshold, the sites — and, while open, a note
 * and an Acknowledge button (the server records the signed-in user).
 */
import { h } from '../dom.ts';
import { errorText } from '../error-text.ts';
import { dateTime } from '../format.ts';
import { acknowledgeAlert, type SurveillanceAlert } from './api.ts';
import { msg, signalName } from './messages.ts';
import { smallMultiple, type SeriesDay } from './small-multiple.ts';

type Evidence = SurveillanceAlert['evidence'];
type Verdict = Pick<Evidence, 'statistic' | 'threshold' | 'baseline'>;

/** The series window as chart days, the alert's day (the last) carrying its verdict. */
function evidenceDays(series: NonNullable<Evidence['series']>, verdict: Verdict): SeriesDay[] {
  return series.counts.map((count, i) => {
    const last = i === series.counts.length - 1;
    const { mean, sd, percentile } = verdict.baseline ?? {};
    const upper = percentile ?? (mean !== undefined && sd !== undefined && verdict.threshold !== undefined ? mean + verdict.threshold * sd : undefined);
    return {
      count,
      denominator: series.denominators?.[i],
      detection: last && mean !== undefined && upper !== undefined ? { expected: mean, upper, alarm: true } : null,
    };
  });
}

function evidenceChart(series: NonNullable<Evidence['series']>, verdict: Verdict, title: string, testid: string): SVGSVGElement {
  const days = evidenceDays(series, verdict);
  const last = new Date(Date.parse(`${series.start}T00:00:00Z`) + (days.length - 1) * 86_400_000).toISOString().slice(0, 10);
  return smallMultiple(days, { title, description: msg().chartDescription(days.length, 1), from: series.start, to: last, testid });
}

function verdictText(v: Verdict, observed: number | undefined): string {
  const m = msg();
  return [
    observed !== undefined && v.baseline ? m.observed(observed, v.baseline.mean, v.baseline.sd, v.baseline.days) : undefined,
    v.statistic !== undefined && v.threshold !== undefined ? m.statistic(v.statistic, v.threshold) : undefined,
  ].filter(Boolean).join(' · ');
}

/** Why a later run withdrew the alert: composed from its fields, so it reads in either language. */
function withdrawalNote(w: NonNullable<SurveillanceAlert['withdrawal']>): HTMLElement {
  const m = msg();
  const now = w.verdict ? ` ${m.statisticNow(w.verdict.statistic, w.verdict.threshold)}.` : '';
  return h('p', { class: 'small muted', testid: 'withdrawn-note' }, `${m.withdrawnOn(dateTime(w.at), w.runDay)}${now}`);
}

/** `expanded`: the evidence shows unfolded (the first few open alerts; the rest fold so the list stays readable). */
export function alertCard(alert: SurveillanceAlert, siteName: (id: string) => string, onChanged: () => void, expanded = false): HTMLElement {
  const m = msg();
  const e = alert.evidence;
  const signal = signalName(alert.signal);
  const sites = alert.sites.map(siteName).join(', ');
  const evidence: (Node | string)[] = [];
  if (e.series) {
    evidence.push(h('p', { class: 'small' }, verdictText(e, e.series.counts.at(-1))));
    evidence.push(evidenceChart(e.series, e, `${signal} — ${alert.scopeKind === 'site' ? sites : siteName(alert.scopeId)}`, 'evidence-chart'));
  }
  if (e.rule && e.siteAlarms) {
    evidence.push(h('p', { class: 'small' }, m.sitesRising(sites, e.rule.minSites, e.rule.withinDays)));
    evidence.push(h('ul', { class: 'small surv-site-alarms' }, e.siteAlarms.map((a) => h('li', {}, `${siteName(a.site)} ${a.date}: ${verdictText(a, e.siteSeries?.[a.site]?.counts.at(-1 - dayGap(a.date, alert.day)))}`))));
    evidence.push(h('div', { class: 'surv-evidence-row' }, Object.entries(e.siteSeries ?? {}).map(([site, series]) => {
      const verdict = e.siteAlarms!.filter((a) => a.site === site).at(-1)!;
      return evidenceChart(series, verdict, `${signal} — ${siteName(site)}`, 'evidence-chart');
    })));
  }
  const note = h('textarea', { rows: 2, maxlength: 2000, testid: 'ack-note', 'aria-label': m.note, placeholder: m.note });
  const error = h('p', { class: 'error small', role: 'alert', hidden: true });
  const button = h('button', { type: 'submit', class: 'primary', testid: 'ack-button' }, m.acknowledge);
  const form = h('form', { class: 'surv-ack' }, note, button, error);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    button.disabled = true;
    acknowledgeAlert(alert.id, note.value).then(onChanged, (err: unknown) => {
      error.textContent = errorText(err);
      error.hidden = false;
      button.disabled = false;
    });
  });
  return h('article', { class: `surv-alert surv-alert-${alert.status}`, testid: 'surv-alert', 'data-alert-id': alert.id, 'data-scope': alert.scopeKind },
    h('header', {},
      h('span', { class: `surv-scope surv-scope-${alert.scopeKind}` }, m.scope(alert.scopeKind)),
      h('strong', {}, signal),
      h('span', { class: 'muted small' }, `${alert.scopeKind === 'site' ? sites : `${siteName(alert.scopeId)} · ${sites}`} · ${m.raisedOn(alert.day)} · ${m.method(alert.method)}`)),
    h('details', { open: expanded }, h('summary', {}, m.evidence), evidence),
    alert.acknowledgement
      ? h('p', { class: 'small muted', testid: 'ack-done' }, m.acknowledgedBy(alert.acknowledgement.by, dateTime(alert.acknowledgement.at), alert.acknowledgement.note))
      : alert.withdrawal ? withdrawalNote(alert.withdrawal) : form,
  );
}

/** Days from `a` to `b` (dates): where an earlier alarm day sits in a window ending on `b`. */
const dayGap = (a: string, b: string) => Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
