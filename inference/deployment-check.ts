import { ModelContractError } from './errors.ts';
import type { ReadAssistCard } from './model-card.ts';

type DeploymentFacts = Pick<ReadAssistCard, 'id' | 'version' | 'deployment' | 'canary' | 'modalities' | 'labels'>;

/**
 * The start-time check of the read-assist models' deployment states, across cards (each card's
 * own rules are in its schema: a canary has a share, a clinical or canary model an
 * out-of-distribution check). Refused: two clinical versions of one model id (which one a
 * clinician sees would be an accident of folder order), and two canary versions of one id
 * (their shares would overlap). Allowed but warned: a shadow or canary model with nothing
 * clinical to be compared with — no clinical model reads one of its modalities with one of
 * its labels — since live comparison then has only the radiologists to measure it against.
 * Returns the warnings.
 */
export function checkDeployments(modelsDir: string, cards: readonly DeploymentFacts[]): string[] {
  for (const state of ['clinical', 'canary'] as const) {
    const byId = new Map<string, string[]>();
    for (const card of cards.filter((c) => c.deployment === state)) byId.set(card.id, [...byId.get(card.id) ?? [], card.version]);
    for (const [id, versions] of byId) {
      if (versions.length > 1) {
        throw new ModelContractError(modelsDir, `${id} has ${versions.length} ${state} versions (${versions.join(', ')}); at most one version of a model may be ${state} — make the others shadow or evaluate-only`);
      }
    }
  }
  const clinical = cards.filter((c) => c.deployment === 'clinical');
  const comparable = (card: DeploymentFacts) => clinical.some((c) =>
    c.modalities.some((m) => card.modalities.includes(m)) && c.labels.some((l) => card.labels.some((own) => own.id === l.id)));
  return cards.filter((c) => (c.deployment === 'shadow' || c.deployment === 'canary') && !comparable(c))
    .map((c) => `${c.id}@${c.version} is ${c.deployment} but no clinical model reads ${c.modalities.join('/') || 'its modalities'} for ${c.labels.map((l) => l.id).join(', ')}: it can be compared with the radiologists' decisions only`);
}
