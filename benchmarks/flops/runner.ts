/**
 * Timing one onnxruntime session: the session options each phase varies, a repeatable
 * input, warm-up then timed runs until a deadline, and the alternating bursts of the
 * paired phase. Every phase of measure.ts times through these, so all cells are timed alike.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import type { ModelEntry } from './models.ts';

/** Every cell gets at least this many timed runs, whatever the budget. */
export const MIN_RUNS = 3;
/** Pause after a cell or burst so spinning workers of the previous session settle. */
export const SETTLE_MS = 15;
const BURST_MS = 300;

export interface Timing {
  runs: number;
  medianMs: number;
  p95Ms: number;
  minMs: number;
}

export function sessionOptionsFor(threads: number, spinning: boolean): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    // onnxruntime-node flattens nested `extra` keys with '.' into session config entries:
    // this is "session.intra_op.allow_spinning" (onnxruntime_session_options_config_keys.h).
    extra: { session: { intra_op: { allow_spinning: spinning ? '1' : '0' } } },
  };
}

export function summarize(times: number[]): Timing {
  const sorted = [...times].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { runs: sorted.length, medianMs: median, p95Ms: q(0.95), minMs: sorted[0] };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GFLOP/s of `flops` per run at a run's median latency. */
export const gflopsPerSec = (flops: number, t: Timing) => flops / 1e9 / (t.medianMs / 1000);

/** The item with the highest score; the first of equals. */
export const maxBy = <T>(items: T[], score: (item: T) => number): T => items.reduce((a, b) => (score(b) > score(a) ? b : a));

/** Deterministic input in [-1, 1) (xorshift32), so runs are repeatable. */
function inputTensor(shape: number[]): ort.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  let s = 0x9e3779b9;
  for (let i = 0; i < size; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    data[i] = (s >>> 0) / 2 ** 31 - 1;
  }
  return new ort.Tensor('float32', data, shape);
}

export interface Runner {
  session: ort.InferenceSession;
  feeds: Record<string, ort.Tensor>;
  once(): Promise<number>;
}

export async function openRunner(modelsDir: string, entry: ModelEntry, options: ort.InferenceSession.SessionOptions): Promise<Runner> {
  const session = await ort.InferenceSession.create(path.join(modelsDir, entry.file), options);
  const feeds = { [entry.input.name]: inputTensor(entry.input.shape) };
  return {
    session,
    feeds,
    async once() {
      const t0 = performance.now();
      const out = await session.run(feeds);
      const dt = performance.now() - t0;
      const y = out[entry.output].data as Float32Array;
      if (!Number.isFinite(y[0])) throw new Error(`${entry.file}: non-finite output`);
      return dt;
    },
  };
}

/** One cell of phases 1 and 2: its own session, warm-up, then timed runs until the deadline (at least MIN_RUNS). */
export async function timeCell(modelsDir: string, entry: ModelEntry, options: ort.InferenceSession.SessionOptions, deadline: number, warmups: number): Promise<Timing> {
  const runner = await openRunner(modelsDir, entry, options);
  for (let i = 0; i < warmups; i++) await runner.once();
  const times: number[] = [];
  while (times.length < MIN_RUNS || performance.now() < deadline) times.push(await runner.once());
  await runner.session.release();
  return summarize(times);
}

/**
 * One burst of the paired phase: the first run is discarded (cold caches, workers asleep
 * after another session ran), then runs for ~BURST_MS into `out`, then a settle pause.
 */
export async function burst(runner: Runner, out: number[]): Promise<void> {
  await runner.once();
  const end = performance.now() + BURST_MS;
  do out.push(await runner.once());
  while (performance.now() < end);
  await sleep(SETTLE_MS);
}
