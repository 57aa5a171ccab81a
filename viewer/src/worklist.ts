/**
 * Worklist: studies in the order the API ranks them (triage priority first), each with
 * its "why", the time it has waited against the reading target of its triage level, its
 * AI findings and any processing failures. Filters live in the URL hash. Rows change
 * as the server announces changes (no refresh button); the waiting clocks tick locally
 * every 30 s without asking the server.
 *
 * Keyboard: j/k or ↓/↑ move the selection, Enter opens it, ? lists the keys.
 */
import {
  ApiError,
  getWorklist,
  subscribeToEvents,
  type Finding,
  type PriorityBand,
  type Sla,
  type StudyStatus,
  type WorklistFilters,
  type WorklistItem,
} from './api.ts';
import { h, replaceChildren } from './dom.ts';
import { dateTime, dicomDate, findingCall, findingCallText, num, percent, personName, priorityBand } from './format.ts';
import { clinical, defineMessages, intlLocale } from './i18n.ts';
import type { AppContext } from './main.ts';
import { helpButton, pushKeymap } from './shortcuts.ts';
import { BANDS, COMMON_MODALITIES, parseFilters, rememberFilters, STATUSES, worklistHash } from './worklist-filters.ts';
import { decisionText, waitingText } from './reading-text.ts';
import { restartStudyWalk } from './study/next-study.ts';
import { debounced } from './debounce.ts';

/** The server announces changes in bursts (one per instance); one re-fetch per burst. */
const DEBOUNCE_MS = 200;
/** Waiting clocks are in whole minutes: a 30 s tick is never more than half a minute late. */
export const SLA_TICK_MS = 30_000;

const msg = defineMessages({
  en: {
    title: 'Worklist',
    loading: 'loading…',
    count: (n: number) => `${n} ${n === 1 ? 'study' : 'studies'}`,
    updated: (time: string) => `updated ${time}`,
    unavailable: (detail: string) => `Worklist unavailable (${detail}). Retrying…`,
    empty: 'No studies yet. Send images to POST /dicomweb/studies (STOW-RS) and they appear here.',
    emptyFiltered: 'No study matches these filters.',
    colPriority: 'Priority',
    colStatus: 'Status',
    colPatient: 'Patient / study',
    colModality: 'Mod.',
    colWaiting: 'Waiting / target',
    colWhy: 'Why',
    colFindings: 'AI findings (confirm clinically)',
    untitled: 'Untitled study',
    received: (when: string) => `received ${when}`,
    patientId: (id: string) => `ID ${id}`,
    open: (what: string, priority: string, status: string) => `Open study ${what}, priority ${priority}, ${status}`,
    priorityTitle: (p: string, band: string) => `Priority ${p} of 100 (${band})`,
    analysing: 'analysing…',
    noFindings: 'none',
    aiAssisted: 'AI-assisted',
    level: (level: string) => `Level ${level}`,
    breached: 'overdue',
    slaTitle: (level: string, target: string, due: string) => `Level ${level}: read within ${target} (due ${due})`,
    noSla: '—',
    filters: 'Filters',
    status: 'Status',
    modality: 'Modality',
    priority: 'Priority',
    clear: 'Clear filters',
    statuses: (s: StudyStatus): string => s,
    bands: (b: PriorityBand): string => b,
    keysHint: 'j/k or ↓/↑ select · Enter open · ? all keys',
    keyDown: 'Select the next study',
    keyUp: 'Select the previous study',
    keyOpen: 'Open the selected study',
  },
  zh: {
    title: '工作列表',
    loading: '加载中…',
    count: (n: number) => `${n} 个检查`,
    updated: (time: string) => `更新于 ${time}`,
    unavailable: (detail: string) => `工作列表暂不可用（${detail}），正在重试…`,
    empty: '暂无检查。将影像发送到 POST /dicomweb/studies（STOW-RS）后会显示在这里。',
    emptyFiltered: '没有符合筛选条件的检查。',
    colPriority: '优先级',
    colStatus: '状态',
    colPatient: '患者 / 检查',
    colModality: '模态',
    colWaiting: '已等待 / 目标',
    colWhy: '原因',
    colFindings: 'AI 发现（请临床确认）',
    untitled: '未命名检查',
    received: (when: string) => `接收于 ${when}`,
    patientId: (id: string) => `ID ${id}`,
    open: (what: string, priority: string, status: string) => `打开检查 ${what}，优先级 ${priority}，${status}`,
    priorityTitle: (p: string, band: string) => `优先级 ${p}/100（${band}）`,
    analysing: '分析中…',
    noFindings: '无',
    aiAssisted: 'AI 辅助',
    level: (level: string) => `${level}级`,
    breached: '已超时',
    slaTitle: (level: string, target: string, due: string) => `${level}级：应在 ${target} 内阅片（截止 ${due}）`,
    noSla: '—',
    filters: '筛选',
    status: '状态',
    modality: '模态',
    priority: '优先级',
    clear: '清除筛选',
    statuses: (s: StudyStatus) => ({ pending: '等待 AI', ready: '待审阅', reviewed: '已审阅', failed: '失败' })[s],
    bands: (b: PriorityBand) => ({ urgent: '紧急', high: '高', routine: '常规', low: '低' })[b],
    keysHint: 'j/k 或 ↓/↑ 选择 · Enter 打开 · ? 全部快捷键',
    keyDown: '选择下一个检查',
    keyUp: '选择上一个检查',
    keyOpen: '打开所选检查',
  },
});

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

/** "12 min / 10 min", red once the target has passed; recomputed from the clock, not the server. */
export function slaView(sla: Sla | null, waitingSince: string, now: number): HTMLElement {
  const m = msg();
  const since = Date.parse(waitingSince);
  if (!sla || Number.isNaN(since)) return h('span', { class: 'muted' }, m.noSla);
  const due = Date.parse(sla.dueAt);
  const breached = sla.breached || now >= due;
  const target = waitingText(sla.targetMinutes);
  return h(
    'span',
    {
      class: `sla${breached ? ' sla-breached' : ''}`,
      testid: 'sla',
      'data-breached': String(breached),
      'data-level': sla.level,
      title: m.slaTitle(sla.level, target, new Date(due).toLocaleTimeString(intlLocale())),
    },
    h('span', { class: 'sla-time' }, `${waitingText(Math.floor((now - since) / 60_000))} / ${target}`),
    h('span', { class: 'sla-level' }, breached ? `${m.level(sla.level)} · ${m.breached}` : m.level(sla.level)),
  );
}

function row(item: WorklistItem, now: number): HTMLTableRowElement {
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
    ),
    h('td', {}, item.modality ?? '—'),
    h('td', { class: 'col-sla', 'data-sla': '' }, slaView(item.sla, item.waitingSince, now)),
    h('td', { class: 'col-why' }, h('span', { class: 'why-chip', testid: 'why' }, clinical(item.why, item.whyZh))),
    h(
      'td',
      { class: 'col-findings' },
      item.findings.length
        ? item.findings.map(findingChip)
        : h('span', { class: 'muted small' }, item.status === 'pending' ? m.analysing : m.noFindings),
      item.errors.map((e) =>
        h('div', { class: 'error-line', testid: 'study-error', title: e.sopInstanceUid }, h('code', {}, e.code), ' ', e.message),
      ),
    ),
  );
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

export function mountWorklist(root: HTMLElement, ctx: AppContext): () => void {
  const m = msg();
  let filters: WorklistFilters = parseFilters(location.hash);
  rememberFilters(filters);
  restartStudyWalk();
  const seenModalities = new Set<string>([...COMMON_MODALITIES, ...(filters.modality ?? [])]);

  const tbody = h('tbody', {});
  const status = h('span', { class: 'muted small', testid: 'worklist-updated' }, m.loading);
  const banner = h('div', { class: 'banner banner-error', testid: 'worklist-error', role: 'alert', hidden: true });
  const empty = h('div', { class: 'empty', hidden: true, testid: 'worklist-empty' });
  const filterForm = h('form', { class: 'filters', testid: 'filters', 'aria-label': m.filters });

  let items: WorklistItem[] = [];
  let selectedUid: string | undefined;
  let stopped = false;
  const controller = new AbortController();

  // Not a reset button: reset restores the boxes checked when the form was built (from the URL).
  const clearFilters = () => {
    for (const box of filterForm.querySelectorAll<HTMLInputElement>('input[type="checkbox"]')) box.checked = false;
    applyFilters();
  };

  const renderFilters = () => {
    replaceChildren(
      filterForm,
      checkboxGroup(m.status, 'status', STATUSES, (s) => m.statuses(s), filters.status),
      checkboxGroup(m.priority, 'priority', BANDS, (b) => m.bands(b), filters.priority),
      checkboxGroup(m.modality, 'modality', [...seenModalities].sort(), (x) => x, filters.modality),
      h('button', { type: 'button', class: 'link', testid: 'filter-clear', onclick: clearFilters }, m.clear),
    );
  };

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
    const now = Date.now();
    const hadFocus = tbody.contains(document.activeElement);
    replaceChildren(tbody, items.map((item) => row(item, now)));
    const filtered = Boolean(filters.status || filters.modality || filters.priority);
    empty.hidden = items.length > 0;
    empty.textContent = filtered ? m.emptyFiltered : m.empty;
    if (!items.some((i) => i.studyInstanceUid === selectedUid)) selectedUid = items[0]?.studyInstanceUid;
    select(selectedUid, hadFocus);
  };

  const tickClocks = () => {
    const now = Date.now();
    for (const tr of rows()) {
      const item = items.find((i) => i.studyInstanceUid === tr.dataset.studyUid);
      const cell = tr.querySelector<HTMLElement>('[data-sla]');
      if (item && cell) replaceChildren(cell, slaView(item.sla, item.waitingSince, now));
    }
  };

  let inFlight: AbortController | undefined;
  const load = async () => {
    inFlight?.abort();
    const request = new AbortController();
    inFlight = request;
    controller.signal.addEventListener('abort', () => request.abort(), { once: true });
    try {
      const next = await getWorklist(request.signal, filters);
      if (stopped || request !== inFlight) return;
      banner.hidden = true;
      let newModality = false;
      for (const item of next) {
        if (item.modality && !seenModalities.has(item.modality)) {
          seenModalities.add(item.modality);
          newModality = true;
        }
      }
      if (newModality) renderFilters();
      if (JSON.stringify(next) !== JSON.stringify(items) || tbody.childElementCount === 0) {
        items = next;
        render();
      }
      status.textContent = `${m.count(items.length)} · ${m.updated(new Date().toLocaleTimeString(intlLocale()))}`;
    } catch (err) {
      if (stopped || request.signal.aborted) return;
      banner.hidden = false;
      banner.textContent = m.unavailable(err instanceof ApiError ? `${err.code}: ${err.message}` : String(err));
    }
  };

  const reloadSoon = debounced(() => void load(), DEBOUNCE_MS);

  const applyFilters = () => {
    const data = new FormData(filterForm);
    const pick = <T extends string>(name: string) => {
      const values = data.getAll(name).map(String) as T[];
      return values.length ? values : undefined;
    };
    filters = { status: pick<StudyStatus>('status'), modality: pick<string>('modality'), priority: pick<PriorityBand>('priority') };
    rememberFilters(filters);
    // replaceState: a filter change is not a new screen, and must not re-mount this one.
    history.replaceState(null, '', worklistHash(filters));
    void load();
  };
  filterForm.addEventListener('change', applyFilters);
  filterForm.addEventListener('submit', (e) => e.preventDefault());

  const open = (uid: string | undefined) => {
    if (uid) ctx.navigate(`#/study/${encodeURIComponent(uid)}`);
  };
  tbody.addEventListener('click', (e) => {
    const tr = (e.target as HTMLElement).closest<HTMLTableRowElement>('tr[data-study-uid]');
    if (tr) open(tr.dataset.studyUid);
  });
  const move = (by: number) => {
    if (!items.length) return;
    const at = items.findIndex((i) => i.studyInstanceUid === selectedUid);
    const next = Math.min(items.length - 1, Math.max(0, at + by));
    select(items[next].studyInstanceUid, true);
  };

  renderFilters();
  replaceChildren(
    root,
    h('div', { class: 'screen-head' }, h('h1', {}, m.title), status, h('span', { class: 'head-tools' }, h('span', { class: 'muted small' }, m.keysHint), helpButton())),
    filterForm,
    banner,
    h(
      'table',
      { class: 'grid worklist', testid: 'worklist' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          [m.colPriority, m.colStatus, m.colPatient, m.colModality, m.colWaiting, m.colWhy, m.colFindings].map((t) => h('th', { scope: 'col' }, t)),
        ),
      ),
      tbody,
    ),
    empty,
  );

  const popKeys = pushKeymap({
    title: () => m.title,
    shortcuts: [
      { keys: ['j', 'ArrowDown'], description: () => m.keyDown, run: () => move(1) },
      { keys: ['k', 'ArrowUp'], description: () => m.keyUp, run: () => move(-1) },
      { keys: ['Enter'], description: () => m.keyOpen, run: () => open(selectedUid) },
    ],
  });
  const unsubscribe = subscribeToEvents(reloadSoon);
  const clock = setInterval(tickClocks, SLA_TICK_MS);
  void load();

  return () => {
    stopped = true;
    controller.abort();
    reloadSoon.cancel();
    clearInterval(clock);
    unsubscribe();
    popKeys();
  };
}
