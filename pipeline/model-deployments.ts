import type { ModelRegistry, ReadAssistModel } from '../inference/registry.ts';
import { logger } from '../log.ts';
import type { Store } from '../store/store.ts';

/**
 * At the API's start: says what the registry's deployment check warned about, and records each
 * read-assist model version's deployment state, auditing each change from the last start
 * (`model.deployment-changed`, actor `system:registry`; store/deployments.ts). A change of
 * deployment is a change of card: this is where it becomes part of the audit trail.
 */
export async function recordDeploymentStates(store: Pick<Store, 'recordModelDeployments'>, registry: Pick<ModelRegistry, 'models' | 'warnings'>): Promise<void> {
  for (const warning of registry.warnings) logger.warn({ warning }, 'model deployment');
  const readAssist = registry.models.filter((m): m is ReadAssistModel => m.card.task === 'read-assist');
  const changes = await store.recordModelDeployments(readAssist.map((m) => ({
    modelKey: m.key, deployment: m.card.deployment, ...(m.card.canary && { canary: m.card.canary }), cardSha256: m.cardSha256,
  })));
  for (const change of changes) logger.info({ model: change.entityId, ...change.payload as object }, 'model deployment changed');
}
