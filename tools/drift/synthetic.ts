import type { DriftObservation, Outcome } from '../../inference/drift/windows.ts';

export interface StreamShape {
  /** Added to every input value (a brighter scanner or exposure): shifts mean and percentiles. */
  brightness: number;
  /** Added to the OOD score's log-normal location: images less like the training films. */
  oodShift: number;
  /** Share of positive outputs. */
  positiveRate: number;
}

export const UNSHIFTED: StreamShape = { brightness: 0, oodShift: 0, positiveRate: 0.3 };

/**
 * Synthetic inferences shaped like chest films through pneumonia-cxr: the input summary of a
 * [0,1] image whose mean varies by film (sd 0.05) and whose spread varies less; an OOD score
 * log-normal around 8 (threshold 13: about 1% not applicable); outputs positive at
 * `positiveRate`, 5% in the refer band. One observation per second from `start`.
 */
export function syntheticStream(count: number, shape: StreamShape, random: () => number, start = Date.UTC(2026, 0, 1)): DriftObservation[] {
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Array.from({ length: count }, (_, i) => {
    const mean = 0.48 + 0.05 * gauss() + shape.brightness;
    const sd = 0.22 + 0.02 * gauss();
    const oodScore = Math.exp(Math.log(8) + 0.2 * gauss() + shape.oodShift);
    const u = random();
    const outcome: Outcome = oodScore > 13 ? 'not-applicable' : u < 0.05 ? 'refer' : u < 0.05 + shape.positiveRate ? 'positive' : 'negative';
    return {
      at: new Date(start + i * 1000).toISOString(),
      oodScore,
      inputStats: { mean, sd, p05: mean - 1.64 * sd + 0.01 * gauss(), p95: mean + 1.64 * sd + 0.01 * gauss() },
      outcome,
      reviewed: 0,
      accepted: 0,
    };
  });
}
