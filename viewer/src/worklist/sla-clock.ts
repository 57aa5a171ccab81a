/**
 * The waiting clock against a study's reading target, shown on the worklist and on the
 * study's head. It is recomputed from the local clock, not asked of the server, so it
 * keeps ticking between server changes.
 */
import type { Sla } from '../api.ts';
import { h } from '../dom.ts';
import { intlLocale } from '../i18n.ts';
import { waitingText } from '../reading-text.ts';
import { msg } from './messages.ts';

/** Waiting clocks are in whole minutes: a 30 s tick is never more than half a minute late. */
export const SLA_TICK_MS = 30_000;

/** "12 min / 10 min", red once the target has passed. */
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
