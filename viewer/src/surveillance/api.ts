/**
 * The surveillance calls (`/v1/surveillance/…`, docs/network.md), on the shared request helper of
 * ../api.ts (CSRF token, error handling). Wire shapes are the contract's.
 */
import type { SurveillanceAlert, SurveillanceSeries, SurveillanceSignalList } from '../../../contract/surveillance.ts';
import { json, query } from '../api.ts';

export type { SurveillanceAlert, SurveillanceSeries, SurveillanceSignalList } from '../../../contract/surveillance.ts';
export type SiteSeries = SurveillanceSeries['sites'][number];
export type SignalItem = SurveillanceSignalList['items'][number];

export function getSignals(signal?: AbortSignal): Promise<SurveillanceSignalList> {
  return json<SurveillanceSignalList>('/v1/surveillance/signals', { signal });
}

export function getSeries(q: { signal: string; from: string; to: string }, signal?: AbortSignal): Promise<SurveillanceSeries> {
  return json<SurveillanceSeries>(`/v1/surveillance/series${query(q)}`, { signal });
}

export async function getAlerts(status: SurveillanceAlert['status'] | undefined, signal?: AbortSignal): Promise<SurveillanceAlert[]> {
  return (await json<{ items: SurveillanceAlert[] }>(`/v1/surveillance/alerts${query({ status, limit: '100' })}`, { signal })).items;
}

export function acknowledgeAlert(id: string, note: string): Promise<SurveillanceAlert> {
  return json<SurveillanceAlert>(`/v1/surveillance/alerts/${encodeURIComponent(id)}/acknowledge`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ note }),
  });
}
