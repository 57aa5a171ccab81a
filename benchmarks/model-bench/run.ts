/**
 * Scores every case of a dataset with each model, one image at a time, timing each stage.
 *
 *   DICOM      → inference/read-assist.ts `readAssist` (the served path: parse, population
 *                gate, decode, window, crop, resize, run, out-of-distribution gate, findings);
 *                stage times are the finding's timingMs; a not-applicable finding has no probability.
 *   PNG / JPEG → `served` (default): decode to an 8-bit grey film and the card's own
 *                preprocessing step (inference/image-file.ts, what the worker does to a DICOM
 *                of the same pixels); `display`: decode (sharp → 8-bit grey) → centre square,
 *                lanczos3 to the card's size, /255, no window
 *                → inference (model.session.run) → postprocess (probability, operating point,
 *                the graph's out-of-distribution score against the card's threshold, refer band).
 *   archive    → the display path from preprocess on (the pixels are already decoded).
 *
 * `runModelBench` wires load → run → report in one place for the CLI and the test.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { outOfDistributionReason } from '../../inference/applicability.ts';
import type { NotApplicableReason } from '../../tools/evaluation/analysis.ts';
import { readGreyImageFileFor } from '../../inference/image-file.ts';
import type { ModelImage } from '../../inference/preprocess/index.ts';
import { readAssist } from '../../inference/read-assist.ts';
import { stageTimer } from '../../inference/stage-timer.ts';
import { findModelFolder, loadModel, type ReadAssistModel } from '../../inference/registry.ts';
import { progressBar } from '../progress.ts';
import type { Case, ImagePrep, LoadOptions, Skipped } from './dataset.ts';
import { loadDataset } from './load.ts';
import { writeReport } from './render.ts';
import { buildReport, type ModelBenchReport } from './report.ts';

export class ModelBenchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelBenchError';
  }
}

export interface Score {
  /** null when the model is not applicable and gave none (a DICOM outside the card's population or out of distribution). */
  probability: number | null;
  /** probability >= the operating point's threshold. */
  positive: boolean;
  /** Applicable and inside the card's refer band: referred, not hinted. */
  refer: boolean;
  /** Why the model is not applicable to this image, as a served finding says it. */
  notApplicable?: NotApplicableReason;
  /** The graph's out-of-distribution score, when the model has one and ran. */
  outOfDistribution?: number;
  /** Milliseconds per stage: parse (DICOM), decode (files only), preprocess, inference, postprocess. */
  timingMs: Record<string, number>;
}

export interface ModelRun {
  model: {
    id: string;
    version: string;
    key: string;
    sha256: string;
    preprocessing: string;
    dir: string;
    label: string;
    inputSize: [number, number];
    operatingPoint: { name: string; threshold: number; rule: string };
    referBand?: { low: number; high: number };
    outOfDistribution?: { output: string; threshold: number };
  };
  scores: Map<string, Score>;
  /** Cases this model could not score (decode, preprocessing or inference error), with the error. */
  failed: Skipped[];
}

export interface RunOptions {
  modelsDir: string;
  /** Which card label to evaluate (default: each card's first). */
  label?: string;
  /** onnxruntime intra-op threads per session; 1 as in Lantern's workers. */
  threads?: number;
  /** Draw a progress bar on stderr. */
  progress?: boolean;
  /** How PNG/JPEG files reach the model (the dataset's choice). */
  imagePrep?: ImagePrep;
}

/** The model folder named after `id`, or the one whose card declares it. */
export function findModelDir(modelsDir: string, id: string): string {
  const dir = findModelFolder(modelsDir, id);
  if (!dir) throw new ModelBenchError(`no model folder with id "${id}" under ${modelsDir}`);
  return dir;
}

/** Loads one model through the registry (card schema, weights hash, graph contract) and scores every case. */
export async function runModel(id: string, cases: Case[], options: RunOptions): Promise<ModelRun> {
  const loaded = await loadModel(findModelDir(options.modelsDir, id), { threads: options.threads ?? 1 });
  if (loaded.card.task !== 'read-assist') {
    if ('session' in loaded) await loaded.session.release();
    throw new ModelBenchError(`${id} is a ${loaded.card.task} model; bench:model scores images (read-assist models)`);
  }
  const model = loaded as ReadAssistModel;
  try {
    const label = options.label ? model.card.labels.find((l) => l.id === options.label) : model.card.labels[0];
    if (!label) throw new ModelBenchError(`${id} has no label "${options.label}" (labels: ${model.card.labels.map((l) => l.id).join(', ')})`);
    const point = model.card.operatingPoints.find((p) => p.label === label.id)!;
    const band = model.card.referBands?.find((b) => b.label === label.id);
    const ood = model.card.outOfDistribution;
    const [input] = model.card.inputs;
    if (input.shape.length !== 4 || input.shape[1] !== 1) throw new ModelBenchError(`${id}: input ${input.name} is [${input.shape.join(', ')}]; the bench feeds one grey channel, as readAssist does`);
    const run: ModelRun = {
      model: {
        id: model.card.id, version: model.card.version, key: model.key, sha256: model.sha256, preprocessing: model.preprocessing, dir: model.dir,
        label: label.id, inputSize: model.card.preprocessing.size as [number, number],
        operatingPoint: { name: point.name, threshold: point.threshold, rule: point.rule },
        ...(band ? { referBand: { low: band.low, high: band.high } } : {}),
        ...(ood ? { outOfDistribution: { output: ood.output, threshold: ood.threshold } } : {}),
      },
      scores: new Map(),
      failed: [],
    };
    const bar = options.progress ? progressBar(`${model.key} (${label.id})`, cases.length) : undefined;
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i];
      try {
        run.scores.set(c.id, c.format === 'dicom' ? await scoreDicom(model, label.id, c) : await scoreImage(model, label, point.threshold, c, options.imagePrep ?? 'served'));
      } catch (error) {
        run.failed.push({ id: c.id, reason: `${(error as Error).name}: ${(error as Error).message}` });
      }
      bar?.tick(i + 1);
    }
    bar?.done();
    return run;
  } finally {
    await model.session.release();
  }
}

/** The served path, unchanged: whatever readAssist does to a study, it does here. */
async function scoreDicom(model: ReadAssistModel, label: string, c: Case): Promise<Score> {
  const bytes = fs.readFileSync(c.file!);
  const { findings } = await readAssist(bytes, model);
  const finding = findings.find((f) => f.label === label)!;
  const applicability = finding.applicability;
  const reason = applicability && !applicability.applicable
    ? applicability.reason ?? { code: 'NOT_APPLICABLE', text: 'not applicable (no reason given)', textZh: '不适用' }
    : undefined;
  return {
    probability: finding.probability, positive: finding.positive, refer: finding.refer,
    ...(reason ? { notApplicable: { code: reason.code, text: reason.text, textZh: reason.textZh } } : {}),
    ...(applicability?.outOfDistribution ? { outOfDistribution: applicability.outOfDistribution.score } : {}),
    timingMs: { ...finding.timingMs },
  };
}

/** PNG / JPEG / archive pixels: the dataset's preparation, the model, and the checks a served finding gets after the run. */
async function scoreImage(model: ReadAssistModel, label: ReadAssistModel['card']['labels'][number], threshold: number, c: Case, prep: ImagePrep): Promise<Score> {
  const { timingMs, timed } = stageTimer(3);
  const size = model.card.preprocessing.size as [number, number];
  const [width, height] = size;
  let image: ModelImage;
  if (prep === 'served' && c.file) {
    // preprocessImageFile (inference/image-file.ts) in its two steps, each timed.
    const { frame, image: attributes } = await timed('decode', () => readGreyImageFileFor(c.file!, model.chain));
    image = await timed('preprocess', () => model.chain.run(frame, attributes));
  } else {
    const grey = c.pixels ?? await timed('decode', () => decodeToGrey8(fs.readFileSync(c.file!)));
    image = await timed('preprocess', () => displayGreyToModel(grey, width, height));
  }
  const [spec] = model.card.inputs;
  const outputs = await timed('inference', () => model.session.run({ [spec.name]: new ort.Tensor('float32', image.data, [1, 1, height, width]) }));
  return timed('postprocess', () => {
    const probability = (outputs[label.output].data as Float32Array)[label.index];
    if (!Number.isFinite(probability)) throw new Error(`model ${model.key} produced a non-finite probability for ${label.id}`);
    const ood = model.card.outOfDistribution;
    const score = ood && outputs[ood.output] ? (outputs[ood.output].data as Float32Array)[0] : undefined;
    // As in the worker: a NaN score cannot vouch for the image.
    const reason = ood && score !== undefined ? outOfDistributionReason(ood, Number.isFinite(score) ? score : Infinity) : undefined;
    const band = model.card.referBands?.find((b) => b.label === label.id);
    return {
      probability,
      positive: !reason && probability >= threshold,
      refer: !reason && band !== undefined && probability >= band.low && probability < band.high,
      ...(reason ? { notApplicable: { code: reason.code, text: reason.text, textZh: reason.textZh } } : {}),
      ...(score !== undefined ? { outOfDistribution: score } : {}),
      timingMs,
    };
  });
}

/** PNG / JPEG → 8-bit grey (EXIF orientation applied, alpha dropped, RGB → luminance, 16-bit scaled down). */
export async function decodeToGrey8(bytes: Uint8Array): Promise<{ width: number; height: number; data: Uint8Array }> {
  const { data, info } = await sharp(bytes).autoOrient().removeAlpha().greyscale().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.channels !== 1) throw new Error(`decoded to ${info.channels} channels, expected grey`);
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/**
 * A display image (already windowed by whoever exported it) → the model's input: centre
 * square, lanczos3 to the card's size (skipped when it already is that size, so a thumbnail
 * dataset goes in exactly as `npm run eval` feeds it), pixel/255.
 */
export async function displayGreyToModel(grey: { width: number; height: number; data: Uint8Array }, width: number, height: number): Promise<ModelImage> {
  const size = Math.min(grey.width, grey.height);
  const region = { left: Math.floor((grey.width - size) / 2), top: Math.floor((grey.height - size) / 2), size };
  let pixels = grey.data;
  if (grey.width !== width || grey.height !== height) {
    const { data } = await sharp(grey.data, { raw: { width: grey.width, height: grey.height, channels: 1 } })
      .extract({ left: region.left, top: region.top, width: size, height: size })
      .resize(width, height, { kernel: 'lanczos3' })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    pixels = new Uint8Array(data.buffer, data.byteOffset, data.length);
  }
  const data = new Float32Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = pixels[i] / 255;
  return { channels: 1, width, height, dtype: 'float32', data, region };
}

export interface ModelBenchOptions extends LoadOptions, Omit<RunOptions, 'imagePrep'> {
  models: string[];
  out: string;
  /** Break down only by these labels-CSV columns (default: every extra column). */
  by?: string[];
  /** The AUROC aimed for; each model's verdict holds its lower CI bound against it. */
  aim?: number;
  /** The command line, recorded in the report. */
  command?: string;
}

/** load → run each model → metrics and plots → files. Returns the report and the files written. */
export async function runModelBench(options: ModelBenchOptions): Promise<{ report: ModelBenchReport; files: string[] }> {
  if (options.models.length === 0) throw new ModelBenchError('name at least one --model');
  const duplicate = options.models.find((m, i) => options.models.indexOf(m) !== i);
  if (duplicate) throw new ModelBenchError(`--model ${duplicate} is given twice`);
  const dataset = await loadDataset(options);
  if (dataset.cases.length === 0) throw new ModelBenchError(`no labelled images under ${dataset.source} (${dataset.skipped.length} files skipped${dataset.skipped[0] ? `, e.g. ${dataset.skipped[0].id}: ${dataset.skipped[0].reason}` : ''})`);
  const runs: ModelRun[] = [];
  for (const id of options.models) runs.push(await runModel(id, dataset.cases, { ...options, imagePrep: dataset.imagePrep }));
  const report = buildReport(dataset, runs, { command: options.command, by: options.by, aim: options.aim, positive: options.positive });
  return { report, files: writeReport(report, options.out) };
}
