/**
 * `#/drift` (模型漂移): for the chosen read-assist model, each version's PSI per window and
 * quantity with the thresholds drawn, the windows' output rates and acceptance, and the drift
 * alerts with acknowledgement. For model teams and admins (the server decides who may). The
 * chosen model lives in this module, so a language switch (a re-mount) keeps it.
 */
import { getModels, type ModelCard } from '../api.ts';
import { h, replaceChildren } from '../dom.ts';
import { errorText } from '../error-text.ts';
import { dateTime, percent } from '../format.ts';
import { clinical } from '../i18n.ts';
import type { AppContext } from '../main.ts';
import { acknowledgeDriftAlert, getDrift, type DriftAlert, type ModelDrift, type VersionDrift } from './api.ts';
import { psiChart, QUANTITIES } from './chart.ts';
import { msg } from './messages.ts';
import './drift.css';

let chosenModel: string | undefined;

function legend(): HTMLElement {
  const m = msg();
  return h('ul', { class: 'drift-legend' }, ...QUANTITIES.map((q, n) => h('li', {}, h('span', { class: `drift-swatch drift-series-${n}`, 'aria-hidden': 'true' }), m.quantity(q))));
}

function windowsTable(version: VersionDrift): HTMLElement {
  const m = msg();
  return h('table', { class: 'drift-windows', testid: 'drift-windows' },
    h('thead', {}, h('tr', {}, ...[m.window, m.inferences, ...QUANTITIES.map((q) => `PSI ${m.quantity(q)}`), m.positive, m.refer, m.notApplicable, m.acceptance].map((t) => h('th', {}, t)))),
    h('tbody', {}, ...version.windows.map((w) => h('tr', { class: w.complete ? '' : 'muted' },
      h('td', {}, `${w.index + 1}${w.complete ? '' : ` (${m.filling})`}`),
      h('td', {}, String(w.size)),
      ...QUANTITIES.map((q) => h('td', { class: (w.psi[q] ?? 0) > 0.25 ? 'drift-over' : (w.psi[q] ?? 0) >= 0.1 ? 'drift-moderate' : '' }, w.psi[q] === null ? '—' : w.psi[q]!.toFixed(3))),
      h('td', {}, percent(w.rates.positive)), h('td', {}, percent(w.rates.refer)), h('td', {}, percent(w.rates.notApplicable)),
      h('td', {}, w.acceptance.share === null ? '—' : `${percent(w.acceptance.share)} (${w.acceptance.accepted}/${w.acceptance.reviewed})`)))));
}

/** `card`: the loaded version's card, whose deployment state says where its answers go; none for a version no longer loaded. */
function versionSection(drift: ModelDrift, version: VersionDrift, card: ModelCard | undefined): HTMLElement {
  const m = msg();
  return h('section', { class: 'drift-version', testid: 'drift-version', 'data-version': version.version },
    h('h3', {}, m.version(version.version),
      card && h('span', { class: `drift-deployment drift-deployment-${card.deployment ?? 'clinical'}`, testid: 'drift-deployment' }, m.deployment(card))),
    version.reference
      ? h('p', { class: 'muted small' }, m.reference(version.reference.size, dateTime(version.reference.from), dateTime(version.reference.to)))
      : h('p', { class: 'muted' }, m.noReference(version.inferences, drift.policy.referenceSize)),
    ...(version.windows.length > 0 ? [psiChart(version, drift.policy.thresholds), legend(), windowsTable(version)] : []));
}

function alertItem(alert: DriftAlert, reload: () => void): HTMLElement {
  const m = msg();
  const note = h('input', { type: 'text', maxlength: 2000, placeholder: m.note, 'aria-label': m.note, testid: 'drift-ack-note' });
  const error = h('span', { class: 'error small', role: 'alert' });
  const form = h('form', { class: 'drift-ack' }, note, h('button', { type: 'submit', testid: 'drift-ack' }, m.acknowledge), error);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    acknowledgeDriftAlert(alert.id, note.value).then(reload, (err) => { error.textContent = errorText(err); });
  });
  return h('li', { class: `drift-alert drift-alert-${alert.status}`, testid: 'drift-alert', 'data-status': alert.status, 'data-quantity': alert.quantity },
    h('div', {}, h('strong', {}, m.alertText(m.quantity(alert.quantity), alert.modelVersion, alert.windowIndex, alert.psi)), h('span', { class: 'muted small' }, ` · ${dateTime(alert.raisedAt)}`)),
    alert.acknowledgement ? h('div', { class: 'muted small' }, m.acknowledged(alert.acknowledgement.by, alert.acknowledgement.note)) : form);
}

export function mountDrift(root: HTMLElement, _ctx: AppContext): () => void {
  const m = msg();
  let destroyed = false;
  let controller: AbortController | undefined;
  const select = h('select', { id: 'drift-model', testid: 'drift-model' });
  const body = h('div', { class: 'drift-body', testid: 'drift-body' }, m.loading);
  const notice = h('p', { class: 'muted small', testid: 'drift-notice' });
  let cards: ModelCard[] = [];
  replaceChildren(root, h('div', { class: 'drift-screen' },
    h('h2', {}, m.title),
    h('p', { class: 'muted' }, m.intro),
    h('div', { class: 'filter' }, h('label', { for: 'drift-model' }, m.model), select),
    body, notice));

  const load = () => {
    if (!chosenModel) return;
    controller?.abort();
    controller = new AbortController();
    getDrift(chosenModel, controller.signal).then((drift) => {
      if (destroyed) return;
      notice.textContent = drift.aiAssisted;
      replaceChildren(body,
        ...drift.versions.map((v) => versionSection(drift, v, cards.find((c) => c.id === drift.modelId && c.version === v.version))),
        h('h3', {}, m.alerts),
        drift.alerts.length === 0 ? h('p', { class: 'muted' }, m.noAlerts) : h('ul', { class: 'drift-alerts', testid: 'drift-alerts' }, ...drift.alerts.map((a) => alertItem(a, load))));
    }, (err) => {
      if (!destroyed && !(err instanceof DOMException && err.name === 'AbortError')) replaceChildren(body, h('p', { class: 'error', role: 'alert' }, errorText(err)));
    });
  };
  select.addEventListener('change', () => { chosenModel = select.value; load(); });

  void getModels().then((models: ModelCard[]) => {
    if (destroyed) return;
    cards = models.filter((c) => c.task === 'read-assist');
    // One entry per model: its versions (shadow, canary, clinical) share the screen.
    const imaging = [...new Map(cards.map((c) => [c.id, c])).values()];
    if (imaging.length === 0) { replaceChildren(body, h('p', { class: 'muted' }, m.noModels)); return; }
    if (!chosenModel || !imaging.some((c) => c.id === chosenModel)) chosenModel = imaging[0].id;
    replaceChildren(select, ...imaging.map((c) => h('option', { value: c.id, ...(c.id === chosenModel && { selected: true }) }, clinical(c.title, c.titleZh))));
    load();
  }, (err) => replaceChildren(body, h('p', { class: 'error', role: 'alert' }, errorText(err))));

  return () => {
    destroyed = true;
    controller?.abort();
  };
}
