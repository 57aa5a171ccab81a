/**
 * Audit trail: the append-only, hash-chained record of what happened (ingest, AI
 * findings, reviews), newest first, and a button that asks the server to replay the
 * chain and say whether any record was altered.
 */
import { ApiError, getAudit, verifyAudit, type AuditRecord } from './api.ts';
import { h, replaceChildren } from './dom.ts';
import { dateTime, hashPrefix } from './format.ts';
import type { AppContext } from './main.ts';

const PAGE = 100;

function errorText(err: unknown): string {
  return err instanceof ApiError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
}

/** One line of `key=value` pairs; the full JSON sits in the cell's title. */
function payloadSummary(payload: unknown): string {
  if (payload === null || payload === undefined) return '—';
  if (typeof payload !== 'object') return String(payload);
  const parts = Object.entries(payload as Record<string, unknown>).map(([k, v]) => {
    const value = v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v);
    return `${k}=${value.length > 40 ? `${value.slice(0, 39)}…` : value}`;
  });
  const line = parts.join(' · ');
  return line.length > 160 ? `${line.slice(0, 159)}…` : line || '—';
}

function shortId(id: string): string {
  return id.length > 24 ? `…${id.slice(-20)}` : id;
}

function auditRow(r: AuditRecord): HTMLTableRowElement {
  return h(
    'tr',
    { testid: 'audit-row', 'data-seq': r.seq, 'data-action': r.action, 'data-actor': r.actor },
    h('td', { class: 'num' }, String(r.seq)),
    h('td', { class: 'nowrap' }, h('time', { datetime: r.at }, dateTime(r.at))),
    h('td', { testid: 'audit-actor' }, r.actor),
    h('td', { testid: 'audit-action' }, h('code', {}, r.action)),
    h('td', { title: `${r.entityType} ${r.entityId}` }, r.entityType, h('div', { class: 'muted small' }, shortId(r.entityId))),
    h('td', { class: 'payload', title: JSON.stringify(r.payload, null, 2) }, payloadSummary(r.payload)),
    h('td', {}, h('code', { title: `hash ${r.hash}\nprev ${r.prevHash}` }, hashPrefix(r.hash))),
  );
}

export function mountAudit(root: HTMLElement, _ctx: AppContext): () => void {
  const tbody = h('tbody', {});
  const banner = h('div', { class: 'banner banner-error', hidden: true, testid: 'audit-error' });
  const verifyResult = h('span', { class: 'verify-result', testid: 'verify-result', 'aria-live': 'polite' });
  const verifyButton = h('button', { type: 'button', class: 'primary', testid: 'verify' }, 'Verify chain');
  const refreshButton = h('button', { type: 'button', testid: 'audit-refresh' }, 'Refresh');
  const olderButton = h('button', { type: 'button', testid: 'audit-older', hidden: true }, 'Load older records');
  let oldestSeq: number | undefined;
  let destroyed = false;

  replaceChildren(
    root,
    h(
      'div',
      { class: 'screen-head' },
      h('h1', {}, 'Audit trail'),
      h('div', { class: 'row-actions' }, refreshButton, verifyButton, verifyResult),
    ),
    h('p', { class: 'muted small' }, 'Every record is chained to the previous one by SHA-256; verification replays the whole chain on the server.'),
    banner,
    h(
      'table',
      { class: 'grid audit', testid: 'audit' },
      h('thead', {}, h('tr', {}, ['Seq', 'At', 'Actor', 'Action', 'Entity', 'Payload', 'Hash'].map((t) => h('th', {}, t)))),
      tbody,
    ),
    olderButton,
  );

  const load = async (before?: number) => {
    try {
      const items = await getAudit({ limit: PAGE, before });
      if (destroyed) return;
      banner.hidden = true;
      if (before === undefined) tbody.replaceChildren();
      for (const r of items) tbody.appendChild(auditRow(r));
      if (items.length) oldestSeq = items[items.length - 1].seq;
      olderButton.hidden = items.length < PAGE || oldestSeq === undefined || oldestSeq <= 1;
      if (before === undefined && !items.length) {
        tbody.appendChild(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No audit records yet.')));
      }
    } catch (err) {
      if (destroyed) return;
      banner.hidden = false;
      banner.textContent = `Audit trail unavailable — ${errorText(err)}`;
    }
  };

  refreshButton.addEventListener('click', () => void load());
  olderButton.addEventListener('click', () => void load(oldestSeq));
  verifyButton.addEventListener('click', async () => {
    verifyButton.disabled = true;
    verifyResult.className = 'verify-result';
    verifyResult.textContent = 'Verifying…';
    delete verifyResult.dataset.intact;
    try {
      const v = await verifyAudit();
      if (destroyed) return;
      verifyResult.dataset.intact = String(v.intact);
      verifyResult.classList.add(v.intact ? 'ok' : 'broken');
      verifyResult.textContent = v.intact
        ? `✓ Chain intact — ${v.checked} records checked`
        : `✗ Chain BROKEN at seq ${v.firstBrokenSeq ?? '?'} — ${v.checked} records checked`;
    } catch (err) {
      verifyResult.classList.add('broken');
      verifyResult.textContent = `Verification failed to run — ${errorText(err)}`;
    } finally {
      verifyButton.disabled = false;
    }
  });
  void load();

  return () => {
    destroyed = true;
  };
}
