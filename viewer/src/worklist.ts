/**
 * Worklist: studies in the order the API ranks them (priority first), each with its
 * one-line "why", AI finding chips and any processing failures. Polled every 2 s until
 * the API's live event stream exists.
 */
import { ApiError, getWorklist, type Finding, type WorklistItem } from './api.ts';
import { h, replaceChildren } from './dom.ts';
import { dateTime, dicomDate, findingCall, findingCallText, num, percent, personName, priorityBand } from './format.ts';
import type { AppContext } from './main.ts';

const POLL_MS = 2000;

export function findingChip(f: Finding): HTMLElement {
  const decided = f.review ? (f.review.decision === 'accept' ? ' · accepted' : ' · overridden') : '';
  return h(
    'span',
    {
      class: `chip chip-${findingCall(f)}`,
      testid: 'finding-chip',
      title: `${f.display}: ${percent(f.probability)} (${findingCallText[findingCall(f)].toLowerCase()} at ${f.operatingPoint.name} ≥ ${num(f.operatingPoint.threshold, 3)}). ${f.aiAssisted}`,
    },
    h('span', { class: 'chip-ai', 'aria-label': 'AI-assisted' }, 'AI'),
    `${f.display} ${percent(f.probability)}${decided}`,
  );
}

function row(item: WorklistItem, open: () => void): HTMLTableRowElement {
  const band = priorityBand(item.priority);
  const tr = h(
    'tr',
    {
      class: `row status-${item.status}`,
      testid: 'worklist-row',
      'data-study-uid': item.studyInstanceUid,
      'data-status': item.status,
      tabindex: 0,
      role: 'link',
      'aria-label': `Open study ${item.studyDescription ?? item.studyInstanceUid}`,
    },
    h(
      'td',
      { class: 'col-priority' },
      h('span', { class: `priority priority-${band}`, title: `Priority ${item.priority} of 100 (${band})` }, num(item.priority)),
    ),
    h('td', {}, h('span', { class: `status status-${item.status}`, testid: 'status' }, item.status)),
    h(
      'td',
      {},
      h('div', { class: 'patient' }, personName(item.patientName)),
      h('div', { class: 'muted small' }, item.patientId ? `ID ${item.patientId}` : ''),
    ),
    h(
      'td',
      {},
      h('div', {}, item.studyDescription || 'Untitled study'),
      h('div', { class: 'muted small' }, `${dicomDate(item.studyDate)} · received ${dateTime(item.receivedAt)}`),
    ),
    h('td', {}, item.modality ?? '—'),
    h('td', { class: 'why', testid: 'why' }, item.why),
    h(
      'td',
      { class: 'col-findings' },
      item.findings.length ? item.findings.map(findingChip) : h('span', { class: 'muted small' }, item.status === 'pending' ? 'analysing…' : 'none'),
      item.errors.map((e) =>
        h('div', { class: 'error-line', testid: 'study-error', title: e.sopInstanceUid }, h('code', {}, e.code), ' ', e.message),
      ),
    ),
  );
  tr.addEventListener('click', open);
  tr.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      open();
    }
  });
  return tr;
}

export function mountWorklist(root: HTMLElement, ctx: AppContext): () => void {
  const tbody = h('tbody', {});
  const status = h('span', { class: 'muted small', testid: 'worklist-updated' }, 'loading…');
  const banner = h('div', { class: 'banner banner-error', testid: 'worklist-error', hidden: true });
  const empty = h(
    'div',
    { class: 'empty', hidden: true, testid: 'worklist-empty' },
    'No studies yet. Send images to ',
    h('code', {}, 'POST /dicomweb/studies'),
    ' (STOW-RS) and they appear here.',
  );
  replaceChildren(
    root,
    h('div', { class: 'screen-head' }, h('h1', {}, 'Worklist'), status),
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
          ['Priority', 'Status', 'Patient', 'Study', 'Mod.', 'Why', 'AI findings (confirm clinically)'].map((t) => h('th', {}, t)),
        ),
      ),
      tbody,
    ),
    empty,
  );

  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastJson = '';
  const controller = new AbortController();

  const poll = async () => {
    try {
      const items = await getWorklist(controller.signal);
      if (stopped) return;
      banner.hidden = true;
      const json = JSON.stringify(items);
      if (json !== lastJson) {
        lastJson = json;
        replaceChildren(
          tbody,
          items.map((item) => row(item, () => ctx.navigate(`#/study/${encodeURIComponent(item.studyInstanceUid)}`))),
        );
        empty.hidden = items.length > 0;
      }
      status.textContent = `${items.length} ${items.length === 1 ? 'study' : 'studies'} · updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      if (stopped) return;
      banner.hidden = false;
      banner.textContent =
        err instanceof ApiError ? `Worklist unavailable (${err.code}): ${err.message}. Retrying…` : `Worklist unavailable: ${String(err)}`;
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  };
  void poll();

  return () => {
    stopped = true;
    controller.abort();
    clearTimeout(timer);
  };
}
