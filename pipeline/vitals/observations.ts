import { VITAL_PARAMETERS, type VitalParameter, type VitalsRequest } from '../../contract/vitals.ts';
import { canonicalInputs, InputValidationError } from '../../inference/features.ts';
import type { FeatureSpec } from '../../inference/model-card.ts';
import { isScoreModel, type ModelRegistry, type ScoreModel } from '../../inference/registry.ts';
import type { VitalReadingInput } from '../../store/vitals.ts';

/**
 * One vital-sign reading as Lantern keeps it, whichever door it came in by (FHIR or JSON): the
 * NEWS2 card's parameter, the value in the card's canonical unit, and what was sent. Each value
 * is converted and range-checked by the card itself (inference/features.ts `canonicalInputs`,
 * the same code the hints form goes through), so "98.6 °C" or "SpO2 130 %" is refused with the
 * card's own reason, and a unit the card does not take is refused, never guessed.
 */

/** One patient's readings from one request: what the store ingests atomically with the others of the request. */
export interface PatientObservations {
  siteId: string;
  patientId: string;
  observations: VitalReadingInput[];
}

/** A reading before checking: the parameter, the value and unit as sent, and where in the request it was (for the 422). */
export interface RawReading {
  parameter: VitalParameter;
  value: unknown;
  unit?: string;
  at: string;
  deviceId: string;
  source: 'fhir' | 'json';
  /** `observations.3`, `entry[2].resource.component[0]`: named in the refusal. */
  field: string;
}

/**
 * Clock skew allowed between a device and the server: a reading stamped later than this
 * ahead of now is refused (a device clock gone wrong would otherwise pin "latest" for days).
 */
export const FUTURE_SKEW_MS = 5 * 60_000;

const NEWS2 = 'news2';

/** The NEWS2 card the registry serves: the one source of parameters, units, ranges and points. */
export function news2Model(registry: Pick<ModelRegistry, 'latest'>): ScoreModel {
  const model = registry.latest(NEWS2);
  if (!model || !isScoreModel(model)) throw new Error('the NEWS2 score card (models/news2) is not loaded; home vital signs need it');
  return model;
}

/** The card's feature of each parameter Lantern takes as an observation. */
export function vitalFeatures(model: ScoreModel): Map<VitalParameter, FeatureSpec> {
  const features = new Map<VitalParameter, FeatureSpec>();
  for (const parameter of VITAL_PARAMETERS) {
    const feature = model.card.features.find((f) => f.name === parameter);
    if (!feature) throw new Error(`the NEWS2 card declares no feature ${parameter}`);
    features.set(parameter, feature);
  }
  return features;
}

/**
 * Checks every reading against the card and the clock; all problems are reported together, each
 * naming its reading, and nothing is returned unless every reading is good (a request is stored
 * whole or not at all).
 */
export function checkReadings(model: ScoreModel, readings: RawReading[], now: Date): VitalReadingInput[] {
  const features = vitalFeatures(model);
  const issues: { field: string; message: string }[] = [];
  const checked: VitalReadingInput[] = [];
  for (const r of readings) {
    const feature = features.get(r.parameter)!;
    const at = new Date(r.at);
    if (Number.isNaN(at.getTime())) {
      issues.push({ field: `${r.field}.at`, message: `${JSON.stringify(r.at)} is not a date-time` });
      continue;
    }
    if (at.getTime() > now.getTime() + FUTURE_SKEW_MS) {
      issues.push({ field: `${r.field}.at`, message: `${r.parameter} is stamped ${at.toISOString()}, in the future (the server's clock says ${now.toISOString()}); check the device clock` });
      continue;
    }
    const given = feature.kind === 'number' && r.unit !== undefined ? { value: r.value, unit: r.unit } : r.value;
    try {
      const { values } = canonicalInputs([feature], { [r.parameter]: given });
      checked.push({
        parameter: r.parameter,
        value: values[r.parameter],
        ...(feature.unit ? { unit: feature.unit } : {}),
        original: { value: String(r.value), ...(r.unit ? { unit: r.unit } : {}) },
        at,
        deviceId: r.deviceId,
        source: r.source,
      });
    } catch (error) {
      if (!(error instanceof InputValidationError)) throw error;
      issues.push(...error.issues.map((i) => ({ field: r.field, message: `${feature.display}: ${i.message}` })));
    }
  }
  if (issues.length) throw new InputValidationError(issues);
  return checked;
}

/** The device a reading names when none is given: readings of one device are told apart from another's by it. */
export const UNNAMED_DEVICE = '';

/** `POST /v1/vitals` as raw readings of one patient. */
export function jsonReadings(request: VitalsRequest): RawReading[] {
  return request.observations.map((o, i) => ({
    parameter: o.parameter, value: o.value, unit: o.unit, at: o.at, deviceId: request.deviceId ?? UNNAMED_DEVICE, source: 'json', field: `observations.${i}`,
  }));
}
