import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { modelCardSchema, type ScoreCard } from '../model-card.ts';
import { checkScoring } from './table.ts';

/**
 * Test support for models/<score>/model.test.ts: reads a score card the way the registry
 * will (card schema, then the scoring table against the card's own features), so a card
 * that the registry would refuse fails its model test too.
 */
export function loadScoreCard(dir: string): ScoreCard {
  const raw = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const card = modelCardSchema.parse(raw);
  if (card.task !== 'score') throw new Error(`${dir}: task is ${card.task}, not score`);
  checkScoring(card, card.features.map((f) => f.name));
  return card;
}

/** canonical = value × factor + offset, as docs/models.md defines `units`. */
export function toCanonical(card: ScoreCard, feature: string, value: number, unit: string): number {
  const spec = card.features.find((f) => f.name === feature)?.units?.[unit];
  if (!spec) throw new Error(`${card.id}: feature ${feature} does not accept ${unit}`);
  return value * spec.factor + (spec.offset ?? 0);
}
