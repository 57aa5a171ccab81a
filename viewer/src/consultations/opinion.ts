/**
 * The consultant's structured opinion: impression, recommendation (refer 转诊, treat locally
 * 本地治疗, repeat the film 重新拍片, further tests 进一步检查, follow-up 随访), urgency and free
 * text — the form that sends it, and how it reads once given. The server records the
 * authenticated consultant as its author; a second answer is refused (409) and shown.
 */
import { h } from '../dom.ts';
import { errorText } from '../error-text.ts';
import { dateTime } from '../format.ts';
import { answerConsultation, type Consultation, type ConsultationRecommendation, type ConsultationUrgency } from './api.ts';
import { urgencyChip } from './case-parts.ts';
import { msg, RECOMMENDATIONS, URGENCIES } from './messages.ts';

export interface OpinionForm {
  element: HTMLFormElement;
  /** The case's own urgency, until the consultant picks another. */
  defaultUrgency(urgency: ConsultationUrgency): void;
}

/** `answered` takes the case as the server returns it with the opinion. */
export function createOpinionForm(caseId: string, answered: (c: Consultation) => void): OpinionForm {
  const m = msg();
  const field = (id: string, text: string, control: HTMLElement) => [h('label', { for: id }, text), control];
  const impression = h('textarea', { id: 'opinion-impression', testid: 'opinion-impression', rows: 3, maxlength: 2000, required: true });
  const recommendation = h('select', { id: 'opinion-recommendation', testid: 'opinion-recommendation' },
    RECOMMENDATIONS.map((r) => h('option', { value: r }, m.recommendation(r))));
  const urgency = h('select', { id: 'opinion-urgency', testid: 'opinion-urgency' }, URGENCIES.map((u) => h('option', { value: u }, m.urgency(u))));
  const text = h('textarea', { id: 'opinion-text', testid: 'opinion-text', rows: 4, maxlength: 8000 });
  const error = h('p', { class: 'error', role: 'alert', hidden: true, testid: 'opinion-error' });
  const submit = h('button', { type: 'submit', class: 'primary', testid: 'opinion-submit' }, m.submitOpinion);
  let urgencyTouched = false;
  urgency.addEventListener('change', () => { urgencyTouched = true; });

  const element = h(
    'form',
    { class: 'opinion-form', testid: 'opinion-form', novalidate: true },
    h('h2', {}, m.opinion),
    field('opinion-impression', m.impression, impression),
    field('opinion-recommendation', m.recommendationLabel, recommendation),
    field('opinion-urgency', m.urgencyOfOpinion, urgency),
    field('opinion-text', m.freeText, text),
    error,
    h('div', { class: 'row-actions' }, submit),
  );
  element.addEventListener('submit', (e) => {
    e.preventDefault();
    error.hidden = true;
    if (!impression.value.trim()) {
      error.textContent = m.impressionNeeded;
      error.hidden = false;
      impression.focus();
      return;
    }
    submit.disabled = true;
    const free = text.value.trim();
    answerConsultation(caseId, {
      impression: impression.value.trim(),
      recommendation: recommendation.value as ConsultationRecommendation,
      urgency: urgency.value as ConsultationUrgency,
      ...(free ? { text: free } : {}),
    }).then(answered, (err: unknown) => {
      submit.disabled = false;
      error.textContent = m.failed(errorText(err));
      error.hidden = false;
    });
  });
  return {
    element,
    defaultUrgency(value) {
      if (!urgencyTouched) urgency.value = value;
    },
  };
}

/** The opinion as given: recommendation and urgency first (what to do), then the impression and the advice. */
export function opinionView(opinion: NonNullable<Consultation['opinion']>): HTMLElement {
  const m = msg();
  return h(
    'section',
    { class: 'case-opinion', testid: 'case-opinion', 'data-recommendation': opinion.recommendation },
    h('h2', {}, m.opinion),
    h('p', { class: 'case-recommendation' }, h('strong', { testid: 'opinion-recommendation-text' }, m.recommendation(opinion.recommendation)), ' ', urgencyChip(opinion)),
    h('h3', {}, m.impression),
    h('p', { class: 'case-impression', testid: 'opinion-impression-text' }, opinion.impression),
    opinion.text ? [h('h3', {}, m.freeTextShown), h('p', { class: 'case-advice', testid: 'opinion-advice' }, opinion.text)] : null,
    h('p', { class: 'muted small', testid: 'opinion-answered-by' }, m.answeredBy(opinion.answeredBy, dateTime(opinion.answeredAt))),
  );
}
