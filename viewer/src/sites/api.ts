/**
 * The site administration calls (`/v1/sites*`, docs/network.md), on the shared request helper
 * of ../api.ts (CSRF token, error handling). Wire shapes are the contract's.
 */
import type { ConsultationPolicy } from '../../../contract/consultations.ts';
import type { NewSite, Site, SiteChange } from '../../../contract/sites.ts';
import { json } from '../api.ts';

export { getSites } from '../api.ts';
export type { ConsultationPolicy } from '../../../contract/consultations.ts';
export type { NewSite, Site, SiteChange, SiteLevel } from '../../../contract/sites.ts';

const send = (method: 'POST' | 'PATCH' | 'PUT', body: unknown): RequestInit => ({
  method,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

const sitePath = (id: string) => `/v1/sites/${encodeURIComponent(id)}`;

export function createSite(site: NewSite): Promise<Site> {
  return json<Site>('/v1/sites', send('POST', site));
}

export function updateSite(id: string, change: SiteChange): Promise<Site> {
  return json<Site>(sitePath(id), send('PATCH', change));
}

/** The full list: it replaces the one before. */
export function setReadsFor(id: string, readsFor: string[]): Promise<Site> {
  return json<Site>(`${sitePath(id)}/reads-for`, send('PUT', { readsFor }));
}

export function getConsultationPolicy(id: string): Promise<ConsultationPolicy> {
  return json<ConsultationPolicy>(`${sitePath(id)}/consultation-policy`);
}

export function setConsultationPolicy(id: string, policy: ConsultationPolicy): Promise<ConsultationPolicy> {
  return json<ConsultationPolicy>(`${sitePath(id)}/consultation-policy`, send('PUT', policy));
}
