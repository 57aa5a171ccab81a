import { describe, expect, it } from 'vitest';
import type { DriftPolicy } from '../../contract/model-drift.ts';
import { driftAlertId, driftAlerts, versionDrift, type DriftObservation } from './windows.ts';

const policy: DriftPolicy = { referenceSize: 40, windowSize: 20, thresholds: { moderate: 0.1, drift: 0.25 } };

/** Inputs cycling through 40 evenly spaced means (one reference's worth), outputs alternating positive / negative. */
function observations(count: number, options: { brightness?: number; from?: number } = {}): DriftObservation[] {
  return Array.from({ length: count }, (_, i) => {
    const mean = ((i * 7) % 40) / 40 + (options.brightness ?? 0);
    return {
      at: new Date(Date.UTC(2026, 0, 1) + ((options.from ?? 0) + i) * 60_000).toISOString(),
      oodScore: null, inputStats: { mean, sd: 0.2, p05: mean - 0.3, p95: mean + 0.3 },
      outcome: i % 2 === 0 ? 'positive' : 'negative', reviewed: i % 4 === 0 ? 1 : 0, accepted: i % 8 === 0 ? 1 : 0,
    };
  });
}

describe('versionDrift', () => {
  it('when a version has fewer inferences than its reference needs, then it has no reference and no windows', () => {
    expect(versionDrift('1', observations(39), policy)).toEqual({ version: '1', inferences: 39, reference: null, windows: [] });
  });

  it('when windows follow the reference unchanged, then each is stable, the last one filling is incomplete, and rates and acceptance are counted', () => {
    const drift = versionDrift('1', observations(40 + 20 + 20 + 5), policy);
    expect(drift.windows.map((w) => [w.index, w.size, w.complete])).toEqual([[0, 20, true], [1, 20, true], [2, 5, false]]);
    expect(drift.windows[0].psi['input-mean']).toBeLessThan(0.1);
    expect(drift.windows[0].psi['ood-score']).toBeNull();
    expect(drift.windows[0].rates).toEqual({ positive: 0.5, refer: 0, negative: 0.5, notApplicable: 0 });
    expect(drift.windows[0].acceptance).toEqual({ reviewed: 5, accepted: 3, share: 0.6 });
    expect(drift.reference).toMatchObject({ size: 40, from: observations(1)[0].at });
    expect(driftAlerts('m', drift, policy)).toEqual([]);
  });

  it('when a window\'s images are brighter, then it alerts on the input quantities with a stable id, and a filling window never alerts', () => {
    const stream = [...observations(40), ...observations(20, { from: 40 }), ...observations(20, { from: 60, brightness: 0.5 }), ...observations(10, { from: 80, brightness: 0.5 })];
    const drift = versionDrift('1', stream, policy);
    const alerts = driftAlerts('m', drift, policy);
    expect(alerts.map((a) => [a.quantity, a.windowIndex]).sort()).toEqual([['input-mean', 1], ['input-p05', 1], ['input-p95', 1]]);
    expect(alerts[0].id).toBe(driftAlertId('m', '1', alerts[0].quantity, 1));
    expect(alerts[0].evidence).toMatchObject({ threshold: 0.25, window: { size: 20 } });
  });

  it('when the outputs turn all positive, then the outcome quantity alerts', () => {
    const allPositive = observations(20, { from: 40 }).map((o) => ({ ...o, outcome: 'positive' as const }));
    const alerts = driftAlerts('m', versionDrift('1', [...observations(40), ...allPositive], policy), policy);
    expect(alerts.map((a) => a.quantity)).toEqual(['outcome']);
  });
});
