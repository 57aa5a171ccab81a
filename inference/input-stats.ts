import type { InputStats } from '../contract/findings.ts';
import type { ModelImage } from './preprocess/index.ts';

/** Values summarised per image: a strided sample keeps the cost flat for any input size (224² = 50,176 values → every value). */
const MAX_SAMPLE = 65_536;

/**
 * Mean, standard deviation and the 5th/95th percentiles of the preprocessed input (all
 * channels), once per image: the image statistics drift monitoring watches. Computed on the
 * values the model saw, so a change of scanner, exposure or inversion shows whatever the
 * preprocessing made of it. Percentiles are nearest-rank on a sorted sample of at most
 * MAX_SAMPLE values (exact for inputs up to that size).
 */
export function inputStatsOf(input: Pick<ModelImage, 'data'>): InputStats {
  const { data } = input;
  const stride = Math.max(1, Math.ceil(data.length / MAX_SAMPLE));
  const sample = new Float32Array(Math.ceil(data.length / stride));
  let sum = 0;
  let n = 0;
  for (let i = 0; i < data.length; i += stride) {
    sample[n++] = data[i];
    sum += data[i];
  }
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (sample[i] - mean) ** 2;
  sample.sort();
  const rank = (q: number) => sample[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))];
  return { mean: round(mean), sd: round(Math.sqrt(squares / n)), p05: round(rank(0.05)), p95: round(rank(0.95)) };
}

const round = (value: number) => Math.round(value * 1e5) / 1e5;
