/**
 * Audit trail: the append-only, hash-chained record of what happened (ingest, AI
 * findings, reviews), newest first, and a button that asks the server to replay the
 * chain and say whether any record was altered.
 */
import { getAudit, verifyAudit, type AuditRecord } from './api.ts';
import { h, replaceChildren } from './dom.ts';
import { errorText } from './error-text.ts';
import { dateTime, hashPrefix } from './format.ts';
import { defineMessages } from './i18n.ts';
import type { AppContext } from './main.ts';

const PAGE = 100;

const msg = defineMessages({
  en: {
    title: 'Audit trail',
    intro: 'Every record is chained to the previous one by SHA-256; verification replays the whole chain on the server.',
    verify: 'Verify chain',
    refresh: 'Refresh',
    older: 'Load older records',
    seq: 'Seq',
    at: 'At',
    actor: 'Actor',
    action: 'Action',
    entity: 'Entity',
    payload: 'Payload',
    hash: 'Hash',
    empty: 'No audit records yet.',
    unavailable: (why: string) => `Audit trail unavailable — ${why}`,
    verifying: 'Verifying…',
    intact: (checked: number) => `✓ Chain intact — ${checked} records checked`,
    broken: (seq: string, checked: number) => `✗ Chain BROKEN at seq ${seq} — ${checked} records checked`,
    failed: (why: string) => `Verification failed to run — ${why}`,
  },
  zh: {
    title: '审计记录',
    intro: '每条记录都以 SHA-256 与上一条相连；校验会在服务器上重放整条链。',
    verify: '校验链',
    refresh: '刷新',
    older: '加载更早的记录',
    seq: '序号',
    at: '时间',
    actor: '操作者',
    action: '操作',
    entity: '对象',
    payload: '内容',
    hash: '哈希',
    empty: '暂无审计记录。',
    unavailable: (why: string) => `无法获取审计记录 — ${why}`,
    verifying: '正在校验…',
    intact: (checked: number) => `✓ 链完整 — 已校验 ${checked} 条记录`,
    broken: (seq: string, checked: number) => `✗ 链在序号 ${seq} 处被篡改 — 已校验 ${checked} 条记录`,
    failed: (why: string) => `校验未能运行 — ${why}`,
  },
});


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
  const m = msg();
  const tbody = h('tbody', {});
  const banner = h('div', { class: 'banner banner-error', hidden: true, testid: 'audit-error' });
  const verifyResult = h('span', { class: 'verify-result', testid: 'verify-result', 'aria-live': 'polite' });
  const verifyButton = h('button', { type: 'button', class: 'primary', testid: 'verify' }, m.verify);
  const refreshButton = h('button', { type: 'button', testid: 'audit-refresh' }, m.refresh);
  const olderButton = h('button', { type: 'button', testid: 'audit-older', hidden: true }, m.older);
  let oldestSeq: number | undefined;
  let destroyed = false;

  replaceChildren(
    root,
    h(
      'div',
      { class: 'screen-head' },
      h('h1', {}, m.title),
      h('div', { class: 'row-actions' }, refreshButton, verifyButton, verifyResult),
    ),
    h('p', { class: 'muted small' }, m.intro),
    banner,
    h(
      'table',
      { class: 'grid audit', testid: 'audit' },
      h('thead', {}, h('tr', {}, [m.seq, m.at, m.actor, m.action, m.entity, m.payload, m.hash].map((t) => h('th', {}, t)))),
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
        tbody.appendChild(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, m.empty)));
      }
    } catch (err) {
      if (destroyed) return;
      banner.hidden = false;
      banner.textContent = m.unavailable(errorText(err));
    }
  };

  refreshButton.addEventListener('click', () => void load());
  olderButton.addEventListener('click', () => void load(oldestSeq));
  verifyButton.addEventListener('click', async () => {
    verifyButton.disabled = true;
    verifyResult.className = 'verify-result';
    verifyResult.textContent = m.verifying;
    delete verifyResult.dataset.intact;
    try {
      const v = await verifyAudit();
      if (destroyed) return;
      verifyResult.dataset.intact = String(v.intact);
      verifyResult.classList.add(v.intact ? 'ok' : 'broken');
      verifyResult.textContent = v.intact ? m.intact(v.checked) : m.broken(String(v.firstBrokenSeq ?? '?'), v.checked);
    } catch (err) {
      verifyResult.classList.add('broken');
      verifyResult.textContent = m.failed(errorText(err));
    } finally {
      verifyButton.disabled = false;
    }
  });
  void load();

  return () => {
    destroyed = true;
  };
}
