/** The drift calls (`/v1/models/{modelId}/drift`, docs/models.md "Drift"), on the shared request helper of ../api.ts. */
import type { DriftAlert, ModelDrift } from '../../../contract/model-drift.ts';
import { json } from '../api.ts';

export type { DriftAlert, DriftQuantity, DriftWindow, ModelDrift, VersionDrift } from '../../../contract/model-drift.ts';

export function getDrift(modelId: string, signal?: AbortSignal): Promise<ModelDrift> {
  return json<ModelDrift>(`/v1/models/${encodeURIComponent(modelId)}/drift`, { signal });
}

export function acknowledgeDriftAlert(id: string, note: string): Promise<DriftAlert> {
  return json<DriftAlert>(`/v1/model-drift-alerts/${encodeURIComponent(id)}/acknowledge`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ note }),
  });
}
