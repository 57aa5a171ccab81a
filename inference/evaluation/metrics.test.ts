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
