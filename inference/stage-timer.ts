import { performance } from 'node:perf_hooks';

/**
 * Times the named stages of one item of work: `timed('decode', …)` runs the step and
 * records its milliseconds (rounded to `digits`) in `timingMs`, even when it throws.
 */
export function stageTimer(digits: number) {
  const timingMs: Record<string, number> = {};
  const scale = 10 ** digits;
  return {
    timingMs,
    async timed<T>(stage: string, work: () => Promise<T> | T): Promise<T> {
      const start = performance.now();
      try {
        return await work();
      } finally {
        timingMs[stage] = Math.round((performance.now() - start) * scale) / scale;
      }
    },
  };
}
