/**
 * Test support for the grey-image read-assist folders (models/pneumonia-cxr,
 * models/nih-cxr-abnormal): a card is a claim about model.onnx, and these checks re-derive
 * the claim from the file, so a retrained model with a stale card fails its model test.
 * Each model test reads its own test split and keeps what is specific to it (how the
 * split is read, its size and class balance).
 *
 * The graph is run directly with onnxruntime-node on the whole split, input `image`
 * [N,1,S,S] in [0,1], outputs `probability` [N,1] and `heatmap` [N,1,S,S]; the metrics are
 * those of tools/evaluation/metrics.ts.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { atThreshold, auroc, referBandEffect } from '../../tools/evaluation/metrics.ts';

interface Metric { name: string; split: string; value: number; ci95?: [number, number]; method: string; n?: number }
export interface ReadAssistCardClaims {
  weights: { file: string; sha256: string };
  inputs: { name: string; shape: number[] }[];
  outputs: { name: string; shape: number[] }[];
  operatingPoints: { name: string; threshold: number }[];
  referBands: { label: string; low: number; high: number; rule: string }[];
  referBandEffect: { referredFraction: number; accuracyOutside: number | null };
  metrics: Metric[];
}

/** One labelled split as the graph's input: `image` is [N,1,size,size] pixel/255. */
export interface TestSplit { image: Float32Array; label: Uint8Array; size: number }

export interface ScoredSplit {
  card: ReadAssistCardClaims;
  /** Available inside tests, once the beforeAll that scores the split has run. */
  readonly session: ort.InferenceSession;
  readonly labels: Uint8Array;
  readonly probability: Float32Array;
  readonly heatmap: ort.Tensor;
}

/**
 * Reads the folder's card; in a beforeAll (registered where this is called) reads the split
 * with `read`, creates the session and scores every image in one batch; releases the
 * session in afterAll.
 */
export function scoreTestSplit(here: string, read: () => Promise<TestSplit>): ScoredSplit {
  const card = JSON.parse(readFileSync(join(here, 'model.json'), 'utf8')) as ReadAssistCardClaims;
  let state: { session: ort.InferenceSession; labels: Uint8Array; probability: Float32Array; heatmap: ort.Tensor } | undefined;
  let session: ort.InferenceSession | undefined;

  beforeAll(async () => {
    const split = await read();
    session = await ort.InferenceSession.create(join(here, card.weights.file));
    const { size } = split;
    const out = await session.run({ image: new ort.Tensor('float32', split.image, [split.label.length, 1, size, size]) });
    state = { session, labels: split.label, probability: out.probability.data as Float32Array, heatmap: out.heatmap };
  });

  afterAll(async () => {
    await session?.release();
  });

  const scored = () => {
    if (!state) throw new Error(`${here}: the test split is not scored yet (use it inside a test)`);
    return state;
  };
  return {
    card,
    get session() { return scored().session; },
    get labels() { return scored().labels; },
    get probability() { return scored().probability; },
    get heatmap() { return scored().heatmap; },
  };
}

function metric(card: ReadAssistCardClaims, name: string): Metric {
  const m = card.metrics.find((x) => x.name === name);
  if (!m) throw new Error(`card has no metric ${name}`);
  return m;
}

/** model.onnx is the file the card names, with the card's input and output names. */
export function itIsTheGraphTheCardNames(here: string, scored: ScoredSplit) {
  const { card } = scored;

  it('when the weights are hashed, then the SHA-256 equals the card', () => {
    const sha = createHash('sha256').update(readFileSync(join(here, card.weights.file))).digest('hex');
    expect(sha).toBe(card.weights.sha256);
  });

  it('when the session loads, then its input and output names are those of the card', () => {
    expect(scored.session.inputNames).toEqual(card.inputs.map((i) => i.name));
    expect([...scored.session.outputNames].sort()).toEqual(card.outputs.map((o) => o.name).sort());
  });
}

/**
 * On the whole test split: the AUROC within 0.005 of the card's (and inside its CI), test
 * sensitivity/specificity at the card's first operating point within 0.005, and the refer
 * band (which must bracket that operating point) referring and hinting as the card says.
 */
export function itReproducesTheCardMetrics(scored: ScoredSplit, expected: { n: number; split: string; bandLabel: string }) {
  const { card } = scored;

  it('when all test images are scored, then the AUROC equals the card within 0.005', () => {
    const { probability, labels } = scored;
    expect(probability.length).toBe(expected.n);
    for (const p of probability) expect(p >= 0 && p <= 1).toBe(true);
    const auc = auroc(probability, labels).value;
    const claimed = metric(card, 'AUROC');
    expect(claimed.split).toBe(expected.split);
    expect(Math.abs(auc - claimed.value)).toBeLessThan(0.005);
    expect(claimed.ci95![0]).toBeLessThan(auc);
    expect(claimed.ci95![1]).toBeGreaterThan(auc);
  });

  it('when the card operating point is applied, then test sensitivity and specificity match the card', () => {
    const c = atThreshold(scored.probability, scored.labels, card.operatingPoints[0].threshold);
    expect(Math.abs(c.sensitivity.value - metric(card, 'sensitivity@operating-point').value)).toBeLessThan(0.005);
    expect(Math.abs(c.specificity.value - metric(card, 'specificity@operating-point').value)).toBeLessThan(0.005);
  });

  it('when the refer band is applied, then it brackets the operating point and its test effect matches the card', () => {
    const [band] = card.referBands;
    const t = card.operatingPoints[0].threshold;
    expect(band.label).toBe(expected.bandLabel);
    expect(band.low).toBeLessThanOrEqual(t + 1e-4);
    expect(band.high).toBeGreaterThanOrEqual(t - 1e-4);
    const e = referBandEffect(scored.probability, scored.labels, band.low, band.high);
    expect(Math.abs(e.referredFraction - card.referBandEffect.referredFraction)).toBeLessThan(0.005);
    if (card.referBandEffect.accuracyOutside === null) expect(e.accuracyOutside).toBeNull();
    else expect(Math.abs(e.accuracyOutside! - card.referBandEffect.accuracyOutside)).toBeLessThan(0.005);
  });
}

/**
 * The CAM heatmap output: per image in [0,1] with a peak of 1 (or all zero), and finite on
 * an all-black input, where a naive min-max normalisation would divide by zero.
 */
export function itHasNormalisedHeatmaps(scored: ScoredSplit, expected: { n: number; size: number }) {
  const { n, size } = expected;
  const pixels = size * size;

  it(`when a batch is run, then the heatmap is [N,1,${size},${size}] with every value in [0,1] and a peak of 1 or an all-zero map`, () => {
    expect(scored.heatmap.dims).toEqual([n, 1, size, size]);
    const data = scored.heatmap.data as Float32Array;
    let bad = 0;
    for (let i = 0; i < n; i++) {
      let peak = 0;
      for (let j = i * pixels; j < (i + 1) * pixels; j++) {
        const v = data[j];
        if (!(v >= 0 && v <= 1)) bad++;
        if (v > peak) peak = v;
      }
      if (!(peak === 0 || Math.abs(peak - 1) < 1e-5)) bad++;
    }
    expect(bad).toBe(0);
  });

  it('when the input is all black, then the graph still returns a probability and a finite heatmap (no divide by zero)', async () => {
    const out = await scored.session.run({ image: new ort.Tensor('float32', new Float32Array(2 * pixels), [2, 1, size, size]) });
    expect(out.probability.dims).toEqual([2, 1]);
    for (const v of out.heatmap.data as Float32Array) expect(Number.isFinite(v) && v >= 0 && v <= 1).toBe(true);
  });
}
