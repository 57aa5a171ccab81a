/**
 * The worklist table: one row per study (priority, status, patient, waiting clock, why,
 * AI findings or why consent kept AI away, failures), the selection j/k move and Enter opens, and the waiting clocks
 * re-drawn in place on each tick.
 */
import { aiWithheldNotice } from '../ai-withheld.ts';
import type { Finding, WorklistItem } from '../api.ts';
import { h, replaceChildren } from '../dom.ts';
import { dateTime, dicomDate, findingCall, findingCallText, num, percent, personName, priorityBand } from '../format.ts';
import { clinical } from '../i18n.ts';
import { decisionText, waitingText } from '../reading-text.ts';
import { msg } from './messages.ts';
import { slaView } from './sla-clock.ts';
import type { WorklistState } from './state.ts';

function findingChip(f: Finding): HTMLElement {
  const m = msg();
  const name = clinical(f.display, f.displayZh);
  const decided = f.review ? ` · ${decisionText(f.review.decision)}` : '';
  const call = findingCall(f);
  const reason = f.applicability?.reason;
  // A model that declined shows why instead of a number, so a dash is never read as "0 %".
  const value = call === 'not-applicable' ? findingCallText[call] : percent(f.probability);
  const detail = reason ? clinical(reason.text, reason.textZh) : findingCallText[call];
  return h(
    'span',
    { class: `chip chip-${call}`, testid: 'finding-chip', 'data-call': call, title: `${name}: ${value} (${detail}). ${clinical(f.aiAssisted, f.aiAssistedZh)}` },
    h('span', { class: 'chip-ai', 'aria-label': m.aiAssisted }, 'AI'),
    `${name} ${value}${decided}`,
  );
}

function row(item: WorklistItem, now: number, siteNames?: Map<string, string>): HTMLTableRowElement {
  const m = msg();
  const band = priorityBand(item.priority);
  const what = item.studyDescription || m.untitled;
  return h(
    'tr',
    {
      class: `row status-${item.status}`,
      testid: 'worklist-row',
      'data-study-uid': item.studyInstanceUid,
      'data-status': item.status,
      'data-priority': item.priority,
      tabindex: -1,
      role: 'link',
      'aria-label': m.open(what, num(item.priority), m.statuses(item.status)),
    },
    h(
      'td',
      { class: 'col-priority' },
      h('span', { class: `priority priority-${band}`, title: m.priorityTitle(num(item.priority), m.bands(band)) }, num(item.priority)),
    ),
    h('td', {}, h('span', { class: `status status-${item.status}`, testid: 'status' }, m.statuses(item.status))),
    h(
      'td',
      { class: 'col-patient' },
      h('div', { class: 'patient' }, personName(item.patientName), item.patientId ? h('span', { class: 'muted small' }, ` · ${m.patientId(item.patientId)}`) : null),
      h('div', { class: 'small' }, what),
      h('div', { class: 'muted small' }, `${dicomDate(item.studyDate)} · ${m.received(dateTime(item.receivedAt))}`),
      siteNames ? h('div', { class: 'muted small', testid: 'site' }, m.site(siteNames.get(item.siteId) ?? item.siteId)) : null,
    ),
    h('td', {}, item.modality ?? '—'),
    h('td', { class: 'col-sla', 'data-sla': '' }, slaView(item.sla, item.waitingSince, now)),
    h('td', { class: 'col-why' }, h('span', { class: 'why-chip', testid: 'why' }, clinical(item.why, item.whyZh))),
    h(
      'td',
      { class: 'col-findings' },
      item.aiWithheld ? aiWithheldNotice(item.aiWithheld, 'chip') : null,
      item.findings.length
        ? item.findings.map(findingChip)
        : item.aiWithheld ? null : h('span', { class: 'muted small' }, item.status === 'pending' ? m.analysing : m.noFindings),
      // Past the level's AI result promise (the triage-policy card): said, with how long, so nobody waits on it unknowingly.
      item.aiDelay
        ? h('div', { class: 'ai-delayed small', testid: 'ai-delayed', title: m.aiDelayedTitle(item.aiDelay.level, waitingText(item.aiDelay.targetMinutes)) }, m.aiDelayed(waitingText(item.aiDelay.waitingMinutes)))
        : null,
      item.errors.map((e) =>
        h('div', { class: 'error-line', testid: 'study-error', title: e.sopInstanceUid }, h('code', {}, e.code), ' ', e.message),
      ),
    ),
  );
}

export interface WorklistTable {
  table: HTMLTableElement;
  /** Shown instead of rows when there are none. */
  empty: HTMLElement;
  /** Takes the server's list; re-draws only when it changed (or nothing is drawn yet), so a quiet poll keeps focus. */
  update(items: WorklistItem[]): void;
  tickClocks(): void;
  move(by: number): void;
  openSelected(): void;
}

export function createWorklistTable(state: WorklistState, open: (uid: string) => void): WorklistTable {
  const m = msg();
  const tbody = h('tbody', {});
  const empty = h('div', { class: 'empty', hidden: true, testid: 'worklist-empty' });
  let selectedUid: string | undefined;

  const rows = () => [...tbody.querySelectorAll<HTMLTableRowElement>('tr[data-study-uid]')];

  const select = (uid: string | undefined, focus: boolean) => {
    selectedUid = uid;
    for (const tr of rows()) {
      const on = tr.dataset.studyUid === uid;
      tr.classList.toggle('selected', on);
      tr.setAttribute('aria-current', String(on));
      tr.tabIndex = on ? 0 : -1;
      if (on && focus) tr.focus();
    }
  };

  const render = () => {
    const { items, filters } = state;
    const now = Date.now();
    const hadFocus = tbody.contains(document.activeElement);
    replaceChildren(tbody, items.map((item) => row(item, now, state.siteNames)));
    const filtered = Boolean(filters.status || filters.modality || filters.priority);
    empty.hidden = items.length > 0;
    empty.textContent = filtered ? m.emptyFiltered : m.empty;
    if (!items.some((i) => i.studyInstanceUid === selectedUid)) selectedUid = items[0]?.studyInstanceUid;
    select(selectedUid, hadFocus);
  };

  const update = (items: WorklistItem[]) => {
    if (JSON.stringify(items) === JSON.stringify(state.items) && tbody.childElementCount > 0) return;
    state.items = items;
    render();
  };

  const tickClocks = () => {
    const now = Date.now();
    for (const tr of rows()) {
      const item = state.items.find((i) => i.studyInstanceUid === tr.dataset.studyUid);
      const cell = tr.querySelector<HTMLElement>('[data-sla]');
      if (item && cell) replaceChildren(cell, slaView(item.sla, item.waitingSince, now));
    }
  };

  const move = (by: number) => {
    const items = state.items;
    if (!items.length) return;
    const at = items.findIndex((i) => i.studyInstanceUid === selectedUid);
    const next = Math.min(items.length - 1, Math.max(0, at + by));
    select(items[next].studyInstanceUid, true);
  };

  tbody.addEventListener('click', (e) => {
    const uid = (e.target as HTMLElement).closest<HTMLTableRowElement>('tr[data-study-uid]')?.dataset.studyUid;
    if (uid) open(uid);
  });

  const columns = [m.colPriority, m.colStatus, m.colPatient, m.colModality, m.colWaiting, m.colWhy, m.colFindings];
  const table = h(
    'table',
    { class: 'grid worklist', testid: 'worklist' },
    h('thead', {}, h('tr', {}, columns.map((t) => h('th', { scope: 'col' }, t)))),
    tbody,
  );
  return {
    table,
    empty,
    update,
    tickClocks,
    move,
    openSelected: () => {
      if (selectedUid) open(selectedUid);
    },
  };
}
