import { performance } from 'node:perf_hooks';
import { canonicalInputs, type CanonicalInputs, type RangeWarning } from './features.ts';
import type { ScoreModel } from './registry.ts';
import { modelReference, type ModelReference } from './risk.ts';
import { evaluateScore, type ScoreResult } from './scores/evaluate.ts';

export interface ScoreAnswer extends ScoreResult {
  model: ModelReference;
  outcome: string;
  inputs: CanonicalInputs['described'];
  warnings: RangeWarning[];
  withinValidatedRange: boolean;
  aiAssisted: string;
  timingMs: number;
}

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
