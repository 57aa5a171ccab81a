import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { decodeFrame } from '../dicom/decode/index.ts';
import { DEFAULT_DICOM_LIMITS, type DicomLimits } from '../dicom/limits.ts';
import { parseDicom, requirePixelData } from '../dicom/parse.ts';
import type { Applicability, FindingInput } from '../contract/findings.ts';
import { checkPopulation, outOfDistributionReason } from './applicability.ts';
import { inputStatsOf } from './input-stats.ts';
import type { ModelImage } from './preprocess/index.ts';
import type { ReadAssistModel } from './registry.ts';
import { stageTimer } from './stage-timer.ts';

export interface ReadAssistOptions {
  /**
   * Leave heatmaps out (the degradation ladder's step 2, queue/degradation.ts): only the outputs the
   * findings need are fetched, and each finding carries a caveat saying its heatmap was skipped.
   */
  skipHeatmaps?: boolean;
}

/** The caveat of a finding made without its heatmap: the viewer shows it with the finding. */
export const HEATMAP_SKIPPED = {
  code: 'heatmap-skipped-under-load',
  text: 'Heatmap not computed: the AI queue was under load (low triage level); the probability is unaffected',
  textZh: '未生成热力图：AI队列负载过高（低分诊级别）；概率不受影响',
};

export interface ReadAssistResult {
  sopInstanceUid: string;
  findings: FindingInput[];
}

/** Stable id of one model's finding for one label on one instance: a re-run writes the same row. */
export function findingId(sopInstanceUid: string, modelKey: string, label: string): string {
  return createHash('sha256').update(`${sopInstanceUid}|${modelKey}|${label}`).digest('hex').slice(0, 32);
}

/**
 * The read-assist data path, top to bottom:
 * parse → population gate → decode first frame → preprocess (the card's chain) → run
 * → out-of-distribution gate → findings.
 * Each step is a plain function; this is the one place they are wired together.
 * An image outside the card's population is never decoded: its findings say "not
 * applicable" and why. Throws the dicom/ typed errors for input it cannot read, and
 * DicomLimitError for an object over `limits` (the decoded-pixel budget among them) before
 * anything is decoded: a worker must hold the deployment's limits, as ingest does.
 */
export async function readAssist(bytes: Uint8Array, model: ReadAssistModel, limits: DicomLimits = DEFAULT_DICOM_LIMITS, options: ReadAssistOptions = {}): Promise<ReadAssistResult> {
  const { timingMs, timed } = stageTimer(2);

  const { instance, image } = await timed('parse', () => {
    const parsed = parseDicom(bytes, limits);
    return { instance: parsed, image: requirePixelData(parsed) };
  });
  const population = checkPopulation(instance.meta, image, model.card);
  const sopInstanceUid = instance.meta.sopInstanceUid;
  if (!population.applicable) return { sopInstanceUid, findings: notApplicableFindings(sopInstanceUid, model, population, timingMs) };

  const frame = await timed('decode', () => decodeFrame(instance, 0, model.chain.decode));
  const input = await timed('preprocess', () => model.chain.run(frame, image));
  const outputs = await timed('inference', () => (options.skipHeatmaps ? model.session.run(feedsFor(model, input), outputsWithoutHeatmaps(model)) : model.session.run(feedsFor(model, input))));
  const findings = await timed('postprocess', () => {
    const applicability = withOutOfDistribution(model, population, outputs);
    const made = applicability.applicable
      ? toFindings(sopInstanceUid, model, input, frame.scale, outputs, options.skipHeatmaps ? { ...applicability, caveats: [...applicability.caveats, HEATMAP_SKIPPED] } : applicability)
      : notApplicableFindings(sopInstanceUid, model, applicability, timingMs);
    // Drift monitoring's input summary: once per image, for answered and out-of-distribution images alike.
    const inputStats = inputStatsOf(input);
    return made.map((finding) => ({ ...finding, inputStats }));
  });
  for (const finding of findings) finding.timingMs = timingMs;
  return { sopInstanceUid, findings };
}

/**
 * The population verdict, overruled when the graph's out-of-distribution score is above
 * the card's threshold. An evaluate-only model may have no check (a served one must).
 */
function withOutOfDistribution(model: ReadAssistModel, population: Applicability, outputs: ort.InferenceSession.OnnxValueMapType): Applicability {
  const ood = model.card.outOfDistribution;
  if (!ood) return population;
  const score = (outputs[ood.output].data as Float32Array)[0];
  const outOfDistribution = { score: round(score, 3), threshold: ood.threshold };
  // A NaN score cannot vouch for the image: treat it as out of distribution.
  const reason = outOfDistributionReason(ood, Number.isFinite(score) ? score : Infinity);
  return reason ? { applicable: false, reason, caveats: [], outOfDistribution } : { ...population, outOfDistribution };
}

/** The card's outputs other than heatmaps: what a run without heatmaps fetches. */
function outputsWithoutHeatmaps(model: ReadAssistModel): string[] {
  const heatmaps = new Set(model.card.labels.map((l) => l.heatmapOutput));
  return model.session.outputNames.filter((name) => !heatmaps.has(name));
}

function feedsFor(model: ReadAssistModel, input: ModelImage): Record<string, ort.Tensor> {
  const [spec] = model.card.inputs;
  return { [spec.name]: new ort.Tensor(input.dtype, input.data, [1, input.channels, input.height, input.width]) };
}

const provenance = (model: ReadAssistModel) => ({ id: model.card.id, version: model.card.version, weightsSha256: model.card.weights.sha256, preprocessing: model.preprocessing });

function operatingPointOf(model: ReadAssistModel, label: string) {
  const { name, threshold } = model.card.operatingPoints.find((p) => p.label === label)!;
  return { name, threshold };
}

function toFindings(sopInstanceUid: string, model: ReadAssistModel, input: ModelImage, decodeScale: number, outputs: ort.InferenceSession.OnnxValueMapType, applicability: Applicability): FindingInput[] {
  return model.card.labels.map((label) => {
    const probability = (outputs[label.output].data as Float32Array)[label.index];
    if (!Number.isFinite(probability)) throw new Error(`model ${model.key} produced a non-finite probability for ${label.id}`);
    const operatingPoint = operatingPointOf(model, label.id);
    const referBand = model.card.referBands?.find((b) => b.label === label.id);
    const heatmap = label.heatmapOutput ? outputs[label.heatmapOutput] : undefined;
    return {
      id: findingId(sopInstanceUid, model.key, label.id),
      label: label.id,
      display: label.display,
      probability: round(probability, 4),
      positive: probability >= operatingPoint.threshold,
      refer: referBand ? probability >= referBand.low && probability < referBand.high : false,
      operatingPoint,
      model: { ...provenance(model), decodeScale },
      timingMs: {},
      heatmap: heatmap && heatmapOf(heatmap, label.heatmapIndex, input),
      applicability,
    };
  });
}

/** One label's map of a [1, maps, h, w] heatmap output, over the region of the frame the model saw. */
function heatmapOf(output: ort.Tensor, index: number, input: ModelImage) {
  const [height, width] = [Number(output.dims[2]), Number(output.dims[3])];
  const map = (output.data as Float32Array).subarray(index * width * height, (index + 1) * width * height);
  return { width, height, data: Array.from(map, (v) => round(v, 3)), region: input.region };
}

/** One finding per label that says the model does not answer here, and why: no probability, no call, no heatmap. */
export function notApplicableFindings(sopInstanceUid: string, model: ReadAssistModel, applicability: Applicability, timingMs: Record<string, number>): FindingInput[] {
  return model.card.labels.map((label) => ({
    id: findingId(sopInstanceUid, model.key, label.id),
    label: label.id,
    display: label.display,
    probability: null,
    positive: false,
    refer: false,
    operatingPoint: operatingPointOf(model, label.id),
    model: provenance(model),
    timingMs,
    applicability,
  }));
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
