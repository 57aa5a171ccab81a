/**
 * `#/patients/<patientKey>`: one patient's home vital signs over the last 7 days — NEWS2 over
 * time with its thresholds and alerts, then one plot per parameter with its scoring ranges, and
 * the alerts listed. The patient key is the FHIR Patient id (a hash); the Patient ID shown comes
 * from the answer, never from the URL. Reached from the worklist's alert strip and the study view.
 */
import { ApiError } from '../api.ts';
import { h, replaceChildren } from '../dom.ts';
import { dateTime } from '../format.ts';
import { clinical } from '../i18n.ts';
import type { AppContext } from '../main.ts';
import { getPatientVitals, type News2Point, type PatientVitals, type VitalAlert, type VitalParameter } from './api.ts';
import { msg } from './messages.ts';
import { categoryPlot, news2Plot, numericPlot, type Mark, type Point, type TimeAxis } from './plots.ts';
import './patients.css';

/** Where each numeric plot starts and ends unless a reading lies outside: wide enough to show every scoring range. */
const DOMAIN: Record<string, [number, number]> = {
  respiratoryRate: [4, 36], spo2: [84, 100], pulse: [30, 150], systolicBp: [70, 230], temperature: [34, 40.5],
};
const NUMERIC: VitalParameter[] = ['respiratoryRate', 'spo2', 'pulse', 'systolicBp', 'temperature'];
const ACVPU = ['alert', 'confusion', 'voice', 'pain', 'unresponsive'];

export function mountPatientVitals(root: HTMLElement, _ctx: AppContext, patientKey: string): () => void {
  const m = msg();
  const controller = new AbortController();
  replaceChildren(root, h('div', { class: 'screen-head' }, h('h1', {}, m.title)), h('p', { class: 'muted' }, m.loading));
  getPatientVitals(patientKey, controller.signal).then((vitals) => render(root, vitals), (error: unknown) => {
    if (controller.signal.aborted) return;
    const text = error instanceof ApiError && error.status === 404 ? m.none : m.unavailable(error instanceof Error ? error.message : String(error));
    replaceChildren(root, h('div', { class: 'screen-head' }, h('h1', {}, m.title)), h('p', { class: 'muted', testid: 'vitals-empty' }, text));
  });
  return () => controller.abort();
}

function render(root: HTMLElement, v: PatientVitals): void {
  const m = msg();
  const times = [...v.observations.map((o) => Date.parse(o.at)), ...v.news2.map((p) => Date.parse(p.at))];
  const axis: TimeAxis = { t0: Math.min(...times), t1: Math.max(...times) };
  const alertMarks: (Mark & { level: string })[] = v.alerts.map((a) => ({ t: Date.parse(a.at), level: a.level, label: `${m.level(a.level)} · NEWS2 ${a.score} · ${a.reasons.map((r) => clinical(r.text, r.textZh)).join('; ')}` }));
  const patientId = v.alerts[0]?.patientId;

  const news2 = news2Plot({
    title: m.news2Title, thresholds: v.thresholds, lineLabels: { urgent: m.urgentLine, emergency: m.emergencyLine }, axis, alerts: alertMarks,
    points: v.news2.map((p) => ({ t: Date.parse(p.at), value: p.score, carried: Object.values(p.inputs).some((i) => i.carried), label: pointLabel(p) })),
  });

  const plots = [...NUMERIC, 'consciousness', 'supplementalOxygen'].map((parameter) => {
    const p = parameter as VitalParameter;
    const measured = v.observations.filter((o) => o.parameter === p);
    const carried = v.news2.flatMap((pt) => (pt.inputs[p]?.carried ? [{ t: Date.parse(pt.at), raw: pt.inputs[p].value, from: pt.inputs[p].from }] : []));
    const title = `${m.parameter(p)}${NUMERIC.includes(p) ? ` (${measured[0]?.unit ?? v.bands.find((b) => b.parameter === p)?.unit ?? ''})` : ''}`;
    let svg: SVGSVGElement;
    if (NUMERIC.includes(p)) {
      const bands = v.bands.find((b) => b.parameter === p)?.bands ?? [];
      svg = numericPlot({
        testid: `plot-${p}`, title, unit: v.bands.find((b) => b.parameter === p)?.unit ?? '', domain: DOMAIN[p], bands, axis, alerts: alertMarks,
        measured: measured.map((o) => ({ t: Date.parse(o.at), value: Number(o.value), label: `${o.original.value} ${o.original.unit ?? ''} · ${dateTime(o.at)}` })),
        carried: carried.map((c) => ({ t: c.t, value: Number(c.raw), label: `${c.raw} ← ${dateTime(c.from)}` })),
      });
    } else {
      const keys = p === 'consciousness' ? ACVPU : ['false', 'true'];
      const label = (k: string) => (p === 'consciousness' ? m.acvpu(k) : m.oxygen(k));
      const position = (value: unknown) => keys.indexOf(String(value));
      svg = categoryPlot({
        testid: `plot-${p}`, title, axis, alerts: alertMarks,
        categories: keys.map((k) => ({ key: k, label: label(k), points: v.bands.find((b) => b.parameter === p)?.categories?.[k] ?? 0 })),
        measured: measured.map((o) => ({ t: Date.parse(o.at), value: position(o.value), label: `${label(String(o.value))} · ${dateTime(o.at)}` })),
        carried: carried.map((c) => ({ t: c.t, value: position(c.raw), label: `${label(String(c.raw))} ← ${dateTime(c.from)}` })),
      });
    }
    return h('figure', { class: 'chart-card vitals-card' }, h('figcaption', {}, title), svg);
  });

  const minutes = [...new Set(Object.values(v.carryForwardMinutes))].sort((a, b) => a - b)
    .map((n) => `${Object.entries(v.carryForwardMinutes).filter(([, x]) => x === n).map(([k]) => m.parameter(k as VitalParameter)).join(', ')}: ${m.minutes(n)}`).join('; ');

  replaceChildren(
    root,
    h('div', { class: 'screen-head' }, h('h1', {}, m.title), patientId ? h('span', { class: 'muted', testid: 'vitals-patient' }, m.patient(patientId)) : null),
    h('p', { class: 'muted small ai-note' }, h('span', { class: 'chip-ai' }, 'NEWS2'), ' ', m.aiNote(v.aiAssisted)),
    // One line for what the gate could not check (the age, a pregnancy), and the reason once.
    v.caveats.length ? h('p', { class: 'muted small', testid: 'news2-caveats', 'data-codes': v.caveats.map((c) => c.code).join(' ') }, m.notChecked(v.caveats.map((c) => clinical(c.text, c.textZh)))) : null,
    h('ul', { class: 'vitals-legend small muted' },
      h('li', {}, h('span', { class: 'legend-dot dot-measured' }), m.legendMeasured),
      h('li', {}, h('span', { class: 'legend-dot dot-carried' }), m.legendCarried),
      h('li', {}, h('span', { class: 'legend-alert' }), m.legendAlert),
      h('li', {}, m.legendBands)),
    h('p', { class: 'muted small' }, m.carryRule(minutes)),
    h('figure', { class: 'chart-card vitals-card vitals-news2' }, h('figcaption', {}, m.news2Title), news2),
    h('div', { class: 'vitals-grid', testid: 'vitals-plots' }, plots),
    h('h2', {}, m.alerts),
    v.alerts.length ? h('ul', { class: 'vitals-alerts', testid: 'vitals-alert-list' }, v.alerts.map(alertItem)) : h('p', { class: 'muted' }, m.noAlerts),
  );
}

function pointLabel(p: News2Point): string {
  const carried = Object.entries(p.inputs).filter(([, i]) => i.carried).map(([k, i]) => `${msg().parameter(k as VitalParameter)} ← ${dateTime(i.from)}`);
  return `NEWS2 ${p.score} (${p.band}) · ${dateTime(p.at)}${carried.length ? `\n${msg().legendCarried}: ${carried.join(', ')}` : ''}`;
}

function alertItem(a: VitalAlert): HTMLElement {
  const m = msg();
  return h('li', { class: `vitals-alert level-${a.level}`, testid: 'vitals-alert' },
    h('span', { class: `badge alert-badge alert-${a.level}` }, m.level(a.level)), ' ',
    h('strong', {}, `NEWS2 ${a.score}`), ' · ', a.reasons.map((r) => clinical(r.text, r.textZh)).join('; '), ' · ', dateTime(a.at), ' · ',
    a.status === 'acknowledged' ? m.acknowledged(a.acknowledgedBy ?? '') : m.open);
}
