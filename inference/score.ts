import { performance } from 'node:perf_hooks';
import type { ScoreAnswer } from '../contract/calculations.ts';
import { canonicalInputs } from './features.ts';
import type { ScoreModel } from './registry.ts';
import { modelReference } from './risk.ts';
import { evaluateScore } from './scores/evaluate.ts';

export type { ScoreAnswer } from '../contract/calculations.ts';

/** One published score for one request: the same input contract and warnings as a risk model. */
export function evaluateScoreModel(model: ScoreModel, body: unknown): ScoreAnswer {
  const start = performance.now();
  const { card } = model;
  const { values, described, warnings } = canonicalInputs(card.features, body);
  const result = evaluateScore(card, values);
  return {
    ...result,
    model: modelReference(model),
    outcome: card.outcome,
    inputs: described,
    warnings,
    withinValidatedRange: warnings.length === 0,
    aiAssisted: card.aiAssisted,
    timingMs: Math.round((performance.now() - start) * 1000) / 1000,
  };
}
