/** The model comparison calls (`/v1/model-comparison`, docs/models.md), on the shared request helper of ../api.ts. */
import type { ComparableModels, ModelComparison, PromotionChecklist } from '../../../contract/model-comparison.ts';
import { json, query, url } from '../api.ts';

export type { ModelComparison, PromotionChecklist } from '../../../contract/model-comparison.ts';

export type ComparableModel = ComparableModels['items'][number];

export async function getComparableModels(signal?: AbortSignal): Promise<ComparableModel[]> {
  return (await json<ComparableModels>('/v1/model-comparison/models', { signal })).items;
}

export function getComparison(a: string, b: string, signal?: AbortSignal): Promise<ModelComparison> {
  return json<ModelComparison>(`/v1/model-comparison${query({ a, b })}`, { signal });
}

/** For a download link: the summary and the disagreements as CSV. */
export function comparisonCsvUrl(a: string, b: string): string {
  return url(`/v1/model-comparison${query({ a, b, format: 'csv' })}`);
}

/** `candidate` would replace `incumbent`. */
export function getPromotion(candidate: string, incumbent: string, signal?: AbortSignal): Promise<PromotionChecklist> {
  return json<PromotionChecklist>(`/v1/model-comparison/promotion${query({ candidate, incumbent })}`, { signal });
}
