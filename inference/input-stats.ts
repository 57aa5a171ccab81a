import type { InputStats } from '../contract/findings.ts';
import type { ModelImage } from './preprocess/index.ts';

/** Values summarised per image: a strided sample keeps the cost flat for any input size (224² = 50,176 values → every value). */
const MAX_SAMPLE = 65_536;

/**
 * Mean, standard deviation and the 5th/95th percentiles of the preprocessed input (all
 * channels), once per image: the image statistics drift monitoring watches. Computed on the
 * values the model saw, so a change of scanner, exposure or inversion shows whatever the
 * preprocessing made of it. Percentiles are nearest-rank on a sample of at most MAX_SAMPLE
 * values (exact for inputs up to that size), found by selection, not by sorting: sorting the
 * 50,176 values of a 224² input took ~4 ms of the worker's ~4 ms postprocess, selection ~0.3.
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
  const rankIndex = (q: number) => Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
  const [low, high] = [rankIndex(0.05), rankIndex(0.95)];
  let p05: number;
  let p95: number;
  if (Number.isNaN(sum)) {
    // A NaN (or both infinities) in the input: sorted, NaN goes last, as it always did.
    sample.subarray(0, n).sort();
    [p05, p95] = [sample[low], sample[high]];
  } else {
    // The 95th first over the whole sample; it leaves every smaller value left of it, where the 5th is.
    p95 = select(sample, high, 0, n - 1);
    p05 = select(sample, low, 0, high);
  }
  return { mean: round(mean), sd: round(Math.sqrt(squares / n)), p05: round(p05), p95: round(p95) };
}

/**
 * The value at index `k` of `values[from..to]` (no NaN among them) sorted ascending, rearranging
 * that range so that no value left of `k` is greater and none right of it smaller. Floyd and
 * Rivest's selection (CACM 18(3), 1975): a range over 600 values first narrows itself on a
 * sample around `k`, so the whole range is partitioned about once (~0.3 ms for 50,176 values,
 * where a plain quickselect took ~1 ms).
 */
export function select(values: Float32Array, k: number, from: number, to: number): number {
  let [left, right] = [from, to];
  while (right > left) {
    if (right - left > 600) {
      const n = right - left + 1;
      const m = k - left + 1;
      const z = Math.log(n);
      const s = 0.5 * Math.exp((2 * z) / 3);
      const sd = 0.5 * Math.sqrt((z * s * (n - s)) / n) * (m - n / 2 < 0 ? -1 : 1);
      select(values, k, Math.max(left, Math.floor(k - (m * s) / n + sd)), Math.min(right, Math.floor(k + ((n - m) * s) / n + sd)));
    }
    const t = values[k];
    let i = left;
    let j = right;
    swap(values, left, k);
    if (values[right] > t) swap(values, left, right);
    while (i < j) {
      swap(values, i++, j--);
      while (values[i] < t) i++;
      while (values[j] > t) j--;
    }
    if (values[left] === t) swap(values, left, j);
    else swap(values, ++j, right);
    if (j <= k) left = j + 1;
    if (k <= j) right = j - 1;
  }
  return values[k];
}

function swap(values: Float32Array, i: number, j: number): void {
  const v = values[i];
  values[i] = values[j];
  values[j] = v;
}

const round = (value: number) => Math.round(value * 1e5) / 1e5;
