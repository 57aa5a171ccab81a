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

/** A clock against a target: when it started, the target, when it is due, and whether the server already calls it late. */
export interface ClockTarget {
  since: string;
  targetMinutes: number;
  dueAt: string;
  breached: boolean;
}

/**
 * "12 min / 10 min" and a label under it, red once the target has passed: the worklist's
 * reading clock and the consultation's answer clock. `now` is the local clock, or the moment
 * the clock stopped (an answered case).
 */
export function waitingClock(clock: ClockTarget, now: number, words: { label(breached: boolean): string; title(target: string, due: string): string }, attrs: Record<string, string> = {}): HTMLElement {
  const since = Date.parse(clock.since);
  if (Number.isNaN(since)) return h('span', { class: 'muted' }, msg().noSla);
  const due = Date.parse(clock.dueAt);
  const breached = clock.breached || now >= due;
  const target = waitingText(clock.targetMinutes);
  return h(
    'span',
    { ...attrs, class: `sla${breached ? ' sla-breached' : ''}`, testid: 'sla', 'data-breached': String(breached), title: words.title(target, new Date(due).toLocaleTimeString(intlLocale())) },
    h('span', { class: 'sla-time' }, `${waitingText(Math.floor((now - since) / 60_000))} / ${target}`),
    h('span', { class: 'sla-level' }, words.label(breached)),
  );
}

/** "12 min / 10 min", red once the target has passed. */
export function slaView(sla: Sla | null, waitingSince: string, now: number): HTMLElement {
  const m = msg();
  if (!sla) return h('span', { class: 'muted' }, m.noSla);
  return waitingClock({ ...sla, since: waitingSince }, now, {
    label: (breached) => (breached ? `${m.level(sla.level)} · ${m.breached}` : m.level(sla.level)),
    title: (target, due) => m.slaTitle(sla.level, target, due),
  }, { 'data-level': sla.level });
}
