import { patientViewContext, type CdsResponse, type CdsService } from '../../contract/cds-hooks.ts';
import { assess, triageOf } from '../../inference/assess.ts';
import { withDeclinedScores } from '../../inference/triage.ts';
import { isRiskModel, isScoreModel, type ModelRegistry, type RiskModel, type ScoreModel } from '../../inference/registry.ts';
import type { Store } from '../../store/store.ts';
import { InvalidReferenceError } from '../../store/store.ts';
import { missingDataCard, notCalculatedCard, riskCard, scoreCard, studyCard, triageCard, type CardContext, type Issued } from './cards.ts';
import { inputsFor, readPatientRecord, resourcesOf, type RecordValue } from './fhir-inputs.ts';
import { answer, checkCall, patientIds, prefetchedPatient, type HookCall } from './hook-call.ts';

/**
 * The `patient-view` service: when a chart opens, the patient's Patient and Observations
 * (prefetched by the EHR) go through the same score, risk and triage code as `POST /v1/triage`
 * (inference/assess.ts), and the patient's studies here through what the AI said of them. The
 * cards are remembered (for feedback) and audited in one transaction before they are answered.
 */

export const PATIENT_VIEW_SERVICE = {
  hook: 'patient-view',
  id: 'lantern-patient-view',
  title: 'Lantern: early-warning scores, risks, triage and imaging AI for this patient',
  description: 'NEWS2, qSOFA, CURB-65 and the risk models Lantern serves, calculated from the chart\'s vital signs and labs (LOINC codes, UCUM units), '
    + 'fused by Lantern\'s triage policy; and the patient\'s studies in Lantern with their AI findings. Every card is AI-assisted decision support with its model\'s provenance.',
  prefetch: {
    patient: 'Patient/{{context.patientId}}',
    vitals: 'Observation?patient={{context.patientId}}&category=vital-signs&_sort=-date&_count=100',
    labs: 'Observation?patient={{context.patientId}}&category=laboratory&_sort=-date&_count=100',
    assessments: 'Observation?patient={{context.patientId}}&category=survey&_sort=-date&_count=50',
    pregnancy: 'Observation?patient={{context.patientId}}&code=http://loinc.org|82810-3&_sort=-date&_count=1',
  },
  usageRequirements: 'The EHR signs each call with a JWT from a key Lantern is configured to trust (LANTERN_CDS_CLIENTS), or sends a Lantern bearer token of a clinical user. '
    + '`patient` and `vitals` must be prefetched (Lantern does not call fhirServer); studies are matched by the Patient\'s id and identifiers against DICOM Patient ID.',
} as const satisfies CdsService;

/** Prefetch keys without which nothing can be calculated; the others only widen what can. */
const REQUIRED_PREFETCH = ['patient', 'vitals'] as const;

type Deps = { registry: Pick<ModelRegistry, 'models' | 'latest' | 'triagePolicy'>; store: Pick<Store, 'patientStudies' | 'recordCdsCards'> };

/** The cards for one chart opening, and the studies they showed (for the read audit). */
export async function patientView(deps: Deps, call: HookCall): Promise<{ response: CdsResponse; studies: string[] }> {
  const { request } = call;
  const prefetch = checkCall(PATIENT_VIEW_SERVICE, request, REQUIRED_PREFETCH);
  const context = patientViewContext.safeParse(request.context);
  if (!context.success) throw new InvalidReferenceError('context', 'patient-view needs context.userId and context.patientId (non-empty strings)');
  const { patientId, userId } = context.data;
  const patient = prefetchedPatient(prefetch, patientId);
  const observations = Object.entries(prefetch).filter(([key]) => key !== 'patient').flatMap(([, value]) => resourcesOf(value));
  const record = readPatientRecord(patient, observations, patientId, new Date());

  // Every score and risk model served, at its latest version; each gets what the record holds for its card's features.
  const ids = [...new Set(deps.registry.models.filter((m) => isScoreModel(m) || isRiskModel(m)).map((m) => m.card.id))];
  const models = ids.map((id) => deps.registry.latest(id) as ScoreModel | RiskModel);
  const wanted: { scores: Record<string, unknown>; risks: Record<string, unknown> } = { scores: {}, risks: {} };
  const evidence = new Map<string, RecordValue[]>();
  const unreadable: { model: ScoreModel | RiskModel; problems: string[] }[] = [];
  const missing: { title: string; needs: string[] }[] = [];
  for (const model of models) {
    const inputs = inputsFor(model.card.features, record);
    if (inputs.ok) {
      wanted[isScoreModel(model) ? 'scores' : 'risks'][model.card.id] = inputs.inputs;
      evidence.set(model.card.id, inputs.evidence);
    } else if (inputs.unreadable.length) unreadable.push({ model, problems: inputs.unreadable });
    else missing.push({ title: model.card.title, needs: inputs.missing });
  }
  const assessment = await assess(deps.registry, wanted);

  const ctx: CardContext = { origin: call.origin, serviceId: PATIENT_VIEW_SERVICE.id, hookInstance: request.hookInstance, actor: call.actor, patientId };
  const cards: Issued[] = [];
  const answers = [...Object.values(assessment.scores), ...Object.values(assessment.risks)];
  // A score declined for this patient (NEWS2 under 16) is named by the triage, which then never reads non-urgent.
  if (answers.length || Object.keys(assessment.notApplicable).length) {
    const policy = deps.registry.triagePolicy;
    cards.push(triageCard(ctx, triageOf(deps.registry, withDeclinedScores(assessment.clinical, assessment.notApplicable)), { title: policy.card.title, sha256: policy.sha256, aiAssisted: policy.card.aiAssisted }));
  }
  for (const answer of Object.values(assessment.scores)) {
    const model = models.find((m) => m.card.id === answer.model.id)!;
    cards.push(scoreCard(ctx, answer, model.card.bands, evidence.get(answer.model.id) ?? []));
  }
  for (const answer of Object.values(assessment.risks)) cards.push(riskCard(ctx, answer, evidence.get(answer.model.id) ?? []));
  const describe = (model: ScoreModel | RiskModel) => ({ id: model.card.id, title: model.card.title, population: model.card.population });
  for (const { model, problems } of unreadable) cards.push(notCalculatedCard(ctx, describe(model), problems, 'record'));
  for (const declined of Object.values(assessment.notApplicable)) {
    const model = models.find((m) => m.card.id === declined.model.id)!;
    cards.push(notCalculatedCard(ctx, describe(model), [declined.applicability.reason.text], 'population'));
  }
  for (const refusal of assessment.refused) {
    const model = models.find((m) => m.card.id === refusal.modelId)!;
    const display = (field: string) => model.card.features.find((f) => f.name === field)?.display ?? field;
    cards.push(notCalculatedCard(ctx, describe(model), refusal.issues.map((i) => `${display(i.field)}: ${i.message}`), 'record'));
  }

  const studies = await deps.store.patientStudies(patientIds(patient, patientId), call.sites);
  cards.push(...studies.map((study) => studyCard(ctx, study)));
  if (record.otherSubject) missing.push({ title: `${record.otherSubject} observation(s) whose subject is another patient (left out)`, needs: ['observations of this patient'] });
  if (missing.length) cards.push(missingDataCard(ctx, missing));

  const response = await answer(deps.store, PATIENT_VIEW_SERVICE, call, cards, {
    ehrUserId: userId,
    patientId,
    calculated: answers.map((a) => ({ model: a.model, inputs: a.inputs })),
    studies: studies.map((s) => s.studyInstanceUid),
  });
  return { response, studies: studies.map((s) => s.studyInstanceUid) };
}
