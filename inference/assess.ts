import type { RiskAnswer, ScoreAnswer, ScoreNotApplicable, TriageAnswer } from '../contract/calculations.ts';
import { InputValidationError } from './features.ts';
import { isRiskModel, isScoreModel, type ModelRegistry } from './registry.ts';
import { evaluateRisk, modelReference } from './risk.ts';
import { evaluateScoreModel, isNotApplicable } from './score.ts';
import type { ClinicalAssessment } from './triage.ts';
import { triage, type TriageInput } from './triage-policy/evaluate.ts';
import { answerFacts } from './triage-policy/fact-values.ts';
import { factCatalogue } from './triage-policy/facts.ts';

/**
 * One patient's scores and risks, evaluated model by model with the cards' own input contracts,
 * and the triage facts they declare: what `POST /v1/triage` and the CDS Hooks patient-view service
 * both compute, so a patient gets the same answer whichever door the data came in by.
 */

export type AssessmentGroup = 'scores' | 'risks';

/** Score model id → inputs, risk model id → inputs: the shape of `POST /v1/triage`. */
export interface AssessmentRequest {
  scores: Record<string, unknown>;
  risks: Record<string, unknown>;
}

/** A model that gave no answer: unknown, of the wrong task, or refusing its inputs (each field named). */
export interface AssessmentRefusal {
  group: AssessmentGroup;
  modelId: string;
  issues: { field: string; message: string }[];
}

export interface Assessment {
  scores: Record<string, ScoreAnswer>;
  /** Scores whose card's population does not cover the patient: answered with the reason, never in the facts. */
  notApplicable: Record<string, ScoreNotApplicable>;
  risks: Record<string, RiskAnswer>;
  refused: AssessmentRefusal[];
  /** The triage facts of every answer given: what the policy reads and a study stores. */
  clinical: ClinicalAssessment;
}

/** Evaluates every model named; a model whose inputs are refused is listed in `refused`, the others still answer. */
export async function assess(registry: Pick<ModelRegistry, 'latest' | 'models'>, request: AssessmentRequest): Promise<Assessment> {
  const scores: Record<string, ScoreAnswer> = {};
  const notApplicable: Record<string, ScoreNotApplicable> = {};
  const risks: Record<string, RiskAnswer> = {};
  const refused: AssessmentRefusal[] = [];
  for (const [group, inputs] of [['scores', request.scores], ['risks', request.risks]] as const) {
    for (const [modelId, input] of Object.entries(inputs)) {
      const model = registry.latest(modelId);
      const wanted = group === 'scores' ? model && isScoreModel(model) : model && isRiskModel(model);
      if (!model || !wanted) {
        refused.push({ group, modelId, issues: [{ field: '(model)', message: `no ${group === 'scores' ? 'score' : 'risk'} model ${modelId}; GET /v1/models lists them` }] });
        continue;
      }
      try {
        if (isScoreModel(model)) {
          const answer = evaluateScoreModel(model, input);
          if (isNotApplicable(answer)) notApplicable[modelId] = answer;
          else scores[modelId] = answer;
        }
        else if (isRiskModel(model)) risks[modelId] = await evaluateRisk(model, input);
      } catch (error) {
        if (!(error instanceof InputValidationError)) throw error;
        refused.push({ group, modelId, issues: error.issues });
      }
    }
  }
  const facts = factCatalogue(registry.models);
  const clinical: ClinicalAssessment = {
    facts: Object.assign({}, ...[...Object.values(scores), ...Object.values(risks)].map((answer) => answerFacts(facts, answer.model.id, { ...answer }))),
    scoreInputs: Object.fromEntries(Object.entries(scores).map(([modelId, answer]) =>
      [modelId, Object.fromEntries(Object.entries(answer.inputs).map(([name, input]) => [name, input.value]))])),
  };
  return { scores, notApplicable, risks, refused, clinical };
}

/** The refusals as one InputValidationError naming `<group>.<model>.<field>`, as the triage route answers them. */
export function refusalError(refused: AssessmentRefusal[]): InputValidationError {
  return new InputValidationError(refused.flatMap((r) => r.issues.map((i) => ({
    field: i.field === '(model)' ? `${r.group}.${r.modelId}` : `${r.group}.${r.modelId}.${i.field}`,
    message: i.message,
  }))));
}

/** The triage policy over an assessment (and imaging findings from elsewhere), with the policy card that gave it. */
export function triageOf(registry: Pick<ModelRegistry, 'triagePolicy' | 'models'>, clinical: ClinicalAssessment, findings?: TriageInput['findings']): TriageAnswer['triage'] {
  const policy = registry.triagePolicy;
  return { ...triage(policy.card, { ...clinical, findings }, factCatalogue(registry.models)), policy: modelReference(policy) };
}
