import type { FeatureSpec } from '../../inference/model-card.ts';

/**
 * A patient's FHIR record (the hook's prefetch: Patient, Observations) read into the
 * feature names Lantern's score and risk cards declare. One table says which LOINC (or
 * SNOMED) code feeds which feature and which UCUM units it may come in; the model's card then
 * decides what it accepts, converts and range-checks (inference/features.ts), exactly as for a
 * form. Nothing is guessed: a unit the table does not know, an answer code it does not know,
 * or an observation of another patient is reported by name, never read as something else.
 */

const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';

type Code = `${typeof LOINC | typeof SNOMED}|${string}`;

/** A quantity feature: the codes that carry it, and per code the UCUM units read and the card units each may be. */
interface QuantitySource {
  feature: string;
  display: string;
  codes: Partial<Record<Code, Record<string, string[]>>>;
}

const perMinute = { '/min': ['/min'], '{breaths}/min': ['/min'], '{beats}/min': ['/min'] };
const pressure = { 'mm[Hg]': ['mmHg'], kPa: ['kPa'] };
const lipid = { 'mg/dL': ['mg/dL'], 'mmol/L': ['mmol/L'] };

const QUANTITIES: QuantitySource[] = [
  { feature: 'respiratoryRate', display: 'Respiratory rate', codes: { [`${LOINC}|9279-1`]: perMinute } },
  { feature: 'spo2', display: 'Oxygen saturation', codes: { [`${LOINC}|59408-5`]: { '%': ['%'] }, [`${LOINC}|2708-6`]: { '%': ['%'] } } },
  {
    feature: 'temperature', display: 'Body temperature',
    codes: Object.fromEntries(['8310-5', '8331-1', '8328-7'].map((c) => [`${LOINC}|${c}`, { Cel: ['°C'], '[degF]': ['°F'] }])),
  },
  // Systolic and diastolic come alone or as components of a blood pressure panel (85354-9).
  { feature: 'systolicBp', display: 'Systolic blood pressure', codes: { [`${LOINC}|8480-6`]: pressure } },
  { feature: 'diastolicBp', display: 'Diastolic blood pressure', codes: { [`${LOINC}|8462-4`]: pressure } },
  { feature: 'pulse', display: 'Heart rate', codes: { [`${LOINC}|8867-4`]: perMinute } },
  { feature: 'gcs', display: 'Glasgow coma score total', codes: { [`${LOINC}|9269-2`]: { '{score}': ['points'], 1: ['points'], '': ['points'] } } },
  { feature: 'bmi', display: 'Body mass index', codes: { [`${LOINC}|39156-5`]: { 'kg/m2': ['kg/m²', 'kg/m2'] } } },
  { feature: 'waist', display: 'Waist circumference', codes: { [`${LOINC}|8280-0`]: { cm: ['cm'], '[in_i]': ['in'], '[in_us]': ['in'] } } },
  // Urea (22664-7, mmol/L) or urea nitrogen (BUN: 3094-0 serum, 6299-2 blood); BUN in mmol/L is the same number as urea in mmol/L.
  {
    feature: 'urea', display: 'Urea',
    codes: { [`${LOINC}|22664-7`]: { 'mmol/L': ['mmol/L'] }, [`${LOINC}|3094-0`]: { 'mg/dL': ['mg/dL'], 'mmol/L': ['mmol/L'] }, [`${LOINC}|6299-2`]: { 'mg/dL': ['mg/dL'], 'mmol/L': ['mmol/L'] } },
  },
  { feature: 'totalCholesterol', display: 'Total cholesterol', codes: { [`${LOINC}|2093-3`]: lipid, [`${LOINC}|14647-2`]: { 'mmol/L': ['mmol/L'] } } },
  { feature: 'hdlCholesterol', display: 'HDL cholesterol', codes: { [`${LOINC}|2085-9`]: lipid, [`${LOINC}|14646-4`]: { 'mmol/L': ['mmol/L'] } } },
];

/**
 * ACVPU: the UK Core NEWS2 observation (SNOMED 1104441000000107) or LOINC level of
 * responsiveness (67775-7), answered with these codes.
 */
const CONSCIOUSNESS_CODES: Code[] = [`${SNOMED}|1104441000000107`, `${LOINC}|67775-7`];
const CONSCIOUSNESS_ANSWERS: Partial<Record<Code, 'alert' | 'confusion' | 'voice' | 'pain' | 'unresponsive'>> = {
  [`${SNOMED}|248234008`]: 'alert', [`${LOINC}|LA9340-9`]: 'alert',
  [`${SNOMED}|130987000`]: 'confusion',
  [`${SNOMED}|450847001`]: 'voice', [`${LOINC}|LA17108-4`]: 'voice',
  [`${SNOMED}|450848006`]: 'pain', [`${LOINC}|LA17107-6`]: 'pain',
  [`${SNOMED}|422768004`]: 'unresponsive', [`${LOINC}|LA9343-3`]: 'unresponsive',
};

/** Supplemental oxygen: a flow above 0 L/min (3151-8) or an inspired fraction above room air's 21 % (3150-0). */
const OXYGEN_FLOW: Code = `${LOINC}|3151-8`;
const OXYGEN_FRACTION: Code = `${LOINC}|3150-0`;

/**
 * Pregnancy status (LOINC 82810-3, as US Core and IPS record it), answered with LOINC or SNOMED CT
 * codes. The latest "unknown" reads as not recorded, so the score that excludes pregnancy says it could not check.
 */
const PREGNANCY_STATUS: Code = `${LOINC}|82810-3`;
const PREGNANCY_ANSWERS: Partial<Record<Code, 'yes' | 'no' | 'unknown'>> = {
  [`${LOINC}|LA15173-0`]: 'yes', [`${SNOMED}|77386006`]: 'yes',
  [`${LOINC}|LA26683-5`]: 'no', [`${SNOMED}|60001007`]: 'no',
  [`${LOINC}|LA4489-6`]: 'unknown', [`${SNOMED}|261665006`]: 'unknown',
};
/**
 * A pregnancy status older than the longest pregnancy (42 weeks) no longer says whether the patient
 * is pregnant now, either way; nor does one with no date. Either reads as not recorded.
 */
const PREGNANCY_STATUS_CURRENT_MS = 42 * 7 * 24 * 3600_000;

/** A value read from the record, with where it came from (shown on the card). */
export interface RecordValue {
  value: number | boolean | string;
  /** UCUM unit as recorded, for quantities. */
  ucum?: string;
  /** The card units this UCUM unit may be, first preferred. */
  units?: string[];
  source: string;
  /** `Observation/<id>` for a FHIR reference to the evidence. */
  reference?: string;
}

export interface PatientRecord {
  /** Feature name → the latest value. */
  values: Map<string, RecordValue>;
  /** Feature name → why a value present in the record could not be read (unknown unit or code). */
  unreadable: Map<string, string>;
  /** Observations left out because their subject is another patient. */
  otherSubject: number;
}

type Json = Record<string, unknown>;
const asArray = (v: unknown): Json[] => (Array.isArray(v) ? v.filter((x): x is Json => Boolean(x) && typeof x === 'object') : []);
const codesOf = (concept: unknown): Code[] => asArray((concept as Json | undefined)?.coding).map((c) => `${c.system}|${c.code}` as Code);

/** The FHIR resources of one prefetch value: a resource, or a searchset Bundle's entries. */
export function resourcesOf(value: Json | null | undefined): Json[] {
  if (!value) return [];
  if (value.resourceType === 'Bundle') return asArray(value.entry).map((e) => e.resource as Json).filter(Boolean);
  return [value];
}

/** When an observation was made: its effective time, else when it was issued. */
export const whenOf = (o: Json) => String(o.effectiveDateTime ?? o.effectiveInstant ?? (o.effectivePeriod as Json | undefined)?.start ?? o.issued ?? '');

/** The patient's age in whole years at `on`, from `birthDate` (YYYY, YYYY-MM or YYYY-MM-DD). */
export function ageInYears(birthDate: string, on: Date): number | undefined {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(birthDate);
  if (!m) return undefined;
  const [y, mo = 1, d = 1] = [Number(m[1]), Number(m[2] ?? 1), Number(m[3] ?? 1)];
  let age = on.getUTCFullYear() - y;
  if (on.getUTCMonth() + 1 < mo || (on.getUTCMonth() + 1 === mo && on.getUTCDate() < d)) age--;
  return age;
}

/**
 * Reads the Patient and every Observation of the prefetch: per feature, the latest usable
 * value. Observations entered in error or cancelled are skipped; those whose subject is not
 * `Patient/<patientId>` are counted and left out.
 */
export function readPatientRecord(patient: Json | undefined, observations: Json[], patientId: string, on: Date): PatientRecord {
  const values = new Map<string, RecordValue & { at: string }>();
  const unreadable = new Map<string, string>();
  let otherSubject = 0;
  const keep = (feature: string, value: RecordValue, at: string) => {
    const known = values.get(feature);
    if (!known || at > known.at) values.set(feature, { ...value, at });
  };

  if (patient) {
    const birthDate = typeof patient.birthDate === 'string' ? patient.birthDate : undefined;
    const age = birthDate ? ageInYears(birthDate, on) : undefined;
    if (age !== undefined) keep('age', { value: age, ucum: 'a', units: ['years'], source: `Patient.birthDate ${birthDate}` }, '');
    if (patient.gender === 'male' || patient.gender === 'female') keep('sex', { value: patient.gender, source: `Patient.gender ${patient.gender}` }, '');
  }

  for (const o of observations) {
    if (o.resourceType !== 'Observation' || o.status === 'entered-in-error' || o.status === 'cancelled') continue;
    const subject = (o.subject as Json | undefined)?.reference;
    if (typeof subject === 'string' && !subject.endsWith(`Patient/${patientId}`)) {
      otherSubject++;
      continue;
    }
    const at = whenOf(o);
    for (const reading of observationReadings(o)) {
      if ('problem' in reading) unreadable.set(reading.feature, reading.problem);
      else keep(reading.feature, reading.value, at);
    }
  }

  const pregnancy = values.get('pregnant');
  if (pregnancy && (pregnancy.value === 'unknown' || !(on.getTime() - Date.parse(pregnancy.at) <= PREGNANCY_STATUS_CURRENT_MS))) values.delete('pregnant');
  return { values: new Map([...values].map(([k, { at: _at, ...v }]) => [k, v])), unreadable, otherSubject };
}

/** One value an Observation carries, in a card's feature name, or why a value it carries cannot be read. */
export type ObservationReading = { feature: string; value: RecordValue } | { feature: string; problem: string };

/**
 * Every value one Observation carries, read with the code table above: the observation's own
 * code and each component's (a blood pressure panel's systolic and diastolic). Codes the table
 * does not know give nothing; a known code with a unit or answer the table does not read gives
 * its problem, never a guess. What cds-hooks reads from a prefetch and what vitals ingest reads
 * from a posted Bundle (pipeline/vitals/) go through here, so both read a code the same way.
 */
export function observationReadings(o: Json): ObservationReading[] {
  const at = whenOf(o);
  const reference = typeof o.id === 'string' ? `Observation/${o.id}` : undefined;
  const readings: ObservationReading[] = [];
  for (const part of [o, ...asArray(o.component)]) {
    for (const code of codesOf(part.code)) readings.push(...readPart(code, part, `${code.split('|')[1]}${reference ? ` (${reference}${at ? `, ${at}` : ''})` : ''}`, reference));
  }
  return readings;
}

function readPart(code: Code, part: Json, label: string, reference: string | undefined): ObservationReading[] {
  const source = QUANTITIES.find((q) => q.codes[code]);
  if (source) {
    const quantity = part.valueQuantity as Json | undefined;
    const number = typeof quantity?.value === 'number' ? quantity.value : typeof part.valueInteger === 'number' ? part.valueInteger : undefined;
    if (number === undefined) return [];
    const ucum = String(quantity?.code ?? quantity?.unit ?? '');
    const units = source.codes[code]![ucum];
    if (!units) {
      return [{ feature: source.feature, problem: `${source.display} ${number} is recorded in "${ucum || 'no unit'}" (LOINC ${label}); Lantern reads it only in ${Object.keys(source.codes[code]!).filter(Boolean).map((u) => `"${u}"`).join(' or ')} (UCUM)` }];
    }
    return [{ feature: source.feature, value: { value: number, ucum, units, source: `${source.display} ${number} ${ucum} — ${label}`, reference } }];
  }
  if (CONSCIOUSNESS_CODES.includes(code)) {
    const answers = codesOf(part.valueCodeableConcept);
    const level = answers.map((a) => CONSCIOUSNESS_ANSWERS[a]).find(Boolean);
    if (!level) return [{ feature: 'consciousness', problem: `consciousness (${label}) is answered with ${answers.join(', ') || 'no code'}, which Lantern does not read as an ACVPU level` }];
    const value = { source: `ACVPU ${level} — ${label}`, reference };
    // CURB-65's confusion: new confusion or worse (a response only to voice or pain, or none).
    return [{ feature: 'consciousness', value: { ...value, value: level } }, { feature: 'confusion', value: { ...value, value: level !== 'alert' } }];
  }
  if (code === PREGNANCY_STATUS) {
    const answers = codesOf(part.valueCodeableConcept);
    const status = answers.map((a) => PREGNANCY_ANSWERS[a]).find(Boolean);
    if (!status) return [{ feature: 'pregnant', problem: `pregnancy status (${label}) is answered with ${answers.join(', ') || 'no code'}, which Lantern does not read as pregnant or not pregnant` }];
    // "unknown" is kept as read, so that it supersedes an older status, and dropped once the latest is chosen.
    return [{ feature: 'pregnant', value: { value: status, source: `pregnancy status ${status} — ${label}`, reference } }];
  }
  if (code === OXYGEN_FLOW || code === OXYGEN_FRACTION) {
    const quantity = part.valueQuantity as Json | undefined;
    const ucum = String(quantity?.code ?? '');
    const expected = code === OXYGEN_FLOW ? 'L/min' : '%';
    if (typeof quantity?.value !== 'number' || ucum !== expected) {
      return [{ feature: 'supplementalOxygen', problem: `inspired oxygen (${label}) must be a quantity in "${expected}" (UCUM), got ${JSON.stringify(quantity?.value)} "${ucum}"` }];
    }
    const onOxygen = code === OXYGEN_FLOW ? quantity.value > 0 : quantity.value > 21;
    return [{ feature: 'supplementalOxygen', value: { value: onOxygen, source: `inspired oxygen ${quantity.value} ${ucum} — ${label}`, reference } }];
  }
  return [];
}

/** What one model can be given from the record: its inputs, or what is missing or unreadable. */
export type ModelInputs =
  | { ok: true; inputs: Record<string, unknown>; evidence: RecordValue[] }
  | { ok: false; missing: string[]; unreadable: string[] };

/**
 * The request body a model's card takes, from the record. A number goes as `{ value, unit }`
 * in the first card unit its UCUM unit may be, so the card converts and range-checks it; a
 * record unit the card does not accept is sent as recorded, and the card refuses it by name.
 */
export function inputsFor(features: FeatureSpec[], record: PatientRecord): ModelInputs {
  const inputs: Record<string, unknown> = {};
  const evidence: RecordValue[] = [];
  const missing: string[] = [];
  const unreadable: string[] = [];
  for (const feature of features) {
    const found = record.values.get(feature.name);
    if (!found) {
      const problem = record.unreadable.get(feature.name);
      if (problem) unreadable.push(problem);
      else if (feature.required && feature.default === undefined) missing.push(feature.display);
      continue;
    }
    evidence.push(found);
    if (feature.kind === 'number') {
      const accepted = Object.keys(feature.units ?? { [feature.unit!]: {} });
      const unit = found.units?.find((u) => accepted.includes(u)) ?? found.ucum ?? '';
      inputs[feature.name] = { value: found.value, unit };
    } else {
      inputs[feature.name] = found.value;
    }
  }
  return missing.length || unreadable.length ? { ok: false, missing, unreadable } : { ok: true, inputs, evidence };
}
