import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { decodeFrame } from '../dicom/decode/index.ts';
import { parseDicom, requirePixelData, type DicomInstance } from '../dicom/parse.ts';
import type { FindingInput } from '../store/types.ts';
import { preprocessors, type ModelImage } from './preprocess.ts';
import type { ReadAssistModel } from './registry.ts';
import { stageTimer } from './stage-timer.ts';

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
 * parse → decode first frame → preprocess (window, crop, resize) → run → findings.
 * Each step is a plain function; this is the one place they are wired together.
 * Throws the dicom/ typed errors for input it cannot read.
 */
export async function readAssist(bytes: Uint8Array, model: ReadAssistModel): Promise<ReadAssistResult> {
  const { timingMs, timed } = stageTimer(2);

  const { instance, image, frame } = await timed('decode', async () => {
    const parsed = parseDicom(bytes);
    const attributes = requirePixelData(parsed);
    return { instance: parsed, image: attributes, frame: await decodeFrame(parsed, 0) };
  });
  const input = await timed('preprocess', () => preprocessors[model.preprocessing](frame, image, model.card.preprocessing.size));
  const outputs = await timed('inference', () => model.session.run(feedsFor(model, input)));
  const findings = await timed('postprocess', () => toFindings(instance, model, input, outputs));
  for (const finding of findings) finding.timingMs = timingMs;
  return { sopInstanceUid: instance.meta.sopInstanceUid, findings };
}

function feedsFor(model: ReadAssistModel, input: ModelImage): Record<string, ort.Tensor> {
  const [spec] = model.card.inputs;
  return { [spec.name]: new ort.Tensor('float32', input.data, [1, 1, input.height, input.width]) };
}

function toFindings(instance: DicomInstance, model: ReadAssistModel, input: ModelImage, outputs: ort.InferenceSession.OnnxValueMapType): FindingInput[] {
  return model.card.labels.map((label) => {
    const probability = (outputs[label.output].data as Float32Array)[label.index];
    if (!Number.isFinite(probability)) throw new Error(`model ${model.key} produced a non-finite probability for ${label.id}`);
    const operatingPoint = model.card.operatingPoints.find((p) => p.label === label.id)!;
    const referBand = model.card.referBands?.find((b) => b.label === label.id);
    const heatmap = label.heatmapOutput ? outputs[label.heatmapOutput] : undefined;
    return {
      id: findingId(instance.meta.sopInstanceUid, model.key, label.id),
      label: label.id,
      display: label.display,
      probability: round(probability, 4),
      positive: probability >= operatingPoint.threshold,
      refer: referBand ? probability >= referBand.low && probability < referBand.high : false,
      operatingPoint: { name: operatingPoint.name, threshold: operatingPoint.threshold },
      model: { id: model.card.id, version: model.card.version, weightsSha256: model.card.weights.sha256, preprocessing: model.preprocessing },
      timingMs: {},
      heatmap: heatmap && {
        width: heatmap.dims[3],
        height: heatmap.dims[2],
        data: Array.from(heatmap.data as Float32Array, (v) => round(v, 3)),
        region: input.region,
      },
    };
  });
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
