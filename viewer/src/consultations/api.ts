/**
 * The consultation calls (`/v1/consultations*`, docs/network.md), on the shared request
 * helper of ../api.ts (CSRF token, error handling). Wire shapes are the contract's.
 */
import type { Consultation, ConsultationOpinionRequest, ConsultationRequest } from '../../../contract/consultations.ts';
import { json, query, url } from '../api.ts';
import type { Locale } from '../i18n.ts';

export type {
  Consultation, ConsultationOpinionRequest, ConsultationRecommendation, ConsultationRequest, ConsultationStatus, ConsultationSubject, ConsultationUrgency,
} from '../../../contract/consultations.ts';

/** `queue`: cases the caller's sites are asked; `asked`: cases they asked. */
export type ConsultationBox = 'queue' | 'asked';

const post = (body?: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body ?? {}),
});

/** One box, in the server's order (the queue: triage level, then the SLA clock). */
export async function listConsultations(box: ConsultationBox, signal?: AbortSignal): Promise<Consultation[]> {
  return (await json<{ items: Consultation[] }>(`/v1/consultations${query({ box })}`, { signal })).items;
}

export function getConsultation(id: string, signal?: AbortSignal): Promise<Consultation> {
  return json<Consultation>(`/v1/consultations/${encodeURIComponent(id)}`, { signal });
}

export function askConsultation(body: ConsultationRequest): Promise<Consultation> {
  return json<Consultation>('/v1/consultations', post(body));
}

/** The answering site's consultant takes the case (`in-review`); opening it again changes nothing. */
export function openConsultation(id: string): Promise<Consultation> {
  return json<Consultation>(`/v1/consultations/${encodeURIComponent(id)}/open`, post());
}

export function answerConsultation(id: string, body: ConsultationOpinionRequest): Promise<Consultation> {
  return json<Consultation>(`/v1/consultations/${encodeURIComponent(id)}/opinion`, post(body));
}

export function withdrawConsultation(id: string): Promise<Consultation> {
  return json<Consultation>(`/v1/consultations/${encodeURIComponent(id)}/withdraw`, post());
}

/** The printable report of the whole exchange, for a link (the browser prints it or saves a PDF). */
export function consultationReportUrl(id: string, lang: Locale): string {
  return url(`/v1/consultations/${encodeURIComponent(id)}/report${query({ lang })}`);
}
