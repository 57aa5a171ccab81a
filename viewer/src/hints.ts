/**
 * Diagnostic hints for a primary-care doctor: one form of vitals and risk factors (with
 * units), one `POST /v1/triage` for every score and risk model whose inputs are filled,
 * and the answer — triage level, scores, risks, reasons, warnings — beside the form on a
 * wide screen and under it on a phone.
 *
 * The form is built from the model cards (hints/fields.ts), so labels, units and ranges
 * are the cards'. What was typed and the last answer live in this module, not the DOM:
 * a language switch re-mounts the screen and the doctor's patient is still there.
 */
import { ApiError, getModels, postTriage, type FieldIssue, type ModelCard, type TriageAnswer } from './api.ts';
import { h, replaceChildren } from './dom.ts';
import { errorText } from './error-text.ts';
import { clinical } from './i18n.ts';
import type { AppContext } from './main.ts';
import { fieldControl, readForm } from './hints/field-control.ts';
import { deriveFields, fieldForIssue, readiness, SECTION_ORDER, triageBody, type FieldValue, type FormField, type Readiness } from './hints/fields.ts';
import { msg, sectionTitle } from './hints/messages.ts';
import { renderResult } from './hints/result.ts';
import { askConsultationButton } from './consultations/ask-dialog.ts';

interface Saved {
  values: Map<string, FieldValue>;
  answer?: TriageAnswer;
  /** What was sent for `answer`: a consultation about it carries both, so the consultant sees what the doctor saw. */
  request?: ReturnType<typeof triageBody>;
}

let saved: Saved = { values: new Map() };

/** The screen's lasting elements, and whether it has been left (late answers then change nothing). */
interface HintsView {
  root: HTMLElement;
  ctx: AppContext;
  banner: HTMLElement;
  result: HTMLElement;
  destroyed(): boolean;
}

function readinessList(states: Readiness[]): HTMLElement[] {
  const m = msg();
  return states.map((r) =>
    h(
      'li',
      { testid: `ready-${r.model.id}`, 'data-ready': String(!r.missing.length), class: r.missing.length ? 'not-ready' : 'ready' },
      h('span', { class: 'ready-mark', 'aria-hidden': 'true' }, r.missing.length ? '○' : '●'),
      // The short name: card titles spell out the acronym in brackets, too long for a checklist line.
      h('span', {}, clinical(r.model.title, r.model.titleZh).replace(/\s*[(（].*$/, '')),
      h('span', { class: 'muted small' }, r.missing.length ? m.needs(r.missing.map((f) => clinical(f.title, f.titleZh)).join(', ')) : m.ready),
    ),
  );
}

function showBanner(view: HintsView, text: string): void {
  view.banner.hidden = false;
  view.banner.textContent = text;
}

/** The form, one fieldset per section, with the values the doctor last typed. */
function hintsForm(fields: FormField[], submit: HTMLButtonElement, clear: HTMLButtonElement): HTMLFormElement {
  const m = msg();
  return h(
    'form',
    { class: 'hints-form', testid: 'hints-form', novalidate: true },
    SECTION_ORDER.map((section) => {
      const inSection = fields.filter((f) => f.section === section);
      if (!inSection.length) return null;
      const hasChecks = inSection.some((f) => f.kind === 'boolean');
      return h(
        'fieldset',
        { class: 'hint-section', 'data-section': section },
        h('legend', {}, sectionTitle(section)),
        h('div', { class: 'hint-grid' }, inSection.map((f) => fieldControl(f, saved.values.get(f.key)))),
        hasChecks ? h('p', { class: 'muted small' }, m.unticked) : null,
      );
    }),
    h('div', { class: 'hints-actions' }, submit, clear),
  );
}

function clearErrors(view: HintsView, form: HTMLFormElement): void {
  view.banner.hidden = true;
  for (const el of form.querySelectorAll<HTMLElement>('.field-error')) {
    el.hidden = true;
    el.textContent = '';
  }
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

/** The API's 422 issues under their fields; those that name no field go in the banner. */
function showIssues(view: HintsView, form: HTMLFormElement, fields: FormField[], issues: FieldIssue[]): void {
  const m = msg();
  const byField = new Map<FormField, string[]>();
  const unplaced: string[] = [];
  for (const issue of issues) {
    const f = fieldForIssue(fields, issue.field);
    if (!f) unplaced.push(`${issue.field}: ${issue.message}`);
    else if (!byField.get(f)?.includes(issue.message)) byField.set(f, [...(byField.get(f) ?? []), issue.message]);
  }
  for (const [f, messages] of byField) {
    const error = form.querySelector<HTMLElement>(`#${f.id}-error`)!;
    error.hidden = false;
    error.textContent = messages.map(m.fieldIssue).join(' · ');
    form.querySelector(`#${f.id}`)?.setAttribute('aria-invalid', 'true');
  }
  showBanner(view, [m.fixFields(byField.size + unplaced.length), ...unplaced].join(' '));
  form.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
}

function showAnswer(view: HintsView, models: ModelCard[], fields: FormField[], answer: TriageAnswer, states: Readiness[]): void {
  const m = msg();
  view.result.classList.remove('stale');
  replaceChildren(
    view.result,
    h('h2', { id: 'hint-result-title' }, m.resultTitle),
    h('p', { class: 'hint-stale-note', testid: 'stale' }, m.stale),
    renderResult(answer, models, fields, states.filter((r) => r.missing.length)),
    saved.request ? h('div', { class: 'row-actions ask-row' }, askConsultationButton(view.ctx, () => ({ kind: 'assessment', request: saved.request!, answer }))) : null,
  );
}

/** One `POST /v1/triage` for every model whose inputs are filled. */
async function calculate(view: HintsView, models: ModelCard[], fields: FormField[], form: HTMLFormElement, submit: HTMLButtonElement): Promise<void> {
  const m = msg();
  const states = readiness(models, fields, saved.values);
  const ready = states.filter((r) => !r.missing.length).map((r) => r.model);
  if (!ready.length) return showBanner(view, m.nothingReady);
  submit.disabled = true;
  submit.textContent = m.calculating;
  try {
    const request = triageBody(ready, fields, saved.values);
    const answer = await postTriage(request);
    if (view.destroyed()) return;
    saved.answer = answer;
    saved.request = request;
    showAnswer(view, models, fields, answer, states);
    // On a phone the answer is under the form: bring it up.
    if (view.result.getBoundingClientRect().top > window.innerHeight) view.result.scrollIntoView({ block: 'start' });
  } catch (err) {
    if (view.destroyed()) return;
    if (err instanceof ApiError && err.status === 422 && Array.isArray(err.details)) showIssues(view, form, fields, err.details as FieldIssue[]);
    else showBanner(view, m.failed(errorText(err)));
  } finally {
    submit.disabled = false;
    submit.textContent = m.calculate;
  }
}

/** The screen once the model cards are in: the form, what each model still needs, and the answer. */
function build(view: HintsView, models: ModelCard[]): void {
  const m = msg();
  const fields = deriveFields(models);
  const readyList = h('ul', { class: 'hint-readiness', testid: 'readiness' });
  const submit = h('button', { type: 'submit', class: 'primary', testid: 'calculate' }, m.calculate);
  const clear = h('button', { type: 'button', testid: 'clear' }, m.clear);
  const form = hintsForm(fields, submit, clear);
  const readyPanel = h('section', { class: 'hint-ready-panel' }, h('h2', {}, m.readyTitle), readyList);
  replaceChildren(
    view.root,
    h('div', { class: 'screen-head' }, h('h1', {}, m.title)),
    h('p', { class: 'muted hints-intro' }, m.intro),
    view.banner,
    h('div', { class: 'hints-layout' }, h('div', { class: 'hints-left' }, form), h('div', { class: 'hints-right' }, view.result, readyPanel)),
  );

  const refreshReadiness = () => {
    saved.values = readForm(form, fields);
    readyList.replaceChildren(...readinessList(readiness(models, fields, saved.values)));
  };

  form.addEventListener('input', () => {
    refreshReadiness();
    if (saved.answer) view.result.classList.add('stale');
  });
  form.addEventListener('change', refreshReadiness);
  clear.addEventListener('click', () => {
    saved = { values: new Map() };
    form.reset();
    clearErrors(view, form);
    view.result.replaceChildren();
    refreshReadiness();
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearErrors(view, form);
    refreshReadiness();
    void calculate(view, models, fields, form, submit);
  });

  refreshReadiness();
  if (saved.answer) showAnswer(view, models, fields, saved.answer, readiness(models, fields, saved.values));
}

export function mountHints(root: HTMLElement, ctx: AppContext): () => void {
  const m = msg();
  let destroyed = false;
  const view: HintsView = {
    root,
    ctx,
    banner: h('div', { class: 'banner banner-error', hidden: true, testid: 'hints-error', role: 'alert' }),
    result: h('section', { class: 'hint-result', testid: 'hint-result', 'aria-live': 'polite', 'aria-labelledby': 'hint-result-title' }),
    destroyed: () => destroyed,
  };
  replaceChildren(
    root,
    h('div', { class: 'screen-head' }, h('h1', {}, m.title)),
    h('p', { class: 'muted hints-intro' }, m.intro),
    view.banner,
    h('div', { class: 'muted', testid: 'hints-loading' }, '…'),
  );

  void getModels().then(
    (models) => {
      if (!destroyed) build(view, models);
    },
    (err: unknown) => {
      if (!destroyed) showBanner(view, m.failed(errorText(err)));
    },
  );

  return () => {
    destroyed = true;
  };
}
