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
import { clinical } from './i18n.ts';
import type { AppContext } from './main.ts';
import { deriveFields, fieldForIssue, readiness, SECTION_ORDER, triageBody, type FieldValue, type FormField, type Readiness } from './hints/fields.ts';
import { msg, sectionTitle, valueLabel } from './hints/messages.ts';
import { renderResult } from './hints/result.ts';

interface Saved {
  values: Map<string, FieldValue>;
  answer?: TriageAnswer;
}

let saved: Saved = { values: new Map() };

function errorText(err: unknown): string {
  return err instanceof ApiError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
}

/** One form control per field, wired to its label, unit and error line. */
function fieldControl(f: FormField, value: FieldValue | undefined): HTMLElement {
  const m = msg();
  const title = clinical(f.title, f.titleZh);
  const errorId = `${f.id}-error`;
  const error = h('div', { class: 'field-error', id: errorId, testid: `error-${f.key}`, hidden: true });
  const describe = { 'aria-describedby': errorId, 'data-key': f.key, title: f.description };

  if (f.kind === 'boolean') {
    const checked = value !== undefined && 'boolean' in value && value.boolean;
    return h(
      'div',
      { class: 'hint-field hint-check', 'data-field': f.key },
      h('input', { type: 'checkbox', id: f.id, name: f.key, testid: `field-${f.key}`, checked, ...describe }),
      h('label', { for: f.id }, title),
      error,
    );
  }

  if (f.kind === 'enum') {
    const selected = value !== undefined && 'enum' in value ? value.enum : '';
    return h(
      'div',
      { class: 'hint-field', 'data-field': f.key },
      h('label', { for: f.id }, title),
      h(
        'select',
        { id: f.id, name: f.key, testid: `field-${f.key}`, ...describe },
        h('option', { value: '' }, m.notGiven),
        f.values.map((v) => h('option', { value: v, selected: v === selected }, valueLabel(v))),
      ),
      error,
    );
  }

  const number = value !== undefined && 'number' in value ? value : undefined;
  const unitId = `${f.id}-unit`;
  const input = h('input', {
    type: 'text',
    inputmode: 'decimal',
    autocomplete: 'off',
    id: f.id,
    name: f.key,
    testid: `field-${f.key}`,
    value: number ? String(number.number) : '',
    ...describe,
  });
  const unit =
    f.units.length > 1
      ? h(
          'select',
          { id: unitId, class: 'hint-unit', testid: `unit-${f.key}`, 'aria-label': m.unit(title) },
          f.units.map((u) => h('option', { value: u, selected: u === (number?.unit ?? f.units[0]) }, valueLabel(u))),
        )
      : h('span', { class: 'hint-unit', id: unitId, testid: `unit-${f.key}`, 'data-unit': f.units[0] ?? '' }, valueLabel(f.units[0] ?? ''));
  // The possible range is the card's, in its canonical unit: shown only while that unit is chosen.
  const placeholder = () => {
    const chosen = unit instanceof HTMLSelectElement ? unit.value : f.units[0];
    input.placeholder = f.accepted && chosen === f.canonicalUnit ? `${f.accepted[0]}–${f.accepted[1]}` : '';
  };
  placeholder();
  unit.addEventListener('change', placeholder);
  input.setAttribute('aria-describedby', `${unitId} ${errorId}`);
  return h(
    'div',
    { class: 'hint-field', 'data-field': f.key },
    h('label', { for: f.id }, title),
    h('div', { class: 'hint-input' }, input, unit),
    error,
  );
}

/** What the form holds now; empty fields have no entry. */
function readForm(form: HTMLFormElement, fields: FormField[]): Map<string, FieldValue> {
  const values = new Map<string, FieldValue>();
  for (const f of fields) {
    const el = form.querySelector<HTMLInputElement | HTMLSelectElement>(`#${f.id}`);
    if (!el) continue;
    if (f.kind === 'boolean') values.set(f.key, { boolean: (el as HTMLInputElement).checked });
    else if (f.kind === 'enum') {
      if (el.value) values.set(f.key, { enum: el.value });
    } else {
      const text = el.value.trim();
      if (!text) continue;
      const unitEl = form.querySelector<HTMLSelectElement>(`#${f.id}-unit`);
      const parsed = Number(text.replace(',', '.'));
      values.set(f.key, { number: Number.isFinite(parsed) ? parsed : text, unit: unitEl?.value ?? f.units[0] ?? '' });
    }
  }
  return values;
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

export function mountHints(root: HTMLElement, ctx: AppContext): () => void {
  const m = msg();
  let destroyed = false;
  const banner = h('div', { class: 'banner banner-error', hidden: true, testid: 'hints-error', role: 'alert' });
  const result = h('section', { class: 'hint-result', testid: 'hint-result', 'aria-live': 'polite', 'aria-labelledby': 'hint-result-title' });
  replaceChildren(
    root,
    h('div', { class: 'screen-head' }, h('h1', {}, m.title)),
    h('p', { class: 'muted hints-intro' }, m.intro),
    banner,
    h('div', { class: 'muted', testid: 'hints-loading' }, '…'),
  );

  void getModels().then(
    (models) => {
      if (!destroyed) build(models);
    },
    (err: unknown) => {
      if (destroyed) return;
      banner.hidden = false;
      banner.textContent = m.failed(errorText(err));
    },
  );

  function build(models: ModelCard[]) {
    const fields = deriveFields(models);
    const readyList = h('ul', { class: 'hint-readiness', testid: 'readiness' });
    const submit = h('button', { type: 'submit', class: 'primary', testid: 'calculate' }, m.calculate);
    const clear = h('button', { type: 'button', testid: 'clear' }, m.clear);
    const form = h(
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
    const readyPanel = h('section', { class: 'hint-ready-panel' }, h('h2', {}, m.readyTitle), readyList);
    replaceChildren(
      root,
      h('div', { class: 'screen-head' }, h('h1', {}, m.title)),
      h('p', { class: 'muted hints-intro' }, m.intro),
      banner,
      h('div', { class: 'hints-layout' }, h('div', { class: 'hints-left' }, form), h('div', { class: 'hints-right' }, result, readyPanel)),
    );

    const refreshReadiness = () => {
      saved.values = readForm(form, fields);
      readyList.replaceChildren(...readinessList(readiness(models, fields, saved.values)));
    };

    const clearErrors = () => {
      banner.hidden = true;
      for (const el of form.querySelectorAll<HTMLElement>('.field-error')) {
        el.hidden = true;
        el.textContent = '';
      }
      for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    };

    const showIssues = (issues: FieldIssue[]) => {
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
      banner.hidden = false;
      banner.textContent = [m.fixFields(byField.size + unplaced.length), ...unplaced].join(' ');
      form.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
    };

    const show = (answer: TriageAnswer, states: Readiness[]) => {
      result.classList.remove('stale');
      replaceChildren(
        result,
        h('h2', { id: 'hint-result-title' }, m.resultTitle),
        h('p', { class: 'hint-stale-note', testid: 'stale' }, m.stale),
        renderResult(answer, models, fields, states.filter((r) => r.missing.length)),
      );
    };

    form.addEventListener('input', () => {
      refreshReadiness();
      if (saved.answer) result.classList.add('stale');
    });
    form.addEventListener('change', refreshReadiness);
    clear.addEventListener('click', () => {
      saved = { values: new Map() };
      form.reset();
      clearErrors();
      result.replaceChildren();
      refreshReadiness();
    });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors();
      refreshReadiness();
      const states = readiness(models, fields, saved.values);
      const ready = states.filter((r) => !r.missing.length).map((r) => r.model);
      if (!ready.length) {
        banner.hidden = false;
        banner.textContent = m.nothingReady;
        return;
      }
      submit.disabled = true;
      submit.textContent = m.calculating;
      try {
        const answer = await postTriage(triageBody(ready, fields, saved.values), ctx.reviewer());
        if (destroyed) return;
        saved.answer = answer;
        show(answer, states);
        // On a phone the answer is under the form: bring it up.
        if (result.getBoundingClientRect().top > window.innerHeight) result.scrollIntoView({ block: 'start' });
      } catch (err) {
        if (destroyed) return;
        if (err instanceof ApiError && err.status === 422 && Array.isArray(err.details)) showIssues(err.details as FieldIssue[]);
        else {
          banner.hidden = false;
          banner.textContent = m.failed(errorText(err));
        }
      } finally {
        submit.disabled = false;
        submit.textContent = m.calculate;
      }
    });

    refreshReadiness();
    if (saved.answer) show(saved.answer, readiness(models, fields, saved.values));
  }

  return () => {
    destroyed = true;
  };
}
