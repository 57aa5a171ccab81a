/** Small pieces the consultation list and the case share: the triage level badge, urgency and status chips, the answer clock, site names. */
import type { Site, User } from '../api.ts';
import { h } from '../dom.ts';
import { LEVEL_SEVERITY, ROMAN } from '../hints/result.ts';
import { waitingClock } from '../worklist/sla-clock.ts';
import type { Consultation } from './api.ts';
import { msg } from './messages.ts';
import './consultations.css';

/** The triage level as the hints screen draws it (Ⅰ red … Ⅳ green), or a dash when it is not known. */
export function levelBadge(c: Consultation): HTMLElement {
  const m = msg();
  const level = c.triageLevel;
  if (!level) return h('span', { class: 'case-level case-level-none', testid: 'case-level', 'data-level': '', title: m.noLevel }, '—');
  return h('span', { class: `case-level sev-${LEVEL_SEVERITY[level]}`, testid: 'case-level', 'data-level': level, title: m.levelBadge(level), 'aria-label': m.levelBadge(level) }, ROMAN[level]);
}

export function urgencyChip(c: Pick<Consultation, 'urgency'>): HTMLElement {
  return h('span', { class: `case-urgency urgency-${c.urgency}`, testid: 'case-urgency', 'data-urgency': c.urgency }, msg().urgency(c.urgency));
}

export function statusChip(c: Consultation): HTMLElement {
  return h('span', { class: `status case-status case-status-${c.status}`, testid: 'case-status', 'data-status': c.status }, msg().status(c.status));
}

/** The answer clock: running while the case waits, stopped when it was answered or withdrawn. */
export function caseClock(c: Consultation, now: number): HTMLElement {
  const m = msg();
  const stoppedAt = c.opinion?.answeredAt ?? c.withdrawnAt;
  const at = stoppedAt ? Date.parse(stoppedAt) : now;
  return waitingClock({ ...c.sla, since: c.askedAt }, at, {
    label: (breached) => [c.opinion ? m.answeredIn : c.withdrawnAt ? m.status('withdrawn') : m.urgency(c.urgency), breached ? m.overdue : ''].filter(Boolean).join(' · '),
    title: (target, due) => m.answerWithin(target, due),
  });
}

/**
 * Whose side the user is on: answering (the answering site is one of theirs or one they read
 * for — the server's rule for who may answer), asking (the asking site is one of their own), or both.
 */
export function sides(user: User & { readsFor?: string[] }, c: Consultation): { answers: boolean; asks: boolean } {
  return { answers: [...user.sites, ...(user.readsFor ?? [])].includes(c.toSiteId), asks: user.sites.includes(c.fromSiteId) };
}

/** Site names by id, so a case reads "Qingshan township clinic" and not its id. */
export type SiteNames = Map<string, Site>;

export function siteName(sites: SiteNames, id: string): string {
  const site = sites.get(id);
  return site ? `${site.name} (${msg().siteLevel(site.level)})` : id;
}

/** The first `max` characters of a question or an impression, on one line. */
export function excerpt(text: string, max = 140): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
