/**
 * Seeded random draws for the surveillance simulation: the same seed gives the same counts on
 * every machine, so the report and its test reproduce. mulberry32 (Tommy Ettinger's 32-bit
 * generator, inference/seeded-random.ts) for uniforms; Marsaglia–Tsang gamma and a gamma–Poisson mixture for overdispersed
 * counts.
 */
import { seededRandom } from '../../inference/seeded-random.ts';

export interface Random {
  /** Uniform on [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  below(n: number): number;
  normal(): number;
  gamma(shape: number): number;
  poisson(mean: number): number;
  /** Negative binomial with this mean and size r: variance mean + mean²/r. */
  negativeBinomial(mean: number, size: number): number;
}

export function seeded(seed: number): Random {
  const next = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const gamma = (shape: number): number => {
    if (shape < 1) return gamma(shape + 1) * (1 - next()) ** (1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      const x = normal();
      const v = (1 + c * x) ** 3;
      if (v > 0 && Math.log(1 - next()) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
    }
  };
  // Knuth's product method, split into parts of at most 30 so exp(−mean) stays far from underflow.
  const poisson = (mean: number): number => {
    let total = 0;
    for (let left = mean; left > 0; left -= 30) {
      const limit = Math.exp(-Math.min(left, 30));
      let k = 0;
      for (let p = next(); p > limit; p *= next()) k++;
      total += k;
    }
    return total;
  };
  return {
    next,
    below: (n) => Math.floor(next() * n),
    normal,
    gamma,
    poisson,
    negativeBinomial: (mean, size) => (mean <= 0 ? 0 : poisson((gamma(size) * mean) / size)),
  };
}
