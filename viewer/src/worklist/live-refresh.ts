/**
 * Keeping the worklist current: one request at a time (a newer one aborts the older, so
 * a slow answer for old filters never overwrites a newer list), the "updated" line, and
 * a banner while the server cannot be reached. Server events ask for a reload; bursts
 * of them (one per instance) become one request.
 */
import { ApiError, getWorklist } from '../api.ts';
import { debounced } from '../debounce.ts';
import { h } from '../dom.ts';
import { intlLocale } from '../i18n.ts';
import type { FilterForm } from './filter-form.ts';
import { msg } from './messages.ts';
import type { WorklistTable } from './rows.ts';
import type { WorklistState } from './state.ts';

const DEBOUNCE_MS = 200;

export interface LiveRefresh {
  /** "n studies · updated hh:mm". */
  status: HTMLElement;
  banner: HTMLElement;
  load(): Promise<void>;
  reloadSoon: ReturnType<typeof debounced>;
}

/** Aborting `signal` (unmount) aborts the request in flight. */
export function createLiveRefresh(state: WorklistState, table: WorklistTable, filterForm: FilterForm, signal: AbortSignal): LiveRefresh {
  const m = msg();
  const status = h('span', { class: 'muted small', testid: 'worklist-updated' }, m.loading);
  const banner = h('div', { class: 'banner banner-error', testid: 'worklist-error', role: 'alert', hidden: true });
  let inFlight: AbortController | undefined;

  const load = async () => {
    inFlight?.abort();
    const request = new AbortController();
    inFlight = request;
    signal.addEventListener('abort', () => request.abort(), { once: true });
    try {
      const next = await getWorklist(request.signal, state.filters);
      if (state.stopped || request !== inFlight) return;
      banner.hidden = true;
      filterForm.noteModalities(next);
      table.update(next);
      status.textContent = `${m.count(state.items.length)} · ${m.updated(new Date().toLocaleTimeString(intlLocale()))}`;
    } catch (err) {
      if (state.stopped || request.signal.aborted) return;
      banner.hidden = false;
      banner.textContent = m.unavailable(err instanceof ApiError ? `${err.code}: ${err.message}` : String(err));
    }
  };

  return { status, banner, load, reloadSoon: debounced(() => void load(), DEBOUNCE_MS) };
}
