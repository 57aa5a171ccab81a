/**
 * Agreement dashboard: how readers received each model version's findings, per label —
 * acceptance with its Wilson 95 % interval, overrides and their reasons (Pareto),
 * amendments, time to decision, missed findings readers added, and acceptance by day.
 * The feedback loop model teams use; the same query downloads as CSV.
 *
 * The date range is in the reader's local days (the API takes instants). Filters and the
 * chosen group live in this module, so a language switch keeps them; decisions made
 * elsewhere arrive over the event stream and refresh the numbers.
 */
import { agreementCsvUrl, getAgreement, getModels, subscribeToEvents, type AgreementGroup } from './api.ts';
import { h, replaceChildren } from './dom.ts';
import { errorText } from './error-text.ts';
import { dateTime } from './format.ts';
import { clinical } from './i18n.ts';
import type { AppContext } from './main.ts';
import { agreementQuery, groupKey, NO_FILTERS, type Filters } from './dashboard/agreement-query.ts';
import { agreementTable, groupRow } from './dashboard/agreement-table.ts';
import { groupCharts } from './dashboard/group-charts.ts';
import { msg } from './dashboard/messages.ts';
import { msg as compareMsg } from './dashboard/compare-messages.ts';
import { debounced } from './debounce.ts';

/** Kept across mounts, so a language switch (which re-mounts) keeps the reader's choice. */
let filters: Filters = NO_FILTERS;
let selectedKey: string | undefined;

const REFRESH_DEBOUNCE_MS = 300;

interface FilterForm {
  element: HTMLFormElement;
  /** Shows `f` in the inputs (after Reset). */
  show(f: Filters): void;
  /** Read-assist models join the model choice once their cards arrive. */
  addModels(models: { id: string; title: string; titleZh?: string }[]): void;
}

/** `apply` runs with what the form holds on submit, and with no filters on Reset. */
function filterForm(apply: (f: Filters) => void): FilterForm {
  const m = msg();
  const fromInput = h('input', { type: 'date', id: 'agreement-from', testid: 'filter-from', value: filters.from });
  const toInput = h('input', { type: 'date', id: 'agreement-to', testid: 'filter-to', value: filters.to });
  const modelSelect = h('select', { id: 'agreement-model', testid: 'filter-model' }, h('option', { value: '' }, m.allModels));
  const element = h(
    'form',
    { class: 'agreement-filters', testid: 'agreement-filters' },
    h('div', { class: 'filter' }, h('label', { for: 'agreement-from' }, m.from), fromInput),
    h('div', { class: 'filter' }, h('label', { for: 'agreement-to' }, m.to), toInput),
    h('div', { class: 'filter' }, h('label', { for: 'agreement-model' }, m.model), modelSelect),
    h('div', { class: 'filter-actions' }, h('button', { type: 'submit', class: 'primary', testid: 'filter-apply' }, m.apply), h('button', { type: 'button', testid: 'filter-reset', onclick: () => apply(NO_FILTERS) }, m.reset)),
  );
  element.addEventListener('submit', (e) => {
    e.preventDefault();
    apply({ from: fromInput.value, to: toInput.value, model: modelSelect.value });
  });
  return {
    element,
    show(f) {
      fromInput.value = f.from;
      toInput.value = f.to;
      modelSelect.value = f.model;
    },
    addModels(models) {
      for (const model of models) modelSelect.append(h('option', { value: model.id, selected: model.id === filters.model }, clinical(model.title, model.titleZh)));
    },
  };
}

/** The rows, and the charts of the chosen group (else of the group with the most decisions). */
function renderGroups(groups: AgreementGroup[], tbody: HTMLTableSectionElement, chartsSlot: HTMLElement): void {
  const selected = groups.find((g) => groupKey(g) === selectedKey) ?? [...groups].sort((a, b) => b.decided - a.decided)[0];
  tbody.replaceChildren(
    ...groups.map((g) =>
      groupRow(g, g === selected, () => {
        selectedKey = groupKey(g);
        renderGroups(groups, tbody, chartsSlot);
      }),
    ),
  );
  if (!groups.length) tbody.appendChild(h('tr', {}, h('td', { colspan: 9, class: 'muted', testid: 'agreement-empty' }, msg().empty)));
  chartsSlot.replaceChildren(...(selected ? [groupCharts(selected)] : []));
}

export function mountDashboard(root: HTMLElement, _ctx: AppContext): () => void {
  const m = msg();
  let destroyed = false;
  let controller: AbortController | undefined;

  const csv = h('a', { class: 'button-link', testid: 'download-csv', download: '', href: agreementCsvUrl(agreementQuery(filters)) }, `⤓ ${m.csv}`);
  const banner = h('div', { class: 'banner banner-error', hidden: true, testid: 'agreement-error', role: 'alert' });
  const status = h('p', { class: 'muted small', testid: 'agreement-status', 'aria-live': 'polite' });
  const tbody = h('tbody', {});
  const chartsSlot = h('div', {});

  const load = async () => {
    controller?.abort();
    controller = new AbortController();
    const query = agreementQuery(filters);
    csv.href = agreementCsvUrl(query);
    try {
      const answer = await getAgreement(query, controller.signal);
      if (destroyed) return;
      banner.hidden = true;
      status.textContent = m.generated(answer.groups.length, dateTime(answer.generatedAt));
      renderGroups(answer.groups, tbody, chartsSlot);
    } catch (err) {
      if (destroyed || (err instanceof DOMException && err.name === 'AbortError')) return;
      banner.hidden = false;
      banner.textContent = m.unavailable(errorText(err));
    }
  };

  const form = filterForm((next) => {
    filters = next;
    form.show(next);
    void load();
  });

  replaceChildren(
    root,
    h('div', { class: 'screen-head' }, h('h1', {}, m.title), h('div', { class: 'row-actions' }, h('a', { class: 'button-link', href: '#/compare', testid: 'open-compare' }, compareMsg().open), csv)),
    h('p', { class: 'muted small agreement-intro' }, m.intro),
    form.element,
    banner,
    status,
    agreementTable(tbody),
    chartsSlot,
  );

  void getModels().then(
    (models) => {
      if (!destroyed) form.addModels(models.filter((c) => c.task === 'read-assist'));
    },
    () => {
      // Without the list the filter offers "all models" only; the table still loads.
    },
  );

  // Decisions made elsewhere (the study screen, another reader) refresh the numbers.
  const reloadSoon = debounced(() => void load(), REFRESH_DEBOUNCE_MS);
  const unsubscribe = subscribeToEvents((update) => {
    if (update.type === 'study' && !['review', 'reader-finding', 'finding'].includes(update.change)) return;
    reloadSoon();
  });
  void load();

  return () => {
    destroyed = true;
    controller?.abort();
    reloadSoon.cancel();
    unsubscribe();
  };
}
