import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../config.ts';
import { modelCardSchema } from '../model-card.ts';
import type { TriageInput } from './evaluate.ts';
import { readAssessment } from './fact-values.ts';
import { factCatalogue, type FactCatalogue } from './facts.ts';

/**
 * Test support: the triage facts the shipped score and risk cards declare, read the way the
 * registry reads them (card schema, then the catalogue), without opening any ONNX session.
 */
export function shippedFactCatalogue(): FactCatalogue {
  const dir = join(repoRoot, 'models');
  const cards = readdirSync(dir)
    .filter((id) => existsSync(join(dir, id, 'model.json')))
    .map((id) => JSON.parse(readFileSync(join(dir, id, 'model.json'), 'utf8')) as { task?: unknown })
    // Model cards only: the folder also holds policies of other kinds (the surveillance policy).
    .filter((raw) => raw.task === 'score' || raw.task === 'risk')
    .map((raw) => modelCardSchema.parse(raw))
    .filter((card) => card.task === 'score' || card.task === 'risk');
  return factCatalogue(cards.map((card) => ({ card })));
}

/**
 * A patient described as a study assessed before triage facts stored it (scores by model id,
 * `risks` as a list), turned into the policy's input exactly as the prioritiser reads such a study;
 * `notApplicable` (scores declined) as today's assessments store it.
 */
export type AssessedBefore = Record<string, unknown> & Pick<TriageInput, 'findings' | 'notApplicable'>;
export const assessedBefore = ({ findings, notApplicable, ...clinical }: AssessedBefore, catalogue: FactCatalogue): TriageInput =>
  ({ ...readAssessment(clinical, catalogue), ...(notApplicable ? { notApplicable } : {}), ...(findings ? { findings } : {}) });
