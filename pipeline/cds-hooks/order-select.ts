import { orderSelectContext, type CdsResponse, type CdsService } from '../../contract/cds-hooks.ts';
import { checkPopulation } from '../../inference/applicability.ts';
import type { ModelRegistry } from '../../inference/registry.ts';
import type { Store } from '../../store/store.ts';
import { InvalidReferenceError } from '../../store/store.ts';
import { aiCoverageCard, studyCard, type CardContext, type Issued } from './cards.ts';
import { ageInYears, resourcesOf } from './fhir-inputs.ts';
import { answer, checkCall, patientIds, prefetchedPatient, type HookCall } from './hook-call.ts';

/**
 * The `order-select` service for imaging orders: when a clinician selects a chest radiograph
 * order, Lantern says whether its AI will read the film for this patient (the read-assist
 * cards' populations, checked with the same gate the worker uses, on what the order and the
 * Patient say: age, sex, body part) or is not applicable and why, and shows the patient's
 * recent studies here with their AI results (a film already read, or still pending, may make
 * the order unnecessary). Any other order gets no cards.
 */

export const ORDER_SELECT_SERVICE = {
  hook: 'order-select',
  id: 'lantern-imaging-order',
  title: 'Lantern: AI read-assist for a chest radiograph being ordered, and the patient\'s prior AI results',
  description: 'For a selected ServiceRequest for a chest radiograph: whether Lantern\'s AI models cover this patient (or are not applicable, and why), '
    + 'and the patient\'s recent studies in Lantern with their AI findings. AI-assisted decision support; a radiologist reads every film.',
  prefetch: { patient: 'Patient/{{context.patientId}}' },
  usageRequirements: 'As lantern-patient-view: a JWT from a configured CDS client or a Lantern bearer token; `patient` must be prefetched.',
} as const satisfies CdsService;

/** Codes of a plain chest radiograph order: LOINC radiology playbook and SNOMED CT procedure. */
const CHEST_RADIOGRAPH = new Set([
  'http://loinc.org|36643-5', // XR Chest 2 Views
  'http://loinc.org|24648-8', // XR Chest PA upright
  'http://loinc.org|30745-4', // XR Chest Views
  'http://snomed.info/sct|399208008', // Plain chest X-ray
]);

type Json = Record<string, unknown>;
type Deps = { registry: Pick<ModelRegistry, 'forModality'>; store: Pick<Store, 'patientStudies' | 'recordCdsCards'> };

const FHIR_SEX: Record<string, string> = { male: 'M', female: 'F', other: 'O' };

export async function orderSelect(deps: Deps, call: HookCall): Promise<{ response: CdsResponse; studies: string[] }> {
  const { request } = call;
  const prefetch = checkCall(ORDER_SELECT_SERVICE, request, ['patient']);
  const context = orderSelectContext.safeParse(request.context);
  if (!context.success) throw new InvalidReferenceError('context', 'order-select needs context.userId, context.patientId, context.selections (references) and context.draftOrders (a Bundle)');
  const { patientId, userId, selections, draftOrders } = context.data;
  const patient = prefetchedPatient(prefetch, patientId);

  const selected = resourcesOf(draftOrders).filter((r) => selections.includes(`${String(r.resourceType)}/${String(r.id)}`));
  const chestOrders = selected.filter((r) => r.resourceType === 'ServiceRequest'
    && ((r.code as Json | undefined)?.coding as Json[] | undefined ?? []).some((c) => CHEST_RADIOGRAPH.has(`${String(c.system)}|${String(c.code)}`)));
  const ctx: CardContext = { origin: call.origin, serviceId: ORDER_SELECT_SERVICE.id, hookInstance: request.hookInstance, actor: call.actor, patientId };
  if (chestOrders.length === 0) return { response: await answer(deps.store, ORDER_SELECT_SERVICE, call, [], { ehrUserId: userId, patientId, selections }), studies: [] };

  // What the worker will know of the film: the patient's age and sex, a chest, CR/DX. The view and the pixels come with the image.
  const age = typeof patient?.birthDate === 'string' ? ageInYears(patient.birthDate, new Date()) : undefined;
  const meta = {
    modality: 'CR', bodyPartExamined: 'CHEST',
    ...(age !== undefined ? { patientAge: `${String(age).padStart(3, '0')}Y` } : {}),
    ...(typeof patient?.gender === 'string' && FHIR_SEX[patient.gender] ? { patientSex: FHIR_SEX[patient.gender] } : {}),
  };
  const verdicts = deps.registry.forModality('CR').map((model) => ({ model: { id: model.card.id, version: model.card.version, title: model.card.title }, verdict: checkPopulation(meta, {}, model.card) }));
  const cards: Issued[] = [aiCoverageCard(ctx, verdicts)];
  const studies = await deps.store.patientStudies(patientIds(patient, patientId), call.sites);
  cards.push(...studies.map((study) => studyCard(ctx, study)));

  const response = await answer(deps.store, ORDER_SELECT_SERVICE, call, cards, {
    ehrUserId: userId, patientId, selections, orders: chestOrders.map((o) => `ServiceRequest/${String(o.id)}`), studies: studies.map((s) => s.studyInstanceUid),
  });
  return { response, studies: studies.map((s) => s.studyInstanceUid) };
}
