import type { FeatureSpec } from './model-card.ts';

/** A request that breaks a model's input contract; every bad field is listed. Never retried, never partially used. */
export class InputValidationError extends Error {
  readonly code = 'VALIDATION_FAILED';
  constructor(readonly issues: { field: string; message: string }[]) {
    super(`invalid input: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
  }
}

export interface RangeWarning {
  feature: string;
  code: 'OUTSIDE_VALIDATED_RANGE' | 'OUTSIDE_VALIDATED_POPULATION';
  message: string;
}

export type CanonicalValue = number | boolean | string;

export interface CanonicalInputs {
  /** Feature name → value in the card's canonical unit (enums as their string). */
  values: Record<string, CanonicalValue>;
  /** The graph's input row: card order, canonical units, booleans 0/1, enums encoded. */
  vector: Float32Array;
  /** What the model used, for the answer: each given feature's canonical value and unit. */
  described: Record<string, { value: CanonicalValue; unit?: string }>;
  warnings: RangeWarning[];
}

const format = (value: number) => String(Math.round(value * 1000) / 1000);
const rangeText = (range: [number, number], unit?: string) => `${format(range[0])}–${format(range[1])}${unit ? ` ${unit}` : ''}`;

/**
 * Turns a request body into a model's canonical inputs, per its card's `features`.
 * Unknown fields, missing required fields, wrong kinds, unknown units and values
 * outside the physiologically possible range are errors (all reported together).
 * Values outside the model's validated range or population are answered but warned:
 * the caller must show the warning, never extrapolate silently.
 *
 * A number whose feature accepts several units must come as `{ value, unit }`: a bare
 * 5.2 could be mmol/L or mg/dL, and guessing would be dangerous.
 */
export function canonicalInputs(features: FeatureSpec[], body: unknown): CanonicalInputs {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InputValidationError([{ field: '(body)', message: 'expected a JSON object of inputs' }]);
  }
  const input = body as Record<string, unknown>;
  const issues: { field: string; message: string }[] = [];
  const known = new Set(features.map((f) => f.name));
  for (const field of Object.keys(input)) {
    if (!known.has(field)) issues.push({ field, message: `unknown input; this model takes ${features.map((f) => f.name).join(', ')}` });
  }

  const values: Record<string, CanonicalValue> = {};
  const warnings: RangeWarning[] = [];
  for (const feature of features) {
    const raw = input[feature.name] ?? feature.default;
    if (raw === undefined || raw === null) {
      if (feature.required) issues.push({ field: feature.name, message: `required (${describe(feature)})` });
      continue;
    }
    const parsed = parseValue(feature, raw);
    if ('error' in parsed) {
      issues.push({ field: feature.name, message: parsed.error });
      continue;
    }
    values[feature.name] = parsed.value;
    const warning = validityWarning(feature, parsed.value);
    if (warning) warnings.push(warning);
  }
  if (issues.length > 0) throw new InputValidationError(issues);

  const vector = new Float32Array(features.map((f) => encode(f, values[f.name])));
  const described = Object.fromEntries(features.filter((f) => f.name in values)
    .map((f) => [f.name, { value: values[f.name], ...(f.unit ? { unit: f.unit } : {}) }]));
  return { values, vector, described, warnings };
}

function describe(feature: FeatureSpec): string {
  if (feature.kind === 'boolean') return 'true or false';
  if (feature.kind === 'enum') return `one of ${feature.values!.join(', ')}`;
  const units = Object.keys(feature.units ?? { [feature.unit!]: {} });
  return units.length > 1 ? `{ "value": number, "unit": ${units.map((u) => `"${u}"`).join(' | ')} }` : `a number in ${feature.unit}`;
}

function parseValue(feature: FeatureSpec, raw: unknown): { value: CanonicalValue } | { error: string } {
  if (feature.kind === 'boolean') {
    return typeof raw === 'boolean' ? { value: raw } : { error: `expected true or false, got ${JSON.stringify(raw)}` };
  }
  if (feature.kind === 'enum') {
    return typeof raw === 'string' && feature.values!.includes(raw)
      ? { value: raw }
      : { error: `expected one of ${feature.values!.join(', ')}, got ${JSON.stringify(raw)}` };
  }
  const units = feature.units ?? { [feature.unit!]: { factor: 1 } };
  let amount: unknown = raw;
  let unit = feature.unit!;
  if (typeof raw === 'object' && raw !== null) {
    ({ value: amount, unit } = raw as { value: unknown; unit: string });
    if (!(unit in units)) return { error: `unit ${JSON.stringify(unit)} is not accepted; use one of ${Object.keys(units).join(', ')}` };
  } else if (Object.keys(units).length > 1) {
    return { error: `give the unit explicitly: ${describe(feature)}` };
  }
  if (typeof amount !== 'number' || !Number.isFinite(amount)) return { error: `expected a finite number, got ${JSON.stringify(amount)}` };
  const { factor, offset = 0 } = units[unit];
  const value = amount * factor + offset;
  if (feature.accept && (value < feature.accept[0] || value > feature.accept[1])) {
    return { error: `${format(amount)} ${unit} is outside the possible range ${rangeText(feature.accept, feature.unit)}; check the value and its unit` };
  }
  return { value };
}

function validityWarning(feature: FeatureSpec, value: CanonicalValue): RangeWarning | undefined {
  if (typeof value === 'number' && feature.validated && (value < feature.validated[0] || value > feature.validated[1])) {
    return {
      feature: feature.name,
      code: 'OUTSIDE_VALIDATED_RANGE',
      message: `${feature.display} ${format(value)} ${feature.unit} is outside the range the model was validated on (${rangeText(feature.validated, feature.unit)}); the result is an extrapolation`,
    };
  }
  if (typeof value === 'string' && feature.validatedValues && !feature.validatedValues.includes(value)) {
    return {
      feature: feature.name,
      code: 'OUTSIDE_VALIDATED_POPULATION',
      message: `${feature.display} "${value}" is outside the population the model was validated on (${feature.validatedValues.join(', ')})`,
    };
  }
  return undefined;
}

function encode(feature: FeatureSpec, value: CanonicalValue | undefined): number {
  if (value === undefined) return Number.NaN;
  if (feature.kind === 'boolean') return value ? 1 : 0;
  if (feature.kind === 'enum') return feature.encoding![value as string];
  return value as number;
}

/** JSON Schema of a model's request body, generated from its card: what `GET /v1/models/{id}` documents. */
export function inputJsonSchema(features: FeatureSpec[]): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const f of features) {
    const base = { title: f.display, ...(f.displayZh ? { 'x-title-zh': f.displayZh } : {}), ...(f.help ? { description: f.help } : {}) };
    if (f.kind === 'boolean') properties[f.name] = { ...base, type: 'boolean' };
    else if (f.kind === 'enum') properties[f.name] = { ...base, enum: f.values, ...(f.validatedValues ? { 'x-validated-values': f.validatedValues } : {}) };
    else {
      const units = Object.keys(f.units ?? { [f.unit!]: {} });
      const quantity = { type: 'object', required: ['value', 'unit'], additionalProperties: false, properties: { value: { type: 'number' }, unit: { enum: units } } };
      properties[f.name] = {
        ...base,
        ...(units.length > 1 ? quantity : { oneOf: [{ type: 'number' }, quantity] }),
        'x-canonical-unit': f.unit,
        ...(f.accept ? { 'x-accepted-range': f.accept } : {}),
        ...(f.validated ? { 'x-validated-range': f.validated } : {}),
      };
    }
  }
  return {
    type: 'object',
    additionalProperties: false,
    required: features.filter((f) => f.required && f.default === undefined).map((f) => f.name),
    properties,
  };
}
