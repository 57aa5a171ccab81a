import type { DriftPolicy, ModelDrift, ModelDriftRunSummary } from '../contract/model-drift.ts';
import { DEFAULT_DRIFT_POLICY, driftAlerts, versionDrift, type DriftObservation } from '../inference/drift/windows.ts';
import type { Store } from '../store/store.ts';
import type { StoredDriftObservation } from '../store/model-drift.ts';

/** Said beside every drift answer: what the figures are about. */
export const DRIFT_NOTICE = 'Drift figures describe an AI model\'s inputs and outputs over time (AI-assisted monitoring); they are not a clinical finding.';

/** Alerts listed with a model's drift. */
const ALERT_LIST_BOUND = 500;

/**
 * Complete windows read per version after the reference (with the one filling): at the default
 * 200 a window, the latest 10,000 inferences — more than an hour of any installation's films, so
 * the hourly run never passes over a window — and what the drift screen charts.
 */
export const RECENT_DRIFT_WINDOWS = 50;

export type ModelDriftMonitor = ReturnType<typeof createModelDrift>;

/**
 * Drift monitoring per model: reads each model's inferences from the store, compares windows with
 * each version's reference (inference/drift/windows.ts) and raises alerts for complete windows
 * over the threshold. Evaluated periodically (pipeline/model-drift-schedule.ts) and on an admin's
 * request, never per result: the results consumer stays as fast as it was.
 */
export function createModelDrift(options: { store: Pick<Store, 'driftModelIds' | 'driftObservations' | 'raiseDriftAlerts' | 'listDriftAlerts'>; policy?: DriftPolicy; recentWindows?: number }) {
  const { store } = options;
  const policy = options.policy ?? DEFAULT_DRIFT_POLICY;
  const read = { referenceSize: policy.referenceSize, windowSize: policy.windowSize, recentWindows: options.recentWindows ?? RECENT_DRIFT_WINDOWS };

  const versionsOf = async (modelId: string) => byVersion(await store.driftObservations(modelId, read), policy.referenceSize, policy.windowSize)
    .map(({ version, observations, windowsLeftOut }) => versionDrift(version, observations, policy, windowsLeftOut));

  return {
    policy,

    /** A model's series per version and quantity, with its alerts (newest first). */
    async ofModel(modelId: string): Promise<ModelDrift> {
      const [versions, alerts] = await Promise.all([versionsOf(modelId), store.listDriftAlerts(modelId, ALERT_LIST_BOUND)]);
      return { modelId, policy, versions, alerts, aiAssisted: DRIFT_NOTICE };
    },

    /** Evaluates every model that has made findings and raises the alerts due; safe to run twice (alert ids derive from model, version, quantity and window). */
    async run(actor = 'system:drift'): Promise<ModelDriftRunSummary> {
      const models: ModelDriftRunSummary['models'] = [];
      for (const modelId of await store.driftModelIds()) {
        const versions = await versionsOf(modelId);
        const raised = await store.raiseDriftAlerts(versions.flatMap((v) => driftAlerts(modelId, v, policy)), actor);
        models.push({ modelId, versions: versions.length, windows: versions.reduce((n, v) => n + v.windows.filter((w) => w.complete).length, 0), raised });
      }
      return { models };
    },

    /**
     * The current drift score per model version: the largest PSI over the monitored quantities in
     * its latest complete window (null before one exists), with each quantity's. What a metrics
     * exporter publishes as a gauge (`lantern_model_drift_psi`).
     */
    async currentScores(): Promise<Array<{ modelId: string; version: string; window: number | null; psi: number | null; byQuantity: Record<string, number | null> }>> {
      const scores = [];
      for (const modelId of await store.driftModelIds()) {
        for (const version of await versionsOf(modelId)) {
          const latest = version.windows.filter((w) => w.complete).at(-1);
          const values = latest ? Object.values(latest.psi).filter((v): v is number => v !== null) : [];
          scores.push({ modelId, version: version.version, window: latest?.index ?? null, psi: values.length > 0 ? Math.max(...values) : null, byQuantity: latest?.psi ?? {} });
        }
      }
      return scores;
    },
  };
}

/**
 * Observations grouped by version (the store returns them ordered by version, then place), with
 * how many complete windows the store left out between a version's reference and the rest.
 */
function byVersion(observations: readonly StoredDriftObservation[], referenceSize: number, windowSize: number) {
  const versions = new Map<string, { version: string; observations: DriftObservation[]; windowsLeftOut: number }>();
  for (const { version, seq, ...observation } of observations) {
    const group = versions.get(version) ?? { version, observations: [], windowsLeftOut: 0 };
    if (group.observations.length === referenceSize) group.windowsLeftOut = (seq - 1 - referenceSize) / windowSize;
    group.observations.push(observation);
    versions.set(version, group);
  }
  return [...versions.values()];
}
