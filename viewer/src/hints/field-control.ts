/**
 * The hints form's controls, one per field of the model cards (checkbox, choice, or number
 * with its unit), and what the form holds read back as field values.
 */
import { h } from '../dom.ts';
import { clinical } from '../i18n.ts';
import type { FieldValue, FormField } from './fields.ts';
import { msg, valueLabel } from './messages.ts';

/** One form control per field, wired to its label, unit and error line. */
export function fieldControl(f: FormField, value: FieldValue | undefined): HTMLElement {
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
export function readForm(form: HTMLFormElement, fields: FormField[]): Map<string, FieldValue> {
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
