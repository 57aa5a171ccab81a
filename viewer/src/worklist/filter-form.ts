/**
 * The worklist's filters as checkboxes (status, priority, modality; site for a reader of several). A change rewrites the
 * URL hash in place and is remembered for "next study"; the modality boxes grow as
 * studies of new modalities arrive.
 */
import type { PriorityBand, StudyStatus, WorklistItem } from '../api.ts';
import { h, replaceChildren } from '../dom.ts';
import { BANDS, rememberFilters, STATUSES, worklistHash } from '../worklist-filters.ts';
import { msg } from './messages.ts';
import type { WorklistState } from './state.ts';

export interface FilterForm {
  element: HTMLFormElement;
  render(): void;
  /** Offers a box for every modality in `items` not seen yet. */
  noteModalities(items: WorklistItem[]): void;
}

function checkboxGroup<T extends string>(
  legend: string,
  name: string,
  options: readonly T[],
  label: (v: T) => string,
  selected: readonly T[] | undefined,
): HTMLFieldSetElement {
  return h(
    'fieldset',
    { class: 'filter-group', testid: `filter-${name}` },
    h('legend', {}, legend),
    options.map((value) =>
      h(
        'label',
        { class: 'toggle' },
        h('input', { type: 'checkbox', name, value, checked: selected?.includes(value), testid: `filter-${name}-${value}` }),
        h('span', {}, label(value)),
      ),
    ),
  );
}

/** The filters as the boxes now stand; an empty group is no filter. */
function readFilters(form: HTMLFormElement): WorklistState['filters'] {
  const data = new FormData(form);
  const pick = <T extends string>(name: string) => {
    const values = data.getAll(name).map(String) as T[];
    return values.length ? values : undefined;
  };
  return { status: pick<StudyStatus>('status'), modality: pick<string>('modality'), priority: pick<PriorityBand>('priority'), site: pick<string>('site') };
}

/** `changed` runs after every change of the filters, to list the studies again. */
export function createFilterForm(state: WorklistState, changed: () => void): FilterForm {
  const m = msg();
  const element = h('form', { class: 'filters', testid: 'filters', 'aria-label': m.filters });

  const apply = () => {
    state.filters = readFilters(element);
    rememberFilters(state.filters);
    // replaceState: a filter change is not a new screen, and must not re-mount this one.
    history.replaceState(null, '', worklistHash(state.filters));
    changed();
  };

  // Not a reset button: reset restores the boxes checked when the form was built (from the URL).
  const clear = () => {
    for (const box of element.querySelectorAll<HTMLInputElement>('input[type="checkbox"]')) box.checked = false;
    apply();
  };

  const render = () => {
    const { filters, seenModalities, siteNames } = state;
    replaceChildren(
      element,
      // Only for a reader of several sites (its own and those they read for): whose studies to list.
      siteNames && checkboxGroup(m.siteFilter, 'site', [...siteNames.keys()], (id) => siteNames.get(id) ?? id, filters.site),
      checkboxGroup(m.status, 'status', STATUSES, (s) => m.statuses(s), filters.status),
      checkboxGroup(m.priority, 'priority', BANDS, (b) => m.bands(b), filters.priority),
      checkboxGroup(m.modality, 'modality', [...seenModalities].sort(), (x) => x, filters.modality),
      h('button', { type: 'button', class: 'link', testid: 'filter-clear', onclick: clear }, m.clear),
    );
  };

  const noteModalities = (items: WorklistItem[]) => {
    let added = false;
    for (const { modality } of items) {
      if (modality && !state.seenModalities.has(modality)) {
        state.seenModalities.add(modality);
        added = true;
      }
    }
    if (added) render();
  };

  element.addEventListener('change', apply);
  element.addEventListener('submit', (e) => e.preventDefault());
  return { element, render, noteModalities };
}
