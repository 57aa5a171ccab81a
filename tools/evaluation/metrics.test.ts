/**
 * The metric functions against values computed elsewhere: scikit-learn 1.2.1 / scipy 1.10
 * (Debian bookworm, run once with /usr/bin/python3 and pasted here), an O(n²) DeLong
 * written directly from the 1988 paper, Newcombe 1998's published Wilson intervals, and
 * the pneumonia-cxr evaluation (Python) on 624 real test predictions.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { atThreshold, auroc, brier, ece, logisticCalibration, referBandEffect, reliability, rocCurve, wilson } from './metrics.ts';
import { aurocValue, clusterBootstrap, patientLevel } from './patients.ts';

const here = dirname(fileURLToPath(import.meta.url));

// 20 cases with ties (three at 0.5, across both classes).
const scores = [0.1, 0.4, 0.35, 0.8, 0.65, 0.2, 0.9, 0.5, 0.5, 0.3, 0.7, 0.05, 0.6, 0.45, 0.55, 0.95, 0.15, 0.5, 0.25, 0.85];
const labels = [0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1];

describe('metrics against scikit-learn on a small set with ties', () => {
  it('when AUROC is computed, then it equals roc_auc_score and the O(n²) DeLong standard error', () => {
    const a = auroc(scores, labels);
    expect(a.value).toBeCloseTo(0.91, 12); // sklearn.metrics.roc_auc_score
    expect(a.se).toBeCloseTo(0.06437735971942656, 12); // DeLong 1988, structural components, O(n²)
    expect(a.ci95[0]).toBeCloseTo(0.91 - 1.959963984540054 * 0.06437735971942656, 12);
    expect(a.ci95[1]).toBe(1); // clipped
    expect([a.nPos, a.nNeg]).toEqual([10, 10]);
  });

  it('when Brier and ECE are computed, then they equal brier_score_loss and the 10-bin numpy ECE', () => {
    expect(brier(scores, labels)).toBeCloseTo(0.135625, 12);
    expect(ece(scores, labels)).toBeCloseTo(0.1975, 12);
    const bins = reliability(scores, labels);
    expect(bins.reduce((s, b) => s + b.n, 0)).toBe(20);
    expect(bins.at(-1)!.bin).toEqual([0.9, 1]); // 0.9 and 0.95 land in the last bin
  });

  it('when logistic calibration is fitted, then slope matches unpenalised LogisticRegression and the offset intercept matches scipy', () => {
    const c = logisticCalibration(scores, labels);
    expect(c.slope.value).toBeCloseTo(2.19126644242959, 6); // LogisticRegression(penalty=None) on logit(p)
    expect(c.intercept.value).toBeCloseTo(0.06868113549894274, 6); // minimize_scalar of the offset likelihood
    expect(c.slope.ci95[0]).toBeLessThan(c.slope.value);
    expect(c.slope.se).toBeGreaterThan(0);
  });

  it('when the ROC curve is traced, then it has one point per distinct score, like roc_curve(drop_intermediate=False)', () => {
    const roc = rocCurve(scores, labels);
    expect(roc.length).toBe(19);
    expect(roc[0]).toMatchObject({ fpr: 0, tpr: 0 });
    expect(roc.at(-1)).toMatchObject({ fpr: 1, tpr: 1 });
    expect(roc.slice(1, 4).map((p) => [p.fpr, p.tpr])).toEqual([[0, 0.1], [0, 0.2], [0, 0.3]]);
  });

  it('when a threshold is applied, then p >= t counts as positive', () => {
    const m = atThreshold(scores, labels, 0.5);
    expect(m.confusion).toEqual({ tp: 9, fn: 1, tn: 8, fp: 2 });
    expect(m.accuracy.value).toBe(17 / 20);
  });
});

describe('refer band effect, counted by hand on the same 20 cases', () => {
  it('when the band is [0.4, 0.6), then the 6 cases inside are referred and 12 of the 14 hints outside are right', () => {
    // Outside: 0.35 (positive) is read negative and 0.65 (negative) positive; the rest agree.
    expect(referBandEffect(scores, labels, 0.4, 0.6)).toEqual({ referred: 6, referredFraction: 0.3, outside: 14, accuracyOutside: 12 / 14 });
  });

  it('when p equals the band edges, then low is inside and high is outside', () => {
    expect(referBandEffect([0.4, 0.6], [0, 1], 0.4, 0.6)).toMatchObject({ referred: 1, outside: 1, accuracyOutside: 1 });
  });

  it('when every case falls in the band, then the accuracy outside is null, not NaN', () => {
    expect(referBandEffect(scores, labels, 0, 1).accuracyOutside).toBeNull();
  });
});

describe('Wilson intervals against Newcombe 1998 (Stat Med 17:857, table I)', () => {
  it('when 81/263 is given, then the interval is 0.2553-0.3662', () => {
    const w = wilson(81, 263);
    expect(w.ci95[0]).toBeCloseTo(0.2553, 4);
    expect(w.ci95[1]).toBeCloseTo(0.3662, 4);
  });

  it('when 0/10 is given, then the interval is 0-0.2775', () => {
    const w = wilson(0, 10);
    expect(w.ci95[0]).toBe(0);
    expect(w.ci95[1]).toBeCloseTo(0.2775, 4);
  });

  it('when k > n, then it refuses', () => {
    expect(() => wilson(3, 2)).toThrow(RangeError);
  });
});

describe('metrics on 624 real predictions (pneumonia-cxr test split, Python evaluation)', () => {
  const rows = readFileSync(join(here, '../../models/pneumonia-cxr/evaluation/test-predictions.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  const y = rows.map((r) => Number(r[1]));
  const p = rows.map((r) => Number(r[2]));

  it('when AUROC and its DeLong CI are computed, then they equal evaluate.py (O(n²) numpy) to 1e-9', () => {
    const a = auroc(p, y);
    expect(a.value).toBeCloseTo(0.9823471400394478, 9);
    expect(a.ci95[0]).toBeCloseTo(0.9726556018344542, 9);
    expect(a.ci95[1]).toBeCloseTo(0.9920386782444414, 9);
  });

  it('when ECE is computed, then it equals evaluate.py\'s 10-bin ECE of the calibrated output', () => {
    expect(ece(p, y)).toBeCloseTo(0.0702260781843693, 6); // predictions are rounded to 8 decimals in the CSV
  });

  it('when accuracy at 0.5 is computed, then the Wilson interval equals evaluate.py', () => {
    const m = atThreshold(p, y, 0.5);
    expect(m.confusion).toEqual({ tp: 387, fn: 3, tn: 199, fp: 35 });
    expect(m.accuracy.ci95[0]).toBeCloseTo(0.9175180337567852, 12);
    expect(m.accuracy.ci95[1]).toBeCloseTo(0.9553137811879235, 12);
  });
});

describe('bad input', () => {
  it('when one class is missing, then AUROC refuses instead of returning NaN', () => {
    expect(() => auroc([0.1, 0.2, 0.3], [1, 1, 1])).toThrow(/2 positives and 2 negatives/);
  });

  it('when a label is not 0/1, then it says which', () => {
    expect(() => auroc([0.1, 0.2, 0.3, 0.4], [0, 1, 2, 0])).toThrow(/label 2 is 2/);
  });
});

describe('cluster bootstrap over patients', () => {
  // Patient A: three images scored 1; patient B: one image scored 0. A bootstrap that keeps
  // patients whole can only draw AA (mean 1), AB or BA (mean 3/4) and BB (mean 0), with
  // probabilities 1/4, 1/2, 1/4; an image-level bootstrap would also give 1/2, 1/4, 2/3...
  const patients = ['A', 'A', 'A', 'B'];
  const values = [1, 1, 1, 0];
  const mean = (idx: Int32Array) => [idx.reduce((s, i) => s + values[i], 0) / idx.length];

  it('when images of one patient are resampled together, then only the hand-counted means occur, about 1/4, 1/2, 1/4 of the time', () => {
    const boot = clusterBootstrap(patients, mean, { resamples: 2000, keepSamples: true });
    const draws = Array.from(boot.samples![0]);
    expect(new Set(draws)).toEqual(new Set([0, 0.75, 1]));
    const share = (v: number) => draws.filter((d) => d === v).length / draws.length;
    expect(share(1)).toBeCloseTo(0.25, 1);
    expect(share(0.75)).toBeCloseTo(0.5, 1);
    expect(share(0)).toBeCloseTo(0.25, 1);
    expect(boot.intervals[0]).toMatchObject({ value: 0.75, ci95: [0, 1], resamples: 2000 });
    expect(boot.clusters).toBe(2);
  });

  it('when the same seed is used twice, then the interval is the same; another seed draws other resamples', () => {
    const a = clusterBootstrap(patients, mean, { seed: 7, keepSamples: true });
    const b = clusterBootstrap(patients, mean, { seed: 7, keepSamples: true });
    const c = clusterBootstrap(patients, mean, { seed: 8, keepSamples: true });
    expect(a.samples).toEqual(b.samples);
    expect(c.samples).not.toEqual(a.samples);
  });

  it('when a resample draws only one class, then AUROC is undefined there and left out of the interval, counted', () => {
    const boot = clusterBootstrap(['p', 'q', 'r'], (idx) => [aurocValue([0.9, 0.1, 0.2], [1, 0, 0], idx)], { resamples: 500 });
    // P(no positive patient drawn) = (2/3)^3 and P(only the positive one) = (1/3)^3: 1/3 of resamples.
    expect(boot.intervals[0].resamples / 500).toBeCloseTo(2 / 3, 1);
    expect(boot.intervals[0].ci95).toEqual([1, 1]);
  });

  it('when there is one patient, then it refuses: there is nothing to resample', () => {
    expect(() => clusterBootstrap(['a', 'a'], mean)).toThrow(/at least 2 clusters/);
  });

  it('when a resample repeats cases, then aurocValue equals auroc on the repeated arrays, ties counting one half', () => {
    expect(aurocValue(scores, labels)).toBeCloseTo(auroc(scores, labels).value, 12);
    const idx = [0, 0, 3, 7, 7, 7, 8, 12, 13, 17];
    expect(aurocValue(scores, labels, idx)).toBeCloseTo(auroc(idx.map((i) => scores[i]), idx.map((i) => labels[i])).value, 12);
  });
});

describe('with one image per patient the patient bootstrap agrees with DeLong (real test predictions)', () => {
  const read = (model: string) => {
    const [header, ...rows] = readFileSync(join(here, `../../models/${model}/evaluation/test-predictions.csv`), 'utf8').trim().split('\n').map((l) => l.split(','));
    const col = (name: string) => rows.map((r) => r[header.indexOf(name)]);
    return { y: col('label').map(Number), p: col('probability').map(Number), patients: header.includes('patient') ? col('patient') : undefined };
  };

  it.each(['pneumonia-cxr', 'nih-cxr-abnormal'])('when each of %s\'s test images is its own patient, then the percentile CI is within 0.02 of the DeLong CI', (model) => {
    const { y, p } = read(model);
    const delong = auroc(p, y);
    const boot = clusterBootstrap(p.map((_, i) => `patient-${i}`), (idx) => [aurocValue(p, y, idx)]);
    expect(boot.intervals[0].value).toBeCloseTo(delong.value, 12);
    expect(Math.abs(boot.intervals[0].ci95[0] - delong.ci95[0])).toBeLessThan(0.02);
    expect(Math.abs(boot.intervals[0].ci95[1] - delong.ci95[1])).toBeLessThan(0.02);
  });

  it('when the NIH1000 test images are grouped by their 59 real patients, then the CI widens as the card\'s own Python bootstrap found (0.455-0.789)', () => {
    const { y, p, patients } = read('nih-cxr-abnormal');
    const boot = clusterBootstrap(patients!, (idx) => [aurocValue(p, y, idx)]);
    const delong = auroc(p, y);
    expect(boot.clusters).toBe(59);
    expect(boot.intervals[0].ci95[1] - boot.intervals[0].ci95[0]).toBeGreaterThan(1.5 * (delong.ci95[1] - delong.ci95[0]));
    // Another generator, the same method: the bounds agree to bootstrap noise.
    expect(Math.abs(boot.intervals[0].ci95[0] - 0.4549)).toBeLessThan(0.03);
    expect(Math.abs(boot.intervals[0].ci95[1] - 0.7886)).toBeLessThan(0.03);
  });
});

describe('per-patient aggregation', () => {
  it('when a patient has several images, then their score is the highest and they are positive if any image is', () => {
    const level = patientLevel([0.2, 0.9, 0.4, 0.1, 0.3], [0, 1, 0, 0, 0], ['x', 'x', 'y', 'z', 'y']);
    expect(level.patients).toEqual(['x', 'y', 'z']);
    expect(Array.from(level.scores)).toEqual([0.9, 0.4, 0.1]);
    expect(Array.from(level.labels)).toEqual([1, 0, 0]);
    expect(Array.from(level.images)).toEqual([2, 2, 1]);
  });
});
