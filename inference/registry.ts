/**
 * The model registry: every card under the models folder loaded, checked against its weights and
 * contract, and refused at start with a clear message (hash, tensors, preprocessing, scoring,
 * triage facts, deployment states, the surveillance policy). Just over 300 lines because the
 * checks that span cards (triage facts, deployments) must see every card at once, here.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { ModelContractError } from './errors.ts';
import { modelCardSchema, type ModelCard, type ReadAssistCard, type RiskCard, type ScoreCard, type TriageCard } from './model-card.ts';
import { chainMismatch, compileChain, PreprocessingError, type Chain } from './preprocess/index.ts';
import { bandTableProblems } from './rules/bands.ts';
import { checkScoring } from './scores/table.ts';
import { checkTriageFacts, factCatalogue } from './triage-policy/facts.ts';
import { checkPolicy } from './triage-policy/policy.ts';
import { isSurveillancePolicyFolder, loadSurveillancePolicy, type SurveillancePolicy } from './surveillance/policy.ts';
import { compareVersions } from './versions.ts';
import { checkDeployments } from './deployment-check.ts';
import { deploymentFor, type StudyToRead } from './deployment.ts';
import type { RunDeployment } from '../contract/jobs.ts';

export interface SessionOptions {
  /** Intra-op threads per session; 1 keeps one job per core when several workers share a box. */
  threads: number;
}

interface Loaded<Card> {
  card: Card;
  dir: string;
  /** `id@version`: the unit jobs, findings and answers refer to. */
  key: string;
  /** SHA-256 of what the model computes with: the weights, or the card itself for declarative models. */
  sha256: string;
}

export interface ReadAssistModel extends Loaded<ReadAssistCard> {
  session: ort.InferenceSession;
  /** SHA-256 of `model.json` as read: what a deployment change (a card change) is recorded against. */
  cardSha256: string;
  /** `preprocessing.id@version`, recorded in every finding. */
  preprocessing: string;
  /** The card's preprocessing steps, checked at load against the graph's input. */
  chain: Chain;
}
export interface RiskModel extends Loaded<RiskCard> {
  session: ort.InferenceSession;
}
export type ScoreModel = Loaded<ScoreCard>;
export type TriageModel = Loaded<TriageCard>;
export type LoadedModel = ReadAssistModel | RiskModel | ScoreModel | TriageModel;

export const isRiskModel = (model: LoadedModel): model is RiskModel => model.card.task === 'risk';
export const isScoreModel = (model: LoadedModel): model is ScoreModel => model.card.task === 'score';

export interface ModelRegistry {
  models: LoadedModel[];
  get(key: string): LoadedModel;
  /** A loaded read-assist model, or ModelContractError naming what `key` is instead. */
  readAssist(key: string): ReadAssistModel;
  /** Clinical read-assist models whose card lists this modality (not canary, shadow or evaluate-only ones). */
  forModality(modality: string | undefined): ReadAssistModel[];
  /**
   * Every read-assist model that runs on this study, and how: clinical, canary (clinical or
   * shadow for this study, inference/deployment.ts) and shadow models; not evaluate-only ones.
   */
  forStudy(modality: string | undefined, study: StudyToRead): { model: ReadAssistModel; deployment: RunDeployment }[];
  /** What the deployment check at start allowed but a model team should hear (inference/deployment-check.ts). */
  warnings: string[];
  /** The highest loaded version of a model id. */
  latest(id: string): LoadedModel | undefined;
  /**
   * The version of a model id that clinicians are shown: the highest clinical or canary one,
   * else (no version answers clinicians) the highest loaded. A shadow version may be newer;
   * its card must not stand in for the version whose findings a reader sees.
   */
  shown(id: string): LoadedModel | undefined;
  /** The one triage policy every study and patient is prioritised by. */
  triagePolicy: TriageModel;
  /** The surveillance policy (`task: surveillance`), when the folder ships one: at most one. */
  surveillancePolicy?: SurveillancePolicy;
  close(): Promise<void>;
}

/** Every folder under `modelsDir` that holds a `model.json`. */
export function modelFolders(modelsDir: string): string[] {
  return fs.existsSync(modelsDir)
    ? fs.readdirSync(modelsDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && fs.existsSync(path.join(modelsDir, d.name, 'model.json')))
      .map((d) => path.join(modelsDir, d.name))
    : [];
}

/** The folder of the model whose card has this id: the folder named so, else the one whose card says so. */
export function findModelFolder(modelsDir: string, id: string): string | undefined {
  const direct = path.join(modelsDir, id);
  if (fs.existsSync(path.join(direct, 'model.json'))) return direct;
  return modelFolders(modelsDir).find((dir) => (JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as { id?: string }).id === id);
}

/**
 * Loads every `<modelsDir>/<folder>/model.json` + weights, and checks each contract
 * before returning: the card parses, the weights hash to the card's sha256, the graph
 * exposes exactly the declared inputs and outputs with matching types and ranks, and
 * a warm-up run succeeds. Any breach throws ModelContractError naming the folder.
 */
export async function loadModelRegistry(modelsDir: string, options: SessionOptions): Promise<ModelRegistry> {
  const models: LoadedModel[] = [];
  // A surveillance policy is a card but not a model: checked here at start, kept out of the model list.
  const [surveillance, ...moreSurveillance] = modelFolders(modelsDir).filter(isSurveillancePolicyFolder);
  if (moreSurveillance.length) throw new ModelContractError(modelsDir, `at most one surveillance policy, found ${[surveillance, ...moreSurveillance].map((d) => path.basename(d)).join(', ')}`);
  // Checked first: a broken card refuses the start before any ONNX session is opened.
  const surveillancePolicy = surveillance ? loadSurveillancePolicy(surveillance) : undefined;
  for (const dir of modelFolders(modelsDir)) if (dir !== surveillance) models.push(await loadModel(dir, options));
  const byKey = new Map(models.map((m) => [m.key, m]));
  if (byKey.size !== models.length) throw new ModelContractError(modelsDir, 'two model folders declare the same id@version');
  const policies = models.filter((m): m is TriageModel => m.card.task === 'triage');
  if (policies.length !== 1) {
    throw new ModelContractError(modelsDir, `exactly one triage policy must be loaded, found ${policies.length}${policies.length ? ` (${policies.map((p) => p.key).join(', ')})` : ''}`);
  }
  // The policy may read only facts the loaded score and risk cards declare (and the built-in finding facts).
  refuseUnless(modelsDir, () => factCatalogue(models));
  refuseUnless(policies[0].dir, () => checkPolicy(policies[0].card, factCatalogue(models)));
  const readAssistModels = models.filter((m): m is ReadAssistModel => m.card.task === 'read-assist');
  const warnings = checkDeployments(modelsDir, readAssistModels.map((m) => m.card));
  const newestFirst = (id: string) => models.filter((m) => m.card.id === id).sort((a, b) => compareVersions(b.card.version, a.card.version));
  const reads = (m: ReadAssistModel, modality: string | undefined) => modality !== undefined && m.card.modalities.includes(modality);
  const get = (key: string) => {
    const model = byKey.get(key);
    if (!model) throw new ModelContractError(key, 'is not loaded in this process');
    return model;
  };
  return {
    models,
    get,
    triagePolicy: policies[0],
    ...(surveillancePolicy ? { surveillancePolicy } : {}),
    readAssist(key) {
      const model = get(key);
      if (model.card.task !== 'read-assist') throw new ModelContractError(key, `is a ${model.card.task} model, not read-assist`);
      return model as ReadAssistModel;
    },
    forModality: (modality) => readAssistModels.filter((m) => m.card.deployment === 'clinical' && reads(m, modality)),
    forStudy: (modality, study) => readAssistModels.filter((m) => reads(m, modality))
      .flatMap((model) => {
        const deployment = deploymentFor(model.card, study);
        return deployment ? [{ model, deployment }] : [];
      }),
    warnings,
    latest: (id) => newestFirst(id)[0],
    shown: (id) => {
      const versions = newestFirst(id);
      return versions.find((m) => m.card.task !== 'read-assist' || m.card.deployment === 'clinical' || m.card.deployment === 'canary') ?? versions[0];
    },
    async close() {
      await Promise.all(models.map((m) => ('session' in m ? m.session.release() : undefined)));
    },
  };
}

export async function loadModel(dir: string, options: SessionOptions): Promise<LoadedModel> {
  const { card, text } = readCard(dir);
  const key = `${card.id}@${card.version}`;
  switch (card.task) {
    case 'read-assist': {
      const { session, sha256 } = await openSession(dir, card, options);
      const chain = compileChainOf(dir, key, card);
      for (const label of card.labels) {
        const output = card.outputs.find((o) => o.name === label.output);
        if (!output) throw new ModelContractError(dir, `label ${label.id} reads output ${label.output}, which the card does not declare`);
        if (output.shape.length !== 2 || (output.shape[1] !== -1 && label.index >= output.shape[1])) {
          throw new ModelContractError(dir, `label ${label.id} reads column ${label.index} of output ${label.output}, which the card declares as [${output.shape.join(', ')}]; a label output is [N, labels]`);
        }
        const heatmap = label.heatmapOutput === undefined ? undefined : card.outputs.find((o) => o.name === label.heatmapOutput);
        if (label.heatmapOutput && !heatmap) {
          throw new ModelContractError(dir, `label ${label.id} reads heatmap ${label.heatmapOutput}, which the card does not declare`);
        }
        if (heatmap && (heatmap.shape.length !== 4 || (heatmap.shape[1] !== -1 && label.heatmapIndex >= heatmap.shape[1]))) {
          throw new ModelContractError(dir, `label ${label.id} reads map ${label.heatmapIndex} of heatmap ${heatmap.name}, which the card declares as [${heatmap.shape.join(', ')}]; a heatmap output is [N, maps, height, width]`);
        }
        if (!card.operatingPoints.some((p) => p.label === label.id)) throw new ModelContractError(dir, `label ${label.id} has no operating point`);
      }
      const oodOutput = card.outOfDistribution?.output;
      const ood = card.outputs.find((o) => o.name === oodOutput);
      if (oodOutput && (ood?.dtype !== 'float32' || ood.shape.join(',') !== '-1,1')) {
        throw new ModelContractError(dir, `outOfDistribution reads output ${oodOutput}, which the card must declare as float32 [-1, 1]`);
      }
      const [input] = card.inputs;
      const problem = await chainMismatch(chain, input, session.inputMetadata.find((m) => m.name === input.name) as Parameters<typeof chainMismatch>[2]);
      if (problem) throw new ModelContractError(dir, `${key}: ${problem}`);
      return { card, dir, key, cardSha256: sha256Of(text), sha256, session, preprocessing: chain.key, chain };
    }
    case 'risk': {
      const [input] = card.inputs;
      if (input.name !== 'features' || input.shape.length !== 2 || input.shape[1] !== card.features.length) {
        throw new ModelContractError(dir, `a risk model takes one input "features" of shape [-1, ${card.features.length}] (one column per card feature)`);
      }
      const contributions = card.outputs.find((o) => o.name === 'contributions');
      if (!card.outputs.some((o) => o.name === 'risk') || contributions?.shape[1] !== card.explanation.terms.length) {
        throw new ModelContractError(dir, `a risk model outputs "risk" [-1, 1] and "contributions" [-1, ${card.explanation.terms.length}] (one column per explanation term)`);
      }
      checkBands(dir, card.bands);
      refuseUnless(dir, () => checkTriageFacts(card));
      const { session, sha256 } = await openSession(dir, card, options);
      return { card, dir, key, sha256, session };
    }
    case 'score':
      checkBands(dir, card.bands);
      refuseUnless(dir, () => checkScoring(card, card.features.map((f) => f.name)));
      refuseUnless(dir, () => checkTriageFacts(card));
      return { card, dir, key, sha256: sha256Of(text) };
    case 'triage':
      refuseUnless(dir, () => checkPolicy(card));
      return { card, dir, key, sha256: sha256Of(text) };
  }
}

/** The card's preprocessing as a runnable chain; a step Lantern does not know or options it cannot read refuse the model. */
function compileChainOf(dir: string, key: string, card: ReadAssistCard): Chain {
  try {
    return compileChain(card.preprocessing);
  } catch (error) {
    if (error instanceof PreprocessingError) throw new ModelContractError(dir, `${key}: ${error.message}`);
    throw error;
  }
}

/** A declarative table or policy that its evaluator cannot read is a broken contract, found at start. */
function refuseUnless(dir: string, check: () => unknown): void {
  try {
    check();
  } catch (error) {
    throw new ModelContractError(dir, (error as Error).message);
  }
}

const sha256Of = (bytes: string | Buffer) => createHash('sha256').update(bytes).digest('hex');

function checkBands(dir: string, bands: { label: string; below?: number }[]): void {
  const [problem] = bandTableProblems(bands);
  if (problem) throw new ModelContractError(dir, problem.message);
}

/** Checks the weights against the card's hash, opens the session, checks the graph's contract and warms it up. */
async function openSession(dir: string, card: ReadAssistCard | RiskCard, options: SessionOptions): Promise<{ session: ort.InferenceSession; sha256: string }> {
  const weightsPath = path.join(dir, card.weights.file);
  if (!fs.existsSync(weightsPath)) throw new ModelContractError(dir, `weights file ${card.weights.file} is missing`);
  const weights = fs.readFileSync(weightsPath);
  const sha256 = sha256Of(weights);
  if (sha256 !== card.weights.sha256) {
    throw new ModelContractError(dir, `weights sha256 is ${sha256} but the card says ${card.weights.sha256}; refusing weights that are not the ones evaluated`);
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(weights, {
      intraOpNumThreads: options.threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      // Spinning threads burn a core waiting for work; on a shared box that core belongs to
      // another worker (benchmarks/flops: 2 spinning threads ran 2.4× slower under contention).
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    } as ort.InferenceSession.SessionOptions);
  } catch (error) {
    throw new ModelContractError(dir, `onnxruntime cannot load ${card.weights.file}: ${(error as Error).message}`);
  }
  checkTensors(dir, 'input', card.inputs, session.inputMetadata);
  checkTensors(dir, 'output', card.outputs, session.outputMetadata);
  await warmUp(dir, card, session);
  return { session, sha256 };
}

function readCard(dir: string): { card: ModelCard; text: string } {
  let raw: unknown;
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, 'model.json'), 'utf8');
    raw = JSON.parse(text);
  } catch (error) {
    throw new ModelContractError(dir, `model.json is not readable JSON: ${(error as Error).message}`);
  }
  const parsed = modelCardSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ModelContractError(dir, `model.json breaks the card schema: ${problems}`);
  }
  return { card: parsed.data, text };
}

function checkTensors(dir: string, kind: string, declared: ReadAssistCard['inputs'], actual: readonly ort.InferenceSession.ValueMetadata[]): void {
  const declaredNames = declared.map((d) => d.name).sort().join(', ');
  const actualNames = actual.map((a) => a.name).sort().join(', ');
  if (declaredNames !== actualNames) throw new ModelContractError(dir, `card declares ${kind}s [${declaredNames}] but the graph has [${actualNames}]`);
  for (const spec of declared) {
    const meta = actual.find((a) => a.name === spec.name)!;
    if (!meta.isTensor) throw new ModelContractError(dir, `${kind} ${spec.name} is not a tensor`);
    if (meta.type !== spec.dtype) throw new ModelContractError(dir, `${kind} ${spec.name} is ${meta.type} in the graph but ${spec.dtype} on the card`);
    if (meta.shape.length !== spec.shape.length) {
      throw new ModelContractError(dir, `${kind} ${spec.name} has rank ${meta.shape.length} in the graph but ${spec.shape.length} on the card`);
    }
    meta.shape.forEach((dim, i) => {
      const want = spec.shape[i];
      if (want !== -1 && typeof dim === 'number' && dim !== want) {
        throw new ModelContractError(dir, `${kind} ${spec.name} dimension ${i} is ${dim} in the graph but ${want} on the card`);
      }
    });
  }
}

/** One run at start: the first real request must not pay allocation and kernel selection. */
async function warmUp(dir: string, card: ReadAssistCard | RiskCard, session: ort.InferenceSession): Promise<void> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of card.inputs) {
    if (input.dtype !== 'float32') continue;
    const shape = input.shape.map((d) => (d === -1 ? 1 : d));
    feeds[input.name] = new ort.Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  }
  if (Object.keys(feeds).length !== card.inputs.length) return;
  try {
    const outputs = await session.run(feeds);
    for (const output of card.outputs) {
      const produced = outputs[output.name];
      const expected = output.shape.map((d) => (d === -1 ? 1 : d));
      if (produced.dims.join('x') !== expected.join('x')) {
        throw new ModelContractError(dir, `output ${output.name} has shape ${produced.dims.join('x')} on a warm-up batch of 1, card says ${expected.join('x')}`);
      }
    }
  } catch (error) {
    if (error instanceof ModelContractError) throw error;
    throw new ModelContractError(dir, `warm-up run failed: ${(error as Error).message}`);
  }
}
