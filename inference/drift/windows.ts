import { createHash } from 'node:crypto';
import type { InputStats } from '../../contract/findings.ts';
import type { DriftAlertInput, DriftPolicy, DriftQuantity, DriftWindow, OutcomeRates, VersionDrift } from '../../contract/model-drift.ts';
import { binCounts, continuousPsi, psi, PSI_THRESHOLDS } from './psi.ts';

/**
 * Reference 500, windows of 200: under no shift PSI's expected value on ten bins is about
 * 9 · (1/500 + 1/200) ≈ 0.063, under the moderate line; the measured false-alarm rate at these
 * sizes is in docs/models.md ("Drift").
 */
export const DEFAULT_DRIFT_POLICY: DriftPolicy = { referenceSize: 500, windowSize: 200, thresholds: { ...PSI_THRESHOLDS } };

export type Outcome = 'positive' | 'refer' | 'negative' | 'not-applicable';
const OUTCOMES: readonly Outcome[] = ['positive', 'refer', 'negative', 'not-applicable'];

/** One inference (one image through one model version), as drift monitoring sees it. */
export interface DriftObservation {
  at: string;
  oodScore: number | null;
  inputStats: InputStats | null;
  outcome: Outcome;
  reviewed: number;
  accepted: number;
}

const CONTINUOUS: Record<Exclude<DriftQuantity, 'outcome'>, (o: DriftObservation) => number | null | undefined> = {
  'ood-score': (o) => o.oodScore,
  'input-mean': (o) => o.inputStats?.mean,
  'input-sd': (o) => o.inputStats?.sd,
  'input-p05': (o) => o.inputStats?.p05,
  'input-p95': (o) => o.inputStats?.p95,
};

/**
 * One model version's drift: the first `referenceSize` inferences (oldest first) are the
 * reference; each following run of `windowSize` inferences is a window compared with it, the
 * last one possibly still filling. Before the reference is full there are no windows.
 * `windowsLeftOut`: complete windows between the reference and the observations after it that
 * were not read (evaluated before); the windows keep their places.
 */
export function versionDrift(version: string, observations: readonly DriftObservation[], policy: DriftPolicy, windowsLeftOut = 0): VersionDrift {
  const inferences = observations.length + windowsLeftOut * policy.windowSize;
  if (observations.length < policy.referenceSize) return { version, inferences, reference: null, windows: [] };
  const reference = observations.slice(0, policy.referenceSize);
  const windows: DriftWindow[] = [];
  for (let start = policy.referenceSize, index = windowsLeftOut; start < observations.length; start += policy.windowSize, index++) {
    const window = observations.slice(start, start + policy.windowSize);
    windows.push({
      index, from: window[0].at, to: window[window.length - 1].at, size: window.length, complete: window.length === policy.windowSize,
      psi: psiByQuantity(reference, window), rates: ratesOf(window), acceptance: acceptanceOf(window),
    });
  }
  return {
    version, inferences,
    reference: { from: reference[0].at, to: reference[reference.length - 1].at, size: reference.length, rates: ratesOf(reference) },
    windows,
  };
}

/** The alerts a version's complete windows call for: every quantity whose PSI is over the drift threshold. */
export function driftAlerts(modelId: string, drift: VersionDrift, policy: DriftPolicy): DriftAlertInput[] {
  if (!drift.reference) return [];
  const alerts: DriftAlertInput[] = [];
  for (const window of drift.windows) {
    if (!window.complete) continue;
    for (const [quantity, value] of Object.entries(window.psi) as [DriftQuantity, number | null][]) {
      if (value === null || value <= policy.thresholds.drift) continue;
      alerts.push({
        id: driftAlertId(modelId, drift.version, quantity, window.index),
        modelId, modelVersion: drift.version, quantity, windowIndex: window.index, psi: round(value),
        evidence: {
          statistic: 'PSI on reference deciles', threshold: policy.thresholds.drift,
          reference: { ...drift.reference, rates: undefined }, window: { from: window.from, to: window.to, size: window.size },
          ...(quantity === 'outcome' && { referenceRates: drift.reference.rates, windowRates: window.rates }),
        },
      });
    }
  }
  return alerts;
}

export function driftAlertId(modelId: string, version: string, quantity: DriftQuantity, windowIndex: number): string {
  return createHash('sha256').update(`drift|${modelId}|${version}|${quantity}|${windowIndex}`).digest('hex').slice(0, 32);
}

function psiByQuantity(reference: readonly DriftObservation[], window: readonly DriftObservation[]): Record<DriftQuantity, number | null> {
  const result = {} as Record<DriftQuantity, number | null>;
  for (const [quantity, read] of Object.entries(CONTINUOUS) as [DriftQuantity, (o: DriftObservation) => number | null | undefined][]) {
    const values = (sample: readonly DriftObservation[]) => sample.map(read).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    const compared = continuousPsi(values(reference), values(window));
    result[quantity] = compared && round(compared.psi);
  }
  const counts = (sample: readonly DriftObservation[]) => binCounts(sample.map((o) => OUTCOMES.indexOf(o.outcome)), [0, 1, 2]);
  result.outcome = round(psi(counts(reference), counts(window)));
  return result;
}

function ratesOf(sample: readonly DriftObservation[]): OutcomeRates {
  const share = (outcome: Outcome) => round(sample.filter((o) => o.outcome === outcome).length / sample.length);
  return { positive: share('positive'), refer: share('refer'), negative: share('negative'), notApplicable: share('not-applicable') };
}

function acceptanceOf(sample: readonly DriftObservation[]): DriftWindow['acceptance'] {
  const reviewed = sample.reduce((sum, o) => sum + o.reviewed, 0);
  const accepted = sample.reduce((sum, o) => sum + o.accepted, 0);
  return { reviewed, accepted, share: reviewed === 0 ? null : round(accepted / reviewed) };
}

const round = (value: number) => Math.round(value * 1e4) / 1e4;
