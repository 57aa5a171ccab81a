/**
 * The hints form, derived from the model cards: which fields to ask for, with the card's
 * titles, units and possible ranges, and how one filled form becomes the request body of
 * every score and risk model whose inputs are all there.
 *
 * Models share a field when they take an input of the same name (age, systolicBp…), so
 * the doctor types each value once. Only the grouping and the order are declared here;
 * an input a new card adds that is not in SECTIONS lands in "other", so a model added by
 * dropping a folder under models/ still gets its fields.
 */
import type { InputProperty, ModelCard, ModelInputs } from '../api.ts';

export type SectionId = 'vitals' | 'patient' | 'labs' | 'history' | 'other';

/**
 * Field keys per section, in reading order. A key is an input name shared by every card
 * that takes it, or `name@modelId` where cards use one name for different things:
 * `familyHistory` is ASCVD in a relative for China-PAR, diabetes in a parent or sibling
 * for CDRS, and diabetes by degree of relative for FINDRISC.
 */
const SECTIONS: { id: SectionId; keys: string[] }[] = [
  {
    id: 'vitals',
    keys: ['respiratoryRate', 'spo2', 'spo2Scale', 'supplementalOxygen', 'systolicBp', 'diastolicBp', 'pulse', 'consciousness', 'temperature', 'gcs'],
  },
  { id: 'patient', keys: ['age', 'sex', 'pregnant', 'race', 'bmi', 'waist', 'north', 'urban'] },
  { id: 'labs', keys: ['totalCholesterol', 'hdlCholesterol', 'urea', 'glucose2hOgtt'] },
  {
    id: 'history',
    keys: [
      'smoker', 'diabetes', 'onBpTreatment', 'antihypertensives', 'confusion', 'highGlucoseHistory',
      'physicallyActive', 'dailyVegetables', 'familyHistory@china-par', 'familyHistory@cdrs', 'familyHistory@findrisc',
    ],
  },
];

export type FieldKind = 'number' | 'boolean' | 'enum';

/** One model's use of a field. */
export interface FieldUse {
  model: ModelCard;
  name: string;
  prop: InputProperty;
  required: boolean;
}

export interface FormField {
  key: string;
  /** Safe as an element id. */
  id: string;
  section: SectionId;
  kind: FieldKind;
  uses: FieldUse[];
  title: string;
  titleZh?: string;
  description?: string;
  /** Numbers: the units every model using the field accepts, the card's canonical unit first. */
  units: string[];
  /** Enums: the values any model using the field accepts. */
  values: string[];
  canonicalUnit?: string;
  /** Canonical unit; outside it some model using the field refuses the value. */
  accepted?: [number, number];
}

/**
 * A filled field (an empty one has no entry; a checkbox always has one, unticked is "no").
 * A number keeps the typed text when it is not a number, so the API names the mistake.
 */
export type FieldValue = { number: number | string; unit: string } | { boolean: boolean } | { enum: string };

export interface Readiness {
  model: ModelCard;
  /** Required inputs without a value, as fields. */
  missing: FormField[];
}

function kindOf(prop: InputProperty): FieldKind {
  if (prop.type === 'boolean') return 'boolean';
  if (prop.enum) return 'enum';
  return 'number';
}

export function unitsOf(prop: InputProperty): string[] {
  return prop.properties?.unit.enum ?? prop.oneOf?.[1].properties.unit.enum ?? [];
}

/** Cards spell some units two ways (kg/m2, kg/m²); they are the same unit. */
const sameUnit = (a: string, b: string) => a.replace(/²/g, '2') === b.replace(/²/g, '2');

/** The calculators among the registered models, in the registry's order. */
export function calculators(models: ModelCard[]): ModelCard[] {
  return models.filter((m) => m.inputSchema && (m.task === 'score' || m.task === 'risk'));
}

/** The values every model using the field accepts (their ranges share the canonical unit), so the hint never invites a 422. */
function acceptedByAll(uses: FieldUse[], canonicalUnit: string | undefined): [number, number] | undefined {
  const ranges = uses.filter((u) => u.prop['x-canonical-unit'] === canonicalUnit).map((u) => u.prop['x-accepted-range']).filter((r) => r !== undefined);
  if (!ranges.length) return undefined;
  const range: [number, number] = [Math.max(...ranges.map((r) => r[0])), Math.min(...ranges.map((r) => r[1]))];
  return range[0] <= range[1] ? range : undefined;
}

export function deriveFields(models: ModelCard[]): FormField[] {
  const declared = new Map(SECTIONS.flatMap((s) => s.keys.map((k, i) => [k, { section: s.id, order: i }] as const)));
  const byKey = new Map<string, FieldUse[]>();
  for (const model of calculators(models)) {
    const schema = model.inputSchema!;
    for (const [name, prop] of Object.entries(schema.properties)) {
      const key = declared.has(`${name}@${model.id}`) ? `${name}@${model.id}` : name;
      const uses = byKey.get(key) ?? [];
      uses.push({ model, name, prop, required: schema.required.includes(name) });
      byKey.set(key, uses);
    }
  }
  const fields = [...byKey].map(([key, uses]): FormField => {
    const first = uses[0].prop;
    const kind = kindOf(first);
    // A unit one model does not take would make it refuse the value; offer only the shared ones.
    let units = unitsOf(first);
    for (const u of uses.slice(1)) units = units.filter((a) => unitsOf(u.prop).some((b) => sameUnit(a, b)));
    const canonicalUnit = first['x-canonical-unit'];
    if (canonicalUnit && units.includes(canonicalUnit)) units = [canonicalUnit, ...units.filter((u) => u !== canonicalUnit)];
    return {
      key,
      id: `hint-${key.replace(/[^A-Za-z0-9_-]/g, '-')}`,
      section: declared.get(key)?.section ?? 'other',
      kind,
      uses,
      title: first.title,
      titleZh: first['x-title-zh'],
      description: first.description,
      units: units.length ? units : unitsOf(first),
      values: [...new Set(uses.flatMap((u) => u.prop.enum ?? []))],
      canonicalUnit,
      accepted: acceptedByAll(uses, canonicalUnit),
    };
  });
  const rank = (f: FormField) => {
    const d = declared.get(f.key);
    return d ? d.order : Number.MAX_SAFE_INTEGER;
  };
  return fields.sort((a, b) => rank(a) - rank(b));
}

export const SECTION_ORDER: SectionId[] = ['vitals', 'patient', 'labs', 'history', 'other'];

/** Every calculator, with the required inputs the form does not have yet (none: it can be calculated). */
export function readiness(models: ModelCard[], fields: FormField[], values: Map<string, FieldValue>): Readiness[] {
  return calculators(models).map((model) => ({
    model,
    missing: fields.filter((f) => f.uses.some((u) => u.model === model && u.required) && !values.has(f.key)),
  }));
}

function requestValue(field: FormField, use: FieldUse, value: FieldValue): unknown {
  if ('boolean' in value) return value.boolean;
  if ('enum' in value) return value.enum;
  // Sent in this card's spelling of the chosen unit, always with the unit: never a bare number to be guessed at.
  const unit = unitsOf(use.prop).find((u) => sameUnit(u, value.unit)) ?? value.unit;
  return { value: value.number, unit };
}

/** The triage request for the ready models: scores under `scores`, risk models under `risks`. */
export function triageBody(ready: ModelCard[], fields: FormField[], values: Map<string, FieldValue>): { scores: ModelInputs; risks: ModelInputs } {
  const body = { scores: {} as ModelInputs, risks: {} as ModelInputs };
  for (const model of ready) {
    const inputs: Record<string, unknown> = {};
    for (const field of fields) {
      const value = values.get(field.key);
      const use = field.uses.find((u) => u.model === model);
      if (use && value) inputs[use.name] = requestValue(field, use, value);
    }
    (model.task === 'risk' ? body.risks : body.scores)[model.id] = inputs;
  }
  return body;
}

/** A 422 field of the triage answer (`scores.news2.temperature`) → the form field it came from. */
export function fieldForIssue(fields: FormField[], issueField: string): FormField | undefined {
  const m = /^(?:scores|risks)\.([^.]+)\.(.+)$/.exec(issueField);
  if (!m) return undefined;
  const [, modelId, name] = m;
  return fields.find((f) => f.uses.some((u) => u.model.id === modelId && u.name === name));
}
