/**
 * One consultation case (`#/consultations/<id>`): what it is about on the left — a study in
 * the very study view the reader uses (image, AI findings, heatmap), an assessment drawn as
 * the hints screen draws its answer, or a patient's home vital signs — and the case beside
 * it: who asked what of whom, how urgent, the answer clock, and the opinion.
 *
 * A consultant of the answering site opens the case by viewing it (`POST …/open`, once) and
 * answers with the opinion form; the asker sees the opinion arrive live (consultation events).
 * Live refreshes redraw the case's facts only: the subject stays mounted and the opinion
 * form keeps what the consultant has typed.
 */
import { getModels, getSites, subscribeToConsultationEvents } from '../api.ts';
import { debounced } from '../debounce.ts';
import { h, replaceChildren } from '../dom.ts';
import { errorText } from '../error-text.ts';
import { deriveFields } from '../hints/fields.ts';
import { renderResult } from '../hints/result.ts';
import { dateTime } from '../format.ts';
import { locale } from '../i18n.ts';
import type { AppContext } from '../main.ts';
import { mountStudy } from '../study.ts';
import { SLA_TICK_MS } from '../worklist/sla-clock.ts';
import { consultationReportUrl, getConsultation, openConsultation, withdrawConsultation, type Consultation } from './api.ts';
import { caseClock, levelBadge, siteName, sides, statusChip, urgencyChip, type SiteNames } from './case-parts.ts';
import { msg } from './messages.ts';
import { createOpinionForm, opinionView } from './opinion.ts';

const DEBOUNCE_MS = 200;

/** A case only moves forward: an answer that arrives late with an earlier status is stale and not drawn. */
const STATUS_ORDER: Record<Consultation['status'], number> = { open: 0, 'in-review': 1, answered: 2, withdrawn: 2 };

/** The patient a vitals or assessment case names (a Patient ID travels in bodies, never in a URL). */
function patientLine(patientId: string): HTMLElement {
  return h('p', { testid: 'case-patient' }, msg().patient(patientId));
}

/** A vitals case: the patient, linked to their vital signs over time (`#/patients/<key>`). */
function vitalsPatient(patientId: string, key: string | undefined): HTMLElement {
  return key ? h('p', { testid: 'case-patient' }, h('a', { href: `#/patients/${key}`, testid: 'case-patient-link' }, msg().patientTrend(patientId))) : patientLine(patientId);
}

/** Mounts what the case is about into `host`; returns its cleanup. */
function mountSubject(host: HTMLElement, ctx: AppContext, c: Consultation): () => void {
  const m = msg();
  const subject = c.subject;
  if (subject.kind === 'study') return mountStudy(host, ctx, subject.studyInstanceUid, { offerConsultation: false });
  if (subject.kind === 'vitals') {
    replaceChildren(host, h('section', { class: 'case-subject-card' }, h('h2', {}, m.about('vitals')), vitalsPatient(subject.patientId, c.patientKey)));
    return () => {};
  }
  // An assessment: the answer the asker saw, drawn as the hints screen draws it.
  let gone = false;
  const result = h('section', { class: 'hint-result case-assessment', testid: 'case-assessment' }, h('h2', {}, m.about('assessment')));
  replaceChildren(host, result);
  if (subject.patientId) result.append(patientLine(subject.patientId));
  getModels().then(
    (models) => {
      if (!gone) result.append(...renderResult(subject.answer, models, deriveFields(models), []));
    },
    (err: unknown) => {
      if (!gone) result.append(h('p', { class: 'error' }, errorText(err)));
    },
  );
  return () => {
    gone = true;
  };
}

/** The case's facts: sites, question, urgency, clock, timeline. Re-drawn on every change and clock tick. */
function caseFacts(c: Consultation, sites: SiteNames): HTMLElement {
  const m = msg();
  const fact = (term: string, ...value: (Node | string)[]) => [h('dt', {}, term), h('dd', {}, ...value)];
  return h(
    'div',
    { class: 'case-facts' },
    h('p', { class: 'muted small', testid: 'case-asked-by' }, m.askedBy(c.askedBy, siteName(sites, c.fromSiteId), dateTime(c.askedAt))),
    c.origin !== 'asked' ? h('p', { class: 'muted small' }, m.origin(c.origin)) : null,
    h('blockquote', { class: 'case-question-full', testid: 'case-question' }, c.question),
    h(
      'dl',
      { class: 'case-dl' },
      fact(m.askingSite, siteName(sites, c.fromSiteId)),
      fact(m.answeringSite, siteName(sites, c.toSiteId)),
      fact(m.urgencyIs, urgencyChip(c)),
      fact(m.statusIs, statusChip(c)),
      fact(m.clock, h('span', { 'data-clock': '' }, caseClock(c, Date.now()))),
    ),
    c.openedBy && c.openedAt ? h('p', { class: 'muted small', testid: 'case-opened-by' }, m.openedBy(c.openedBy, dateTime(c.openedAt))) : null,
    c.withdrawnBy && c.withdrawnAt ? h('p', { class: 'muted small', testid: 'case-withdrawn-by' }, m.withdrawnBy(c.withdrawnBy, dateTime(c.withdrawnAt))) : null,
  );
}

export function mountConsultationCase(root: HTMLElement, ctx: AppContext, id: string): () => void {
  const m = msg();
  const controller = new AbortController();
  let destroyed = false;
  let current: Consultation | undefined;
  let sites: SiteNames = new Map();
  let unmountSubject = () => {};

  const head = h('div', { class: 'case-head' });
  const facts = h('div', {});
  const opinionArea = h('div', { class: 'case-opinion-area', 'aria-live': 'polite' });
  const actions = h('div', { class: 'row-actions case-actions' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true, testid: 'case-error' });
  const panel = h('aside', { class: 'case-panel', testid: 'case-panel', 'aria-label': m.caseTitle }, facts, opinionArea, error, actions);
  const subject = h('div', { class: 'case-subject' });
  const form = createOpinionForm(id, (answered) => show(answered));

  const fail = (err: unknown) => {
    error.textContent = errorText(err);
    error.hidden = false;
  };

  /** Draws `c`; the subject is mounted once, the opinion form kept while the case waits for it. */
  function show(c: Consultation): void {
    if (destroyed || (current && STATUS_ORDER[c.status] < STATUS_ORDER[current.status])) return;
    const first = !current;
    current = c;
    const side = sides(ctx.user(), c);
    replaceChildren(
      head,
      h('a', { href: '#/consultations', class: 'back', testid: 'case-back' }, m.back),
      h('div', { class: 'case-title' }, levelBadge(c), h('h1', {}, `${m.caseTitle} · ${m.about(c.subject.kind)}`), urgencyChip(c), statusChip(c)),
      h('a', { class: 'button-link', href: consultationReportUrl(c.id, locale()), target: '_blank', rel: 'noopener', testid: 'case-report' }, m.report),
    );
    replaceChildren(facts, caseFacts(c, sites));
    if (c.opinion) replaceChildren(opinionArea, opinionView(c.opinion));
    else if (side.answers && c.status !== 'withdrawn') {
      if (!opinionArea.contains(form.element)) replaceChildren(opinionArea, form.element);
      form.defaultUrgency(c.urgency);
    } else replaceChildren(opinionArea, h('p', { class: 'muted', testid: 'waiting-answer' }, c.status === 'withdrawn' ? m.status('withdrawn') : m.waitingForAnswer));
    replaceChildren(
      actions,
      side.asks && (c.status === 'open' || c.status === 'in-review')
        ? h('button', { type: 'button', testid: 'case-withdraw', onclick: () => void withdrawConsultation(c.id).then(show, fail) }, m.withdraw)
        : null,
    );
    if (first) {
      unmountSubject = mountSubject(subject, ctx, c);
      // Viewing the case is taking it: the first consultant of the answering site opens it.
      if (side.answers && c.status === 'open') openConsultation(c.id).then(show, fail);
    }
  }

  const refresh = async () => {
    try {
      show(await getConsultation(id, controller.signal));
    } catch (err) {
      if (!destroyed && !controller.signal.aborted) (current ? fail : showLoadFailure)(err);
    }
  };
  const showLoadFailure = (err: unknown) => replaceChildren(root, h('a', { href: '#/consultations', class: 'back' }, m.back), h('div', { class: 'banner banner-error', role: 'alert', testid: 'case-load-error' }, m.loadFailed(errorText(err))));
  const refreshSoon = debounced(() => void refresh(), DEBOUNCE_MS);

  replaceChildren(root, h('div', { class: 'consultation-case', testid: 'consultation-case' }, head, h('div', { class: 'case-layout' }, subject, panel)));
  const unsubscribe = subscribeToConsultationEvents((u) => {
    if (u.type === 'poll' || u.id === id) refreshSoon();
  });
  const clock = setInterval(() => current && !destroyed && replaceChildren(facts, caseFacts(current, sites)), SLA_TICK_MS);
  void getSites().then((all) => { sites = new Map(all.map((s) => [s.id, s])); }, () => undefined).then(refresh);

  return () => {
    destroyed = true;
    controller.abort();
    refreshSoon.cancel();
    clearInterval(clock);
    unsubscribe();
    unmountSubject();
  };
}
