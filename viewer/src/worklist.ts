/**
 * Worklist: studies in the order the API ranks them (triage priority first), each with
 * its "why", the time it has waited against the reading target of its triage level, its
 * AI findings and any processing failures. Filters live in the URL hash. Rows change
 * as the server announces changes (no refresh button); the waiting clocks tick locally
 * every 30 s without asking the server.
 *
 * Keyboard: j/k or ↓/↑ move the selection, Enter opens it, ? lists the keys.
 *
 * This file wires the parts in worklist/ together: filters (filter-form.ts), rows
 * (rows.ts), live refresh (live-refresh.ts) and the waiting clocks (sla-clock.ts).
 */
import { getSites, subscribeToEvents } from './api.ts';
import { h, replaceChildren } from './dom.ts';
import type { AppContext } from './main.ts';
import { debounced } from './debounce.ts';
import { ALERT_DEBOUNCE_MS, ALERT_POLL_MS, createAlertStrip } from './patients/alert-strip.ts';
import { AI_NOTICE_POLL_MS, createAiNotice } from './worklist/ai-notice.ts';
import { helpButton, pushKeymap } from './shortcuts.ts';
import { restartStudyWalk } from './study/next-study.ts';
import { COMMON_MODALITIES, parseFilters, rememberFilters } from './worklist-filters.ts';
import { createFilterForm } from './worklist/filter-form.ts';
import { createLiveRefresh } from './worklist/live-refresh.ts';
import { msg } from './worklist/messages.ts';
import { createWorklistTable } from './worklist/rows.ts';
import { SLA_TICK_MS } from './worklist/sla-clock.ts';
import type { WorklistState } from './worklist/state.ts';

export function mountWorklist(root: HTMLElement, ctx: AppContext): () => void {
  const m = msg();
  const filters = parseFilters(location.hash);
  // A bookmarked site this user no longer reads would be refused (422): it is dropped instead.
  filters.site = filters.site?.filter((id) => ctx.user().sites.includes(id) || ctx.user().readsFor.includes(id));
  rememberFilters(filters);
  restartStudyWalk();
  const state: WorklistState = { filters, items: [], seenModalities: new Set([...COMMON_MODALITIES, ...(filters.modality ?? [])]), stopped: false };
  const controller = new AbortController();

  const table = createWorklistTable(state, (uid) => ctx.navigate(`#/study/${encodeURIComponent(uid)}`));
  const filterForm = createFilterForm(state, () => void live.load());
  const live = createLiveRefresh(state, table, filterForm, controller.signal);
  const alerts = createAlertStrip(controller.signal);
  // Admins see the AI pipeline's degradation and breaching levels (GET /ready) above the list.
  const aiNotice = ctx.user().roles.includes('admin') ? createAiNotice(controller.signal) : undefined;
  const aiNoticePoll = aiNotice && setInterval(() => void aiNotice.load(), AI_NOTICE_POLL_MS);
  void aiNotice?.load();

  filterForm.render();
  replaceChildren(
    root,
    h('div', { class: 'screen-head' }, h('h1', {}, m.title), live.status, h('span', { class: 'head-tools' }, h('span', { class: 'muted small' }, m.keysHint), helpButton())),
    alerts.element,
    aiNotice?.element ?? null,
    filterForm.element,
    live.banner,
    table.table,
    table.empty,
  );

  const popKeys = pushKeymap({
    title: () => m.title,
    shortcuts: [
      { keys: ['j', 'ArrowDown'], description: () => m.keyDown, run: () => table.move(1) },
      { keys: ['k', 'ArrowUp'], description: () => m.keyUp, run: () => table.move(-1) },
      { keys: ['Enter'], description: () => m.keyOpen, run: table.openSelected },
    ],
  });
  const reloadAlertsSoon = debounced(() => void alerts.load(), ALERT_DEBOUNCE_MS);
  const unsubscribe = subscribeToEvents(() => {
    live.reloadSoon();
    reloadAlertsSoon();
  });
  const alertPoll = setInterval(() => void alerts.load(), ALERT_POLL_MS);
  void alerts.load();
  const clock = setInterval(table.tickClocks, SLA_TICK_MS);
  // A reader of several sites (its own, or a county reading for its townships) sees whose study each row is, and may list one site's.
  const scope = [...ctx.user().sites, ...ctx.user().readsFor];
  const sites = scope.length > 1
    ? getSites().then((all) => {
      const names = new Map(all.map((s) => [s.id, s.name]));
      state.siteNames = new Map(scope.map((id) => [id, names.get(id) ?? id]));
      filterForm.render();
    }, () => undefined)
    : Promise.resolve();
  void sites.then(() => live.load());

  return () => {
    state.stopped = true;
    controller.abort();
    live.reloadSoon.cancel();
    clearInterval(clock);
    clearInterval(alertPoll);
    clearInterval(aiNoticePoll);
    reloadAlertsSoon.cancel();
    unsubscribe();
    popKeys();
  };
}
