import { performance } from 'node:perf_hooks';
import type { ScoreAnswer, ScoreNotApplicable } from '../contract/calculations.ts';
import { checkScorePopulation } from './applicability.ts';
import { canonicalInputs } from './features.ts';
import type { ScoreModel } from './registry.ts';
import { modelReference } from './risk.ts';
import { evaluateScore } from './scores/evaluate.ts';

export type { ScoreAnswer, ScoreNotApplicable } from '../contract/calculations.ts';

/**
 * One published score for one request: the same input contract and warnings as a risk model.
 * A card with a population gate answers "not applicable" with the reason for a patient outside
 * it (no score, no band), and otherwise says what the gate could not check.
 */
export function evaluateScoreModel(model: ScoreModel, body: unknown): ScoreAnswer | ScoreNotApplicable {
  const start = performance.now();
  const { card } = model;
  const { values, described, warnings } = canonicalInputs(card.features, body);
  const common = { model: modelReference(model), outcome: card.outcome, inputs: described, aiAssisted: card.aiAssisted };
  const timingMs = () => Math.round((performance.now() - start) * 1000) / 1000;
  const gate = card.populationGate && checkScorePopulation({ age: values.age as number | undefined, sex: values.sex as string | undefined, pregnant: values.pregnant as string | undefined }, card.populationGate);
  if (gate && !gate.applicable) return { ...common, applicability: { applicable: false, reason: gate.reason!, caveats: gate.caveats }, timingMs: timingMs() };
  const result = evaluateScore(card, values);
  return {
    ...result,
    ...common,
    warnings,
    withinValidatedRange: warnings.length === 0,
    ...(gate ? { applicability: { applicable: true as const, caveats: gate.caveats } } : {}),
    timingMs: timingMs(),
  };
}

/** A score that declined the patient: outside its card's population. */
export const isNotApplicable = (answer: ScoreAnswer | ScoreNotApplicable): answer is ScoreNotApplicable => answer.applicability?.applicable === false;
