/**
 * The pneumonia-cxr card is a claim about model.onnx; this test re-derives the claim from
 * the file. It runs the official PneumoniaMNIST test split (n=624) through onnxruntime-node
 * and compares with the card, so a retrained model with a stale card fails here.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { atThreshold, auroc, referBandEffect } from '../../inference/evaluation/metrics.ts';
import { readNpz } from '../../inference/evaluation/npz.ts';

const here = dirname(fileURLToPath(import.meta.url));
const NPZ = join(here, '../../../shared/data/images/pneumoniamnist/pneumoniamnist_varun19424.npz');

interface Metric { name: string; split: string; value: number; ci95: [number, number]; method: string }
const card = JSON.parse(readFileSync(join(here, 'model.json'), 'utf8')) as {
  weights: { file: string; sha256: string };
  inputs: { name: string; shape: number[] }[];
  outputs: { name: string; shape: number[] }[];
  operatingPoints: { name: string; threshold: number }[];
  referBands: { label: string; low: number; high: number; rule: string }[];
  referBandEffect: { referredFraction: number; accuracyOutside: number };
  metrics: Metric[];
};
const metric = (name: string): Metric => {
  const m = card.metrics.find((x) => x.name === name);
  if (!m) throw new Error(`card has no metric ${name}`);
  return m;
};

describe('pneumonia-cxr model on the official PneumoniaMNIST test split', () => {
  let session: ort.InferenceSession;
  let labels: Uint8Array;
  let probability: Float32Array;
  let heatmap: ort.Tensor;

  beforeAll(async () => {
    const npz = readNpz(NPZ);
    const images = npz.get('test_images')!;
    labels = npz.get('test_labels')!.data as Uint8Array;
    const [n, h, w] = images.shape;
    const x = new Float32Array(n * h * w);
    for (let i = 0; i < x.length; i++) x[i] = (images.data as Uint8Array)[i] / 255;
    session = await ort.InferenceSession.create(join(here, card.weights.file));
    const out = await session.run({ image: new ort.Tensor('float32', x, [n, 1, h, w]) });
    probability = out.probability.data as Float32Array;
    heatmap = out.heatmap;
  });

  afterAll(async () => {
    await session?.release();
  });

  it('when the weights are hashed, then the SHA-256 equals the card', () => {
    const sha = createHash('sha256').update(readFileSync(join(here, card.weights.file))).digest('hex');
    expect(sha).toBe(card.weights.sha256);
  });

  it('when the session loads, then its input and output names are those of the card', () => {
    expect(session.inputNames).toEqual(card.inputs.map((i) => i.name));
    expect([...session.outputNames].sort()).toEqual(card.outputs.map((o) => o.name).sort());
  });

  it('when the 624 test images are read from the .npz, then they are the official split', () => {
    expect(labels.length).toBe(624);
    expect(labels.reduce((a, b) => a + b, 0)).toBe(390);
  });

  it('when all test images are scored, then the AUROC equals the card within 0.005', () => {
    expect(probability.length).toBe(624);
    for (const p of probability) expect(p >= 0 && p <= 1).toBe(true);
    const auc = auroc(probability, labels).value;
    const claimed = metric('AUROC');
    expect(claimed.split).toBe('official test (n=624)');
    expect(Math.abs(auc - claimed.value)).toBeLessThan(0.005);
    expect(claimed.ci95[0]).toBeLessThan(auc);
    expect(claimed.ci95[1]).toBeGreaterThan(auc);
  });

  it('when the card operating point is applied, then test sensitivity and specificity match the card', () => {
    const c = atThreshold(probability, labels, card.operatingPoints[0].threshold);
    expect(Math.abs(c.sensitivity.value - metric('sensitivity@operating-point').value)).toBeLessThan(0.005);
    expect(Math.abs(c.specificity.value - metric('specificity@operating-point').value)).toBeLessThan(0.005);
  });

  it('when the refer band is applied, then it brackets the operating point and its test effect matches the card', () => {
    const [band] = card.referBands;
    const t = card.operatingPoints[0].threshold;
    expect(band.label).toBe('pneumonia');
    expect(band.low).toBeLessThanOrEqual(t + 1e-4);
    expect(band.high).toBeGreaterThanOrEqual(t - 1e-4);
    const e = referBandEffect(probability, labels, band.low, band.high);
    expect(Math.abs(e.referredFraction - card.referBandEffect.referredFraction)).toBeLessThan(0.005);
    expect(Math.abs(e.accuracyOutside! - card.referBandEffect.accuracyOutside)).toBeLessThan(0.005);
  });

  it('when a batch is run, then the heatmap is [N,1,28,28] with every value in [0,1] and a peak of 1 or an all-zero map', () => {
    expect(heatmap.dims).toEqual([624, 1, 28, 28]);
    const data = heatmap.data as Float32Array;
    let bad = 0;
    for (let i = 0; i < 624; i++) {
      let peak = 0;
      for (let j = i * 784; j < (i + 1) * 784; j++) {
        const v = data[j];
        if (!(v >= 0 && v <= 1)) bad++;
        if (v > peak) peak = v;
      }
      if (!(peak === 0 || Math.abs(peak - 1) < 1e-5)) bad++;
    }
    expect(bad).toBe(0);
  });

  it('when the input is all black, then the graph still returns a probability and a finite heatmap (no divide by zero)', async () => {
    const out = await session.run({ image: new ort.Tensor('float32', new Float32Array(2 * 784), [2, 1, 28, 28]) });
    expect(out.probability.dims).toEqual([2, 1]);
    for (const v of out.heatmap.data as Float32Array) expect(Number.isFinite(v) && v >= 0 && v <= 1).toBe(true);
  });
});
