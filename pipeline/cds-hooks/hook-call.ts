import { cdsResponse, type CdsRequest, type CdsResponse, type CdsService } from '../../contract/cds-hooks.ts';
import type { Store } from '../../store/store.ts';
import { InvalidReferenceError } from '../../store/store.ts';
import type { Issued } from './cards.ts';

/** What every CDS Hooks service does around its own cards: the prefetch checks, and remembering what it answered. */

/** The request lacks prefetched data Lantern needs and will not fetch itself: 412 Precondition Failed, as CDS Hooks 2.0 says. */
export class PrefetchMissingError extends Error {
  readonly code = 'PREFETCH_MISSING';
}

/** One hook call as the route hands it over. */
export interface HookCall {
  request: CdsRequest;
  /** The authenticated user (a person, or the CDS client's mapped account). */
  actor: string;
  sites: readonly string[];
  /** The origin the client called: card links and model URLs point here. */
  origin: string;
  /** Claims of the client's JWT, for the audit record (who the EHR says is at the keyboard is one of them, never the actor). */
  client?: Record<string, unknown>;
}

type Json = Record<string, unknown>;

/** The call is for this service's hook, and every prefetch key it cannot do without was sent (a `null` value — no data — counts as sent). */
export function checkCall(service: CdsService & { prefetch: Record<string, string> }, request: CdsRequest, required: readonly string[]): Record<string, Json | null> {
  if (request.hook !== service.hook) throw new InvalidReferenceError('hook', `this service answers the ${service.hook} hook, not ${request.hook}`);
  const prefetch = request.prefetch ?? {};
  const absent = required.filter((key) => !(key in prefetch));
  if (absent.length) {
    throw new PrefetchMissingError(`prefetch ${absent.join(', ')} not sent; Lantern does not query fhirServer: prefetch ${absent.map((k) => `${k} (${service.prefetch[k]})`).join(', ')}`);
  }
  return prefetch;
}

/** The prefetched Patient, which must be the patient of the context: cards about someone else would be worse than none. */
export function prefetchedPatient(prefetch: Record<string, Json | null>, patientId: string): Json | undefined {
  const patient = prefetch.patient ?? undefined;
  if (patient && (patient.resourceType !== 'Patient' || patient.id !== patientId)) {
    throw new InvalidReferenceError('prefetch.patient', `prefetch.patient must be the Patient ${patientId} of context.patientId, got ${String(patient.resourceType)}/${String(patient.id)}`);
  }
  return patient;
}

/**
 * The values a study here may carry as DICOM Patient ID: the FHIR id and the Patient's
 * identifiers (values only: a DICOM Patient ID names no system).
 */
export function patientIds(patient: Json | undefined, patientId: string): string[] {
  const identifiers = Array.isArray(patient?.identifier) ? (patient.identifier as { value?: unknown }[]).map((i) => i.value) : [];
  return [...new Set([patientId, ...identifiers.filter((v): v is string => typeof v === 'string' && v.length > 0)])];
}

/** Checks the answer against the 2.0 schema, remembers its cards for feedback and audits them, in that order. */
export async function answer(store: Pick<Store, 'recordCdsCards'>, service: CdsService, call: HookCall, cards: Issued[], audit: Record<string, unknown>): Promise<CdsResponse> {
  const response = cdsResponse.parse({ cards: cards.map((c) => c.card) });
  await store.recordCdsCards({
    serviceId: service.id, hook: call.request.hook, hookInstance: call.request.hookInstance, actor: call.actor, sites: call.sites,
    cards: cards.map((c) => c.issued),
    audit: { client: call.client ?? null, ...audit },
  });
  return response;
}
