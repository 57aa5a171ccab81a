import { z } from 'zod';
// A card's figures and bands are what `GET /v1/models` presents: their shapes are the contract's.
import { band, cardMetric } from '../contract/models.ts';
import { triageFactsSchema, triageMentionSchema } from './triage-policy/facts.ts';
import { preprocessingDeclaration } from './preprocess/declaration.ts';
import { canarySelection, cardDeployment } from '../contract/jobs.ts';

/**
 * The declarative contract of a model folder (`models/<id>/model.json`), one shape per
 * task. The registry refuses to load a model whose card does not parse, whose weights
 * do not hash to `weights.sha256`, or whose ONNX graph does not expose the declared
 * inputs/outputs. See docs/models.md for the meaning of each field.
 */
const tensorSpec = z.object({
  name: z.string().min(1),
  dtype: z.enum(['float32', 'int64', 'int32', 'uint8']),
  /** -1 marks a dynamic dimension (batch). */
  shape: z.array(z.number().int().min(-1)),
  units: z.string().optional(),
  range: z.tuple([z.number(), z.number()]).optional(),
});

const range = z.tuple([z.number(), z.number()]);

/**
 * One clinical input of a risk model or score: how a request names it, what units it
 * accepts, what is physiologically possible (else 422) and what the model was
 * validated on (else the answer is flagged, not refused).
 */
export const featureSpec = z.object({
  name: z.string().regex(/^[a-z][A-Za-z0-9]*$/, 'camelCase'),
  display: z.string(),
  displayZh: z.string().optional(),
  kind: z.enum(['number', 'boolean', 'enum']),
  /** Canonical unit: what the graph or table consumes. */
  unit: z.string().optional(),
  /** Accepted units → canonical: canonical = value × factor + (offset ?? 0). Include the canonical unit with factor 1. */
  units: z.record(z.string(), z.object({ factor: z.number().positive(), offset: z.number().optional() })).optional(),
  /** Physiologically possible range in the canonical unit; outside → 422. */
  accept: range.optional(),
  /** Range the model was derived/validated on, canonical unit; outside → answered but flagged. */
  validated: range.optional(),
  /** Enum values accepted. */
  values: z.array(z.string()).optional(),
  /** Enum values inside the validated population (others are answered but flagged). */
  validatedValues: z.array(z.string()).optional(),
  /** Enum → number fed to the graph/table; booleans are 0/1. */
  encoding: z.record(z.string(), z.number()).optional(),
  required: z.boolean().default(true),
  /** Used when an optional feature is absent. */
  default: z.union([z.number(), z.boolean(), z.string()]).optional(),
  help: z.string().optional(),
}).superRefine((f, ctx) => {
  if (f.kind === 'enum' && (!f.values || !f.encoding)) ctx.addIssue({ code: 'custom', message: `enum feature ${f.name} needs values and encoding` });
  if (f.kind === 'number' && !f.unit) ctx.addIssue({ code: 'custom', message: `number feature ${f.name} needs a unit` });
});

export type FeatureSpec = z.infer<typeof featureSpec>;

const common = {
  schemaVersion: z.literal(1),
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
  version: z.string().regex(/^\d+\.\d+\.\d+$/, 'semantic version x.y.z'),
  title: z.string(),
  titleZh: z.string().optional(),
  intendedUse: z.string().min(1),
  limitations: z.array(z.string()).min(1),
  aiAssisted: z.string().min(1),
  /** How `npm run eval` re-computes the card's metrics (see docs/models.md). */
  evaluation: z.record(z.string(), z.unknown()).optional(),
};

const weights = z.object({ file: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) });

/** Where the numbers come from: a training set with licence, or a publication. */
const provenance = z.object({ name: z.string(), licence: z.string() }).passthrough();


/**
 * Who and what a read-assist model was validated on. The worker checks each DICOM image
 * against it before inference; outside it, the finding is "not applicable" with the
 * reason, never a probability. `whenMissing` says what an absent attribute means:
 * `run-flagged` (answer, and say the attribute could not be checked) or
 * `not-applicable` (do not answer).
 */
const population = z.object({
  /** Plain-language statement of the population, shown with not-applicable answers. */
  description: z.string().min(1),
  descriptionZh: z.string().min(1),
  /** Body Part Examined (0018,0015) values accepted, upper case. */
  bodyParts: z.array(z.string().min(1)).min(1),
  /** View Position (0018,5101) values accepted: PA, AP, LL, RL, … */
  views: z.array(z.string().min(1)).min(1),
  /** Patient age in years, inclusive [min, max]: from Patient's Age (0010,1010), else Patient's Birth Date with Study Date. */
  ageYears: z.tuple([z.number().min(0), z.number().max(150)]),
  /** Patient's Sex (0010,0040) values accepted, when sex matters; absent = any. */
  sexes: z.array(z.enum(['M', 'F', 'O'])).optional(),
  /** Photometric Interpretations accepted. */
  photometric: z.array(z.enum(['MONOCHROME1', 'MONOCHROME2'])).min(1),
  /** Smallest Bits Stored accepted (e.g. 8: a screenshot-depth image is refused below it). */
  minBitsStored: z.number().int().min(1).max(16).default(8),
  /** Image Type (0008,0008) values that put an image outside (e.g. LOCALIZER, SECONDARY). */
  excludedImageTypes: z.array(z.string().min(1)).default([]),
  whenMissing: z.object({
    age: z.enum(['run-flagged', 'not-applicable']),
    view: z.enum(['run-flagged', 'not-applicable']),
    bodyPart: z.enum(['run-flagged', 'not-applicable']),
    sex: z.enum(['run-flagged', 'not-applicable']).default('run-flagged'),
  }),
});

/**
 * An image-level out-of-distribution check computed inside the graph from what the model
 * sees: `output` is a float32 [-1, 1] score, higher = further from the training images.
 * A score above `threshold` makes the finding "not applicable" (image unlike the training
 * data). The threshold is chosen on validation data (`thresholdRule`); `evaluation` holds
 * the detection figures reported on the card.
 */
const outOfDistribution = z.object({
  output: z.string().min(1),
  threshold: z.number(),
  method: z.string().min(1),
  thresholdRule: z.string().min(1),
  evaluation: z.record(z.string(), z.unknown()).optional(),
});

export type Population = z.infer<typeof population>;
export type OutOfDistribution = z.infer<typeof outOfDistribution>;

const readAssistCard = z.object({
  ...common,
  task: z.literal('read-assist'),
  /**
   * Where the model's answers go (docs/models.md "Deployment states"). `clinical`: run on every
   * incoming study of its modalities, shown to clinicians, may drive triage. `shadow`: run on the
   * same studies in the same workers at lower queue priority, stored with full provenance, never
   * shown to clinicians, in triage, SR or FHIR. `canary`: clinical for the studies `canary`
   * selects, shadow for the rest. `evaluate-only`: loaded, checked, evaluated and benchmarked,
   * never run on incoming studies (e.g. it does not yet beat chance convincingly).
   * `deploymentNote` says why.
   */
  deployment: cardDeployment.default('clinical'),
  canary: canarySelection.optional(),
  deploymentNote: z.string().optional(),
  /** Whether an applicable finding may move a study's priority (the triage policy ignores it otherwise). */
  drivesPriority: z.boolean(),
  /** Why the model may or may not drive priority, for the model team and the radiologist reading the card. */
  drivesPriorityNote: z.string().optional(),
  population,
  /** Required to serve: a model that cannot tell an unfamiliar image from a familiar one may only be evaluated. */
  outOfDistribution: outOfDistribution.optional(),
  modalities: z.array(z.string()).default([]),
  weights,
  inputs: z.array(tensorSpec).min(1),
  outputs: z.array(tensorSpec).min(1),
  labels: z.array(z.object({
    id: z.string(),
    display: z.string(),
    displayZh: z.string().optional(),
    /** The output holding this label's probability, [N, labels]: `index` is its column. */
    output: z.string(),
    index: z.number().int().min(0),
    /** The output holding this label's heatmap, [N, maps, h, w]: `heatmapIndex` (default 0) is its map. */
    heatmapOutput: z.string().optional(),
    heatmapIndex: z.number().int().min(0).default(0),
  })).min(1),
  /** The chain of steps from a decoded frame to the graph's input (inference/preprocess/, docs/models.md). */
  preprocessing: preprocessingDeclaration,
  operatingPoints: z.array(z.object({
    label: z.string(),
    name: z.string(),
    threshold: z.number().min(0).max(1),
    rule: z.string(),
  }).passthrough()).min(1),
  /** Probabilities in [low, high) are too uncertain to hint either way: the finding says "refer", not positive/negative. */
  referBands: z.array(z.object({ label: z.string(), low: z.number().min(0).max(1), high: z.number().min(0).max(1), rule: z.string() })).optional(),
  calibration: z.record(z.string(), z.unknown()).optional(),
  trainingData: provenance,
  metrics: z.array(cardMetric).min(1),
}).passthrough().superRefine((card, ctx) => {
  // A model whose answers reach clinicians (always, or for a canary's share) must know an unfamiliar image.
  if ((card.deployment === 'clinical' || card.deployment === 'canary') && !card.outOfDistribution) {
    ctx.addIssue({ code: 'custom', path: ['outOfDistribution'], message: `a ${card.deployment} read-assist model needs an outOfDistribution check (or deployment "shadow" or "evaluate-only")` });
  }
  if (card.deployment === 'canary' && !card.canary) ctx.addIssue({ code: 'custom', path: ['canary'], message: 'a canary model needs canary.share (0-1, the share of studies it is clinical for) and may list canary.sites' });
  if (card.deployment !== 'canary' && card.canary) ctx.addIssue({ code: 'custom', path: ['canary'], message: `canary applies to deployment "canary" only, not "${card.deployment}"` });
});

/** What the triage policy may read of a score's or risk's answer (inference/triage-policy/facts.ts). */
const triageVisible = {
  triageFacts: triageFactsSchema.default([]),
  triageMention: triageMentionSchema.optional(),
};

/**
 * A tabular ONNX model run in-process: input `features` float32 [N, features.length]
 * (card order, canonical units, booleans 0/1, enums encoded); outputs `risk` [N, 1] in
 * 0..1 and `contributions` [N, explanation.terms.length], each the exact additive
 * contribution of a term on the explanation's scale.
 */
const riskCard = z.object({
  ...common,
  task: z.literal('risk'),
  outcome: z.string(),
  horizon: z.string(),
  population: z.string(),
  weights,
  features: z.array(featureSpec).min(1),
  inputs: z.array(tensorSpec).length(1),
  outputs: z.array(tensorSpec).min(2),
  explanation: z.object({
    kind: z.enum(['log-hazard', 'log-odds', 'points']),
    terms: z.array(z.object({ name: z.string(), display: z.string(), displayZh: z.string().optional() })).min(1),
    note: z.string().optional(),
  }),
  bands: z.array(band).min(1),
  source: provenance,
  metrics: z.array(cardMetric).default([]),
  calibration: z.record(z.string(), z.unknown()).optional(),
  ...triageVisible,
}).passthrough();

/**
 * The part of a read-assist `population` a score can check from its own inputs: the patient's
 * age, from the card's feature `age`. Outside `ageYears` the score is "not applicable" with the
 * reason (inference/applicability.ts, the same check and wording as for an image); an age not
 * given is handled as `whenMissing.age` says.
 *
 * `excludesPregnancy`: a score not validated in pregnancy (NEWS2) reads the card's feature
 * `pregnant` ("yes"/"no"): "yes" declines with the reason and what to use instead. Not given, it is
 * handled as `whenMissing.pregnancy` says, but only where a pregnancy is possible: not for a patient
 * the card's `sex` input says is male, nor at an age outside `possibleAgeYears`.
 */
const scorePopulationGate = population.pick({ ageYears: true }).extend({
  excludesPregnancy: z.object({
    possibleAgeYears: z.tuple([z.number().min(0), z.number().max(150)]),
    /** What to use in pregnancy, named in the reason: e.g. an obstetric early-warning chart. */
    instead: z.string().min(1),
    insteadZh: z.string().min(1),
  }).optional(),
  whenMissing: z.object({ age: population.shape.whenMissing.shape.age, pregnancy: population.shape.whenMissing.shape.age.optional() }),
});

export type ScorePopulationGate = z.infer<typeof scorePopulationGate>;

/** A published points table, evaluated declaratively (no weights). `scoring` is read by inference/scores. */
const scoreCard = z.object({
  ...common,
  task: z.literal('score'),
  outcome: z.string(),
  population: z.string(),
  populationGate: scorePopulationGate.optional(),
  features: z.array(featureSpec).min(1),
  scoring: z.record(z.string(), z.unknown()),
  bands: z.array(band).min(1),
  source: provenance,
  metrics: z.array(cardMetric).default([]),
  ...triageVisible,
}).passthrough().superRefine((card, ctx) => {
  const gate = card.populationGate;
  if (gate && !card.features.some((f) => f.name === 'age' && f.kind === 'number')) {
    ctx.addIssue({ code: 'custom', path: ['populationGate'], message: 'a population gate reads the age: the card needs a number feature "age" (in years)' });
  }
  if (gate?.excludesPregnancy) {
    const pregnant = card.features.find((f) => f.name === 'pregnant');
    if (pregnant?.kind !== 'enum' || [...(pregnant.values ?? [])].sort().join() !== 'no,yes') {
      ctx.addIssue({ code: 'custom', path: ['populationGate', 'excludesPregnancy'], message: 'a gate that excludes pregnancy reads it: the card needs an enum feature "pregnant" with the values "yes" and "no"' });
    }
    if (!gate.whenMissing.pregnancy) ctx.addIssue({ code: 'custom', path: ['populationGate', 'whenMissing', 'pregnancy'], message: 'say what an unrecorded pregnancy does: run-flagged or not-applicable' });
  }
});

/** The triage policy: fuses findings, scores and risk into priority, level and reasons. `policy` is read by inference/triage-policy. */
const triageCard = z.object({
  ...common,
  task: z.literal('triage'),
  policy: z.record(z.string(), z.unknown()),
  source: provenance.optional(),
  metrics: z.array(cardMetric).default([]),
}).passthrough();

export const modelCardSchema = z.discriminatedUnion('task', [readAssistCard, riskCard, scoreCard, triageCard]);

export type ModelCard = z.infer<typeof modelCardSchema>;
export type ReadAssistCard = z.infer<typeof readAssistCard>;
export type RiskCard = z.infer<typeof riskCard>;
export type ScoreCard = z.infer<typeof scoreCard>;
export type TriageCard = z.infer<typeof triageCard>;
