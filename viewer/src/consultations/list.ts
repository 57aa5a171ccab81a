/**
 * The "Consultations" screen (`#/consultations`): two boxes. The queue holds the cases other
 * sites ask the user's sites, in the server's order (triage level, then the answer clock),
 * each with its level, urgency, asking site, question and clock; "asked" holds the cases the
 * user's sites asked, with their status and, once answered, the opinion's gist. Both follow
 * the server's consultation events (and its polling fallback); the clocks tick locally.
 * Each case is a link, so Tab and Enter reach it as well as a click.
 */
import { ApiError, getSites, subscribeToConsultationEvents } from '../api.ts';
import { debounced } from '../debounce.ts';
import { h, replaceChildren } from '../dom.ts';
import { intlLocale } from '../i18n.ts';
import type { AppContext } from '../main.ts';
import { SLA_TICK_MS } from '../worklist/sla-clock.ts';
import { listConsultations, type Consultation, type ConsultationBox } from './api.ts';
import { caseClock, excerpt, levelBadge, siteName, statusChip, urgencyChip, type SiteNames } from './case-parts.ts';
import { msg } from './messages.ts';

/** Bursts of events (asked, then opened at once) become one re-fetch. */
const DEBOUNCE_MS = 200;

function caseLink(c: Consultation, box: ConsultationBox, sites: SiteNames, now: number): HTMLElement {
  const m = msg();
  const otherSite = box === 'queue' ? m.from(siteName(sites, c.fromSiteId)) : m.to(siteName(sites, c.toSiteId));
  return h(
    'li',
    {},
    h(
      'a',
      {
        class: `case-row case-${c.status}`,
        href: `#/consultations/${encodeURIComponent(c.id)}`,
        testid: 'consultation-row',
        'data-id': c.id,
        'data-status': c.status,
        'aria-label': m.open(`${m.about(c.subject.kind)}, ${otherSite}, ${m.status(c.status)}: ${excerpt(c.question, 80)}`),
      },
      levelBadge(c),
      h(
        'span',
        { class: 'case-main' },
        h('span', { class: 'case-line' }, urgencyChip(c), statusChip(c), h('span', { class: 'case-site', testid: 'case-site' }, otherSite), h('span', { class: 'muted small' }, m.about(c.subject.kind))),
        h('span', { class: 'case-question', testid: 'case-question' }, excerpt(c.question)),
        c.opinion
          ? h('span', { class: 'case-opinion', testid: 'opinion-summary', 'data-recommendation': c.opinion.recommendation },
            h('strong', {}, m.recommendation(c.opinion.recommendation)), ` · ${excerpt(c.opinion.impression, 100)}`)
          : c.origin !== 'asked' ? h('span', { class: 'muted small' }, m.origin(c.origin)) : null,
      ),
      h('span', { class: 'case-clock', 'data-clock': '' }, caseClock(c, now)),
    ),
  );
}

interface Box {
  element: HTMLElement;
  items: Consultation[];
  render(sites: SiteNames): void;
  tick(): void;
}

function createBox(box: ConsultationBox): Box {
  const m = msg();
  const list = h('ol', { class: 'case-list', testid: `box-${box}-list` });
  const empty = h('p', { class: 'empty', hidden: true }, box === 'queue' ? m.emptyQueue : m.emptyAsked);
  const count = h('span', { class: 'muted small', testid: `box-${box}-count` });
  const title = box === 'queue' ? m.queue : m.asked;
  const element = h(
    'section',
    { class: 'case-box', testid: `box-${box}`, 'aria-label': title },
    h('div', { class: 'case-box-head' }, h('h2', {}, title), count),
    h('p', { class: 'muted small' }, box === 'queue' ? m.queueNote : m.askedNote),
    list,
    empty,
  );
  let sites: SiteNames = new Map();
  const self: Box = {
    element,
    items: [],
    render(names) {
      sites = names;
      const hadFocus = list.contains(document.activeElement) ? (document.activeElement as HTMLElement).dataset.id : undefined;
      const now = Date.now();
      replaceChildren(list, self.items.map((c) => caseLink(c, box, sites, now)));
      empty.hidden = self.items.length > 0;
      count.textContent = m.count(self.items.length);
      // A live re-render keeps a keyboard user on the case they were on.
      if (hadFocus) list.querySelector<HTMLElement>(`[data-id="${CSS.escape(hadFocus)}"]`)?.focus();
    },
    tick() {
      const now = Date.now();
      for (const c of self.items) {
        const cell = list.querySelector<HTMLElement>(`[data-id="${CSS.escape(c.id)}"] [data-clock]`);
        if (cell) replaceChildren(cell, caseClock(c, now));
      }
    },
  };
  return self;
}

export function mountConsultations(root: HTMLElement, _ctx: AppContext): () => void {
  const m = msg();
  let stopped = false;
  let sites: SiteNames = new Map();
  const boxes = { queue: createBox('queue'), asked: createBox('asked') };
  const status = h('span', { class: 'muted small', testid: 'consultations-updated' }, m.loading);
  const banner = h('div', { class: 'banner banner-error', role: 'alert', hidden: true, testid: 'consultations-error' });
  let inFlight: AbortController | undefined;

  /** One request pair at a time: a newer one aborts the older, so an old answer never overwrites a newer one. */
  const load = async () => {
    inFlight?.abort();
    const request = new AbortController();
    inFlight = request;
    try {
      const [queue, asked] = await Promise.all([listConsultations('queue', request.signal), listConsultations('asked', request.signal)]);
      if (stopped || request !== inFlight) return;
      banner.hidden = true;
      boxes.queue.items = queue;
      boxes.asked.items = asked;
      boxes.queue.render(sites);
      boxes.asked.render(sites);
      status.textContent = m.updated(new Date().toLocaleTimeString(intlLocale()));
    } catch (err) {
      if (stopped || request.signal.aborted) return;
      banner.hidden = false;
      banner.textContent = m.unavailable(err instanceof ApiError ? `${err.code}: ${err.message}` : String(err));
    }
  };
  const reloadSoon = debounced(() => void load(), DEBOUNCE_MS);

  replaceChildren(
    root,
    h('div', { class: 'screen-head' }, h('h1', {}, m.title), status),
    banner,
    h('div', { class: 'case-boxes' }, boxes.queue.element, boxes.asked.element),
  );

  const unsubscribe = subscribeToConsultationEvents(reloadSoon);
  const clock = setInterval(() => {
    boxes.queue.tick();
    boxes.asked.tick();
  }, SLA_TICK_MS);
  // Names are nice to have: without them a case shows its sites' ids.
  void getSites().then((all) => { sites = new Map(all.map((s) => [s.id, s])); }, () => undefined).then(load);

  return () => {
    stopped = true;
    inFlight?.abort();
    reloadSoon.cancel();
    clearInterval(clock);
    unsubscribe();
  };
}
