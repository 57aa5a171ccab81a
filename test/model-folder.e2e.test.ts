/**
 * A model team's story: they bring a folder — a card and a graph — for a 3-channel,
 * ImageNet-normalised chest model with 14 NIH ChestX-ray14 labels and a heatmap per label,
 * drop it beside the shipped models, and Lantern serves it with no code change. The real
 * registry loads it; the worker's read-assist path reads a real adult chest CR with it.
 * The graph (test/fixtures/models/nih14-imagenet-demo, built by its build_model.py) also
 * outputs the mean of each channel it was fed, so the test sees the normalisation happen
 * inside the graph, not only in our own code. A folder whose preprocessing does not fit
 * its input is refused at load, by name. And `lantern start` with that models folder serves
 * it: a film uploaded over STOW-RS comes back with its 14 findings.
 */
import fs from 'node:fs';
import path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../config.ts';
import { decodeFrame } from '../dicom/decode/index.ts';
import { parseDicom, requirePixelData } from '../dicom/parse.ts';
import { namedChain } from '../inference/preprocess/index.ts';
import { readAssist } from '../inference/read-assist.ts';
import { loadModelRegistry, type ModelRegistry } from '../inference/registry.ts';
import { apiClient } from './support/api-client.ts';
import { shippedModelsWith } from './support/models-folder.ts';
import { files } from './support/shared-data.ts';
import { startStack, type Stack } from './support/stack.ts';

const fixture = path.join(repoRoot, 'test/fixtures/models/nih14-imagenet-demo');
const NIH14 = ['atelectasis', 'cardiomegaly', 'effusion', 'infiltration', 'mass', 'nodule', 'pneumonia', 'pneumothorax', 'consolidation', 'edema', 'emphysema', 'fibrosis', 'pleural-thickening', 'hernia'];
const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
const temps: string[] = [];

/** A models folder as an operator would have it: every shipped model, plus the team's folder, edited or not. */
function modelsFolder(edit?: (card: Record<string, any>) => void): string {
  const root = shippedModelsWith([{ from: fixture, folder: 'nih14-imagenet-demo', edit }]);
  temps.push(root);
  return root;
}

afterAll(() => {
  for (const dir of temps.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('a 3-channel, 14-label model added as a folder', () => {
  let registry: ModelRegistry;
  const fed: ort.Tensor[] = [];
  const returned: ort.InferenceSession.OnnxValueMapType[] = [];

  beforeAll(async () => {
    registry = await loadModelRegistry(modelsFolder(), { threads: 1 });
    // Watch what the real session is given and gives back; it still does the work.
    const { session } = registry.readAssist('nih14-imagenet-demo@0.1.0');
    const run = session.run.bind(session);
    session.run = (async (feeds: ort.InferenceSession.FeedsType, ...rest: []) => {
      const outputs = await run(feeds, ...rest);
      fed.push(feeds.image as ort.Tensor);
      returned.push(outputs);
      return outputs;
    }) as typeof session.run;
  });
  afterAll(async () => {
    await registry?.close();
  });

  it('when the folder sits beside the shipped models, then the registry loads it with them and routes CR films to it', () => {
    expect(registry.models.map((m) => m.key)).toEqual(expect.arrayContaining(['nih14-imagenet-demo@0.1.0', 'pneumonia-cxr@1.1.0', 'cxr-pneumonia-adult@1.0.0', 'nih-cxr-abnormal@1.1.0']));
    expect(registry.forModality('CR').map((m) => m.card.id).sort()).toEqual(['cxr-pneumonia-adult', 'nih14-imagenet-demo', 'pneumonia-cxr']);
    expect(registry.readAssist('nih14-imagenet-demo@0.1.0').chain.steps.map((s) => s.step)).toEqual(['modality-values@1', 'window@1', 'photometric@1', 'crop@1', 'resize@1', 'channels@1', 'normalise@1']);
  });

  it('when a real adult chest CR (RG1) is read, then 14 findings come back in card order, each with its own 16×16 heatmap of the graph\'s output and the chain in its provenance', async () => {
    const model = registry.readAssist('nih14-imagenet-demo@0.1.0');
    const { findings } = await readAssist(new Uint8Array(fs.readFileSync(files.chestJ2k)), model);
    expect(findings.map((f) => f.label)).toEqual(NIH14);
    const outputs = returned.at(-1)!;
    const probabilities = outputs.probability.data as Float32Array;
    const maps = outputs.heatmap.data as Float32Array;
    expect(outputs.heatmap.dims).toEqual([1, 14, 16, 16]);
    findings.forEach((finding, k) => {
      expect(finding.applicability).toMatchObject({ applicable: true });
      expect(finding.probability).toBeCloseTo(probabilities[k], 4);
      expect(finding.model).toMatchObject({ id: 'nih14-imagenet-demo', version: '0.1.0', preprocessing: 'grey-imagenet@1' });
      // Decoded at level 3 for a 64-px model: the 231 × 245 frame's centre square starts 7 rows down, 56 original rows.
      expect(finding.model.decodeScale).toBe(8);
      expect(finding.heatmap).toMatchObject({ width: 16, height: 16, region: { left: 0, top: 56, size: 1841 } });
      expect(finding.heatmap!.data).toEqual(Array.from(maps.subarray(k * 256, (k + 1) * 256), (v) => Math.round(v * 1000) / 1000));
    });
    // Each label's map is its own, not the first map repeated.
    expect(new Set(findings.map((f) => f.heatmap!.data.join(','))).size).toBe(14);
    expect(new Set(findings.map((f) => f.probability)).size).toBeGreaterThan(1);
  });

  it('when RG1 is read, then the graph was fed [1, 3, 64, 64]: the film\'s grey, replicated, each channel normalised by ImageNet\'s mean and std, as its own channel-mean output confirms', async () => {
    const input = fed.at(-1)!;
    expect(input.dims).toEqual([1, 3, 64, 64]);
    const data = input.data as Float32Array;
    const plane = 64 * 64;
    // The same grey the shipped one-channel models see of this film, at 64 px (decoded as that chain asks).
    const instance = parseDicom(new Uint8Array(fs.readFileSync(files.chestJ2k)));
    const greySquare = namedChain('grey-square@1', [64, 64]);
    const grey = (await greySquare.run(await decodeFrame(instance, 0, greySquare.decode), requirePixelData(instance))).data;
    for (let c = 0; c < 3; c++) {
      for (const i of [0, 1000, 2080, 4095]) expect(data[c * plane + i]).toBeCloseTo((grey[i] - IMAGENET.mean[c]) / IMAGENET.std[c], 5);
    }
    const means = Array.from(returned.at(-1)!.channel_mean.data as Float32Array);
    const ours = [0, 1, 2].map((c) => data.subarray(c * plane, (c + 1) * plane).reduce((a, b) => a + b, 0) / plane);
    means.forEach((m, c) => expect(m).toBeCloseTo(ours[c], 4));
    // Undo each channel's normalisation inside the graph's own figures: one grey mean, in (0, 1), for all three.
    const greyMean = grey.reduce((a, b) => a + b, 0) / plane;
    for (let c = 0; c < 3; c++) expect(means[c] * IMAGENET.std[c] + IMAGENET.mean[c]).toBeCloseTo(greyMean, 4);
    expect(new Set(means.map((m) => m.toFixed(3))).size).toBe(3);
  });

  const misfits: [string, (card: Record<string, any>) => void, RegExp][] = [
    ['makes 224 px for a 64 px input', (card) => { card.preprocessing.size = [224, 224]; },
      /nih14-imagenet-demo@0\.1\.0: preprocessing grey-imagenet@1 makes float32 \[N, 3, 224, 224\] \(N, channels, height, width\) but the card declares input image as float32 \[N, 3, 64, 64\]/],
    ['makes one channel for a 3-channel input', (card) => { card.preprocessing.steps.splice(-2, 2, { step: 'channels@1', count: 1 }, { step: 'normalise@1', scale: [0, 1] }); },
      /nih14-imagenet-demo@0\.1\.0: preprocessing grey-imagenet@1 makes float32 \[N, 1, 64, 64\] .* but the card declares input image as float32 \[N, 3, 64, 64\]/],
    ['gives ImageNet\'s three means to one channel', (card) => { card.preprocessing.steps.splice(-2, 1, { step: 'channels@1', count: 1 }); },
      /nih14-imagenet-demo@0\.1\.0: preprocessing grey-imagenet@1 does not run on a synthetic 320×256 12-bit MONOCHROME1 frame: normalise@1 has 3 mean\(s\)/],
    ['names a step Lantern does not have', (card) => { card.preprocessing.steps[4] = { step: 'resize@2', kernel: 'lanczos3' }; },
      /nih14-imagenet-demo@0\.1\.0: preprocessing step 5 \(resize@2\) is unknown/],
    ['has a label reading past the 14 probabilities', (card) => { card.labels[13].index = 14; },
      /label hernia reads column 14 of output probability, which the card declares as \[-1, 14\]/],
    ['has a label reading past the 14 heatmaps', (card) => { card.labels[13].heatmapIndex = 14; },
      /label hernia reads map 14 of heatmap heatmap, which the card declares as \[-1, 14, 16, 16\]/],
  ];
  it.each(misfits)('when the folder\'s preprocessing or labels do not fit the graph (%s), then loading refuses it, naming the model and what is wrong', async (_what, edit, message) => {
    await expect(loadModelRegistry(modelsFolder(edit), { threads: 1 })).rejects.toThrow(message);
  });
});

describe('the same folder under lantern start', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ workers: 1, env: { LANTERN_MODELS_DIR: modelsFolder() } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('when a real adult chest CR is uploaded over STOW-RS, then the study comes back with the 14 findings of the new model beside the shipped ones, each with its heatmap', async () => {
    const api = apiClient(stack.baseUrl, stack.token);
    const { status, body } = await api.stow([files.chestJ2k]);
    expect(status).toBe(200);
    const row = await api.settled(body.stored![0].studyInstanceUid);
    expect(row.status).toBe('ready');
    const ours = row.findings.filter((f) => f.model.id === 'nih14-imagenet-demo');
    expect(ours.map((f) => f.label).sort()).toEqual([...NIH14].sort());
    for (const finding of ours) {
      expect(finding.model).toMatchObject({ version: '0.1.0', preprocessing: 'grey-imagenet@1' });
      expect(finding.probability).toBeGreaterThanOrEqual(0);
      expect(finding.heatmap).toMatchObject({ width: 16, height: 16 });
      expect(finding.heatmap!.data).toHaveLength(256);
    }
    expect(row.findings.some((f) => f.model.id === 'cxr-pneumonia-adult')).toBe(true);
  });
});
