import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import type { ModelReference, RiskAnswer } from '../contract/calculations.ts';
import { canonicalInputs } from './features.ts';
import type { RiskModel } from './registry.ts';
import { bandOf } from './rules/bands.ts';

export interface Band {
  label: string;
  display: string;
  displayZh?: string;
}

export type { ModelReference, RiskAnswer } from '../contract/calculations.ts';

/** The band a value falls in: the first whose exclusive upper bound exceeds it, else the last. */
export function bandFor(bands: (Band & { below?: number })[], value: number): Band {
  const band = bandOf(bands, value);
  return { label: band.label, display: band.display, ...(band.displayZh ? { displayZh: band.displayZh } : {}) };
}

export const modelReference = (model: { card: { id: string; version: string; title: string }; sha256: string }): ModelReference =>
  ({ id: model.card.id, version: model.card.version, title: model.card.title, sha256: model.sha256 });

/**
 * One risk answer for one request, in-process (tiny graphs: well under a millisecond).
 * Throws InputValidationError for input the card refuses; flags, never hides,
 * inputs outside the validated range or population.
 */
export async function evaluateRisk(model: RiskModel, body: unknown): Promise<RiskAnswer> {
  const start = performance.now();
  const { card } = model;
  const { vector, described, warnings } = canonicalInputs(card.features, body);
  const outputs = await model.session.run({ features: new ort.Tensor('float32', vector, [1, vector.length]) });
  const risk = (outputs.risk.data as Float32Array)[0];
  if (!Number.isFinite(risk)) throw new Error(`model ${model.key} produced a non-finite risk`);
  const parts = outputs.contributions.data as Float32Array;
  const contributions = card.explanation.terms
    .map((term, i) => ({ term: term.name, display: term.display, ...(term.displayZh ? { displayZh: term.displayZh } : {}), value: parts[i] }))
    .sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
  return {
    model: modelReference(model),
    outcome: card.outcome,
    horizon: card.horizon,
    risk,
    riskPercent: Math.round(risk * 10_000) / 100,
    band: bandFor(card.bands, risk),
    contributions,
    explanationKind: card.explanation.kind,
    inputs: described,
    warnings,
    withinValidatedRange: warnings.length === 0,
    aiAssisted: card.aiAssisted,
    timingMs: Math.round((performance.now() - start) * 1000) / 1000,
  };
}
