/**
 * Achieved FP32 GFLOP/s of a ResNet-50-shaped ONNX model in onnxruntime-node, as a
 * fraction of (a) this machine's measured GEMM peak in onnxruntime and (b) the FMA
 * roofline cores × FLOP/cycle × clock. Goal of the performance issue: ≥ 0.85 of the
 * measured peak.
 *
 * Models are generated reproducibly by build_models.py (spawned with /usr/bin/python3
 * when missing, models.ts); FLOPs are counted exactly from the graph there (2·MACs of Conv,
 * MatMul, Gemm — see models/flops.json). Every cell is timed alike (runner.ts); the roofline's
 * inputs and the neighbours' load come from cpu.ts, the words on what limits the ratio from
 * limits.ts.
 *
 * Phases, each with a share of budgetMs (every cell still gets a warm-up and at least
 * MIN_RUNS timed runs, so a tiny budget can overrun a little):
 *   1. model variants: intraOpNumThreads ∈ {1, 2} × intra-op spinning on/off, one
 *      session each, warm-up then timed runs; best = lowest median latency;
 *   2. GEMM peak: MatMul N×N·N×N for each generated N × each thread count, with the
 *      winning spinning setting; best = highest GFLOP/s at the median;
 *   3. paired: per thread count, the model (winning spinning setting) and that thread
 *      count's best GEMM size run in alternating bursts of ~300 ms (first run of each
 *      burst discarded, a short pause so spinning workers settle), so every number of the
 *      headline ratio comes from the same minutes on this shared, noisy machine, and the
 *      CPU used by other processes meanwhile is recorded (/proc/stat).
 * Headline: achieved = best model GFLOP/s of phase 3 (its thread count wins), peak =
 * best GEMM GFLOP/s of phase 3; both at the median of their runs.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { cpuLoadMeter, describeCpu, type CpuDescription, type OtherLoad } from './cpu.ts';
import { explainLimits } from './limits.ts';
import { DEFAULT_MODELS_DIR, ensureModels, type FlopsJson, type ModelEntry } from './models.ts';
import type { FlopsModel, FlopsResult, GemmResult, PairedResult, VariantResult } from './result.ts';
import { MIN_RUNS, SETTLE_MS, burst, gflopsPerSec, maxBy, openRunner, sessionOptionsFor, sleep, summarize, timeCell, type Runner } from './runner.ts';

export const GOAL_OF_MEASURED_PEAK = 0.85;

export interface MeasureFlopsOptions {
  /** Total wall-clock budget for all phases (default 60 s). Minimum run counts may overrun it slightly. */
  budgetMs?: number;
  /** Only try this intraOpNumThreads (default: try 1 and 2, capped at the core count). */
  threads?: number;
  onProgress?: (msg: string) => void;
  /** 'resnet50' (default; the real benchmark) or 'tiny' (ResNet [1,1,1,1] at 64², for smoke tests). */
  model?: FlopsModel;
  modelsDir?: string;
}

export interface SessionVariant {
  threads: number;
  spinning: boolean;
  sessionOptions: ort.InferenceSession.SessionOptions;
}

/** What every phase needs: the model under test, the GEMM graphs, the thread counts to try and the budget left. */
interface Plan {
  modelName: FlopsModel;
  modelsDir: string;
  entry: ModelEntry;
  /** The GEMM graphs, smallest first. */
  gemms: ModelEntry[];
  threadCounts: number[];
  cpu: CpuDescription;
  progress: (msg: string) => void;
  /** Milliseconds of the budget not yet spent. */
  remaining: () => number;
}

/** Phases 1 → 2 → 3, then the headline from phase 3 (see the top of this file). */
export async function measureFlops(options: MeasureFlopsOptions = {}): Promise<FlopsResult> {
  const started = performance.now();
  const budgetMs = options.budgetMs ?? 60_000;
  const progress = options.onProgress ?? (() => {});
  const modelName: FlopsModel = options.model ?? 'resnet50';
  const modelsDir = options.modelsDir ?? DEFAULT_MODELS_DIR;

  progress(`models: ${modelsDir}`);
  const meta = ensureModels(modelsDir);
  const entry = meta.models[modelName];
  if (!entry) throw new Error(`flops.json has no model ${modelName}`);
  const cpu = describeCpu();
  const plan: Plan = {
    modelName, modelsDir, entry, cpu, progress,
    gemms: Object.values(meta.models).filter((m) => m.n !== undefined).sort((a, b) => a.n! - b.n!),
    threadCounts: threadCountsToTry(options.threads, cpu),
    remaining: () => budgetMs - (performance.now() - started),
  };
  const variants = await measureVariants(plan);
  // The fastest variant's spinning setting is used from here on.
  const best = maxBy(variants, (v) => -v.medianMs);
  const gemms = await measureGemms(plan, best.spinning);
  const { paired, otherLoad } = await measurePaired(plan, best.spinning, gemms);
  return flopsResult(plan, meta, { variants, best, gemms, paired, otherLoad }, budgetMs, started);
}

/** The given thread count, or 1 and 2 (capped at the cores this process may use). */
function threadCountsToTry(threads: number | undefined, cpu: CpuDescription): number[] {
  const maxThreads = Math.max(1, Math.min(cpu.cores, os.availableParallelism()));
  return threads !== undefined ? [threads] : [...new Set([1, Math.min(2, maxThreads)])];
}

/** Phase 1: the model at each thread count with intra-op spinning on and off, in 0.4 of the budget left. */
async function measureVariants(plan: Plan): Promise<VariantResult[]> {
  const { modelName, modelsDir, entry, progress } = plan;
  const variants: SessionVariant[] = plan.threadCounts.flatMap((threads) => [true, false].map((spinning) => ({ threads, spinning, sessionOptions: sessionOptionsFor(threads, spinning) })));
  const phaseMs = plan.remaining() * 0.4;
  const results: VariantResult[] = [];
  for (const [i, v] of variants.entries()) {
    const t = await timeCell(modelsDir, entry, v.sessionOptions, performance.now() + phaseMs / variants.length, 2);
    const r: VariantResult = { threads: v.threads, spinning: v.spinning, ...t, gflopsPerSec: gflopsPerSec(entry.flops, t) };
    results.push(r);
    progress(`${modelName} [${i + 1}/${variants.length}] threads=${v.threads} spinning=${v.spinning}: median ${t.medianMs.toFixed(1)} ms over ${t.runs} runs, ${r.gflopsPerSec.toFixed(1)} GFLOP/s`);
    await sleep(SETTLE_MS);
  }
  return results;
}

/** Phase 2: the GEMM peak over sizes × thread counts, with the winning spinning setting, in 0.45 of the budget left. */
async function measureGemms(plan: Plan, spinning: boolean): Promise<GemmResult[]> {
  const cells = plan.gemms.flatMap((g) => plan.threadCounts.map((threads) => ({ g, threads })));
  const phaseMs = plan.remaining() * 0.45;
  const results: GemmResult[] = [];
  for (const [i, { g, threads }] of cells.entries()) {
    const t = await timeCell(plan.modelsDir, g, sessionOptionsFor(threads, spinning), performance.now() + phaseMs / cells.length, 1);
    const r: GemmResult = { n: g.n!, threads, spinning, gflop: g.flops / 1e9, ...t, gflopsPerSec: gflopsPerSec(g.flops, t) };
    results.push(r);
    plan.progress(`gemm [${i + 1}/${cells.length}] ${g.n}³ threads=${threads}: median ${t.medianMs.toFixed(2)} ms over ${t.runs} runs, ${r.gflopsPerSec.toFixed(1)} GFLOP/s`);
    await sleep(SETTLE_MS);
  }
  return results;
}

/** One thread count of the paired phase: the model and that thread count's best GEMM, each with its own session. */
interface PairedSide { threads: number; model: Runner; gemm: Runner; gemmEntry: ModelEntry; modelTimes: number[]; gemmTimes: number[] }

/**
 * Phase 3: for each thread count, the model (winning spinning setting) and the best GEMM
 * size at that thread count run in alternating bursts (runner.ts `burst`), for the rest of
 * the budget. All sides share the same minutes on this shared, noisy machine.
 */
async function measurePaired(plan: Plan, spinning: boolean, gemmResults: GemmResult[]): Promise<{ paired: PairedResult[]; otherLoad: OtherLoad }> {
  const sides = await openPairedSides(plan, spinning, gemmResults);
  const pairedDeadline = performance.now() + Math.max(0, plan.remaining());
  const load = cpuLoadMeter();
  let rounds = 0;
  while (rounds < MIN_RUNS || performance.now() < pairedDeadline) {
    for (const side of sides) {
      await burst(side.model, side.modelTimes);
      await burst(side.gemm, side.gemmTimes);
    }
    rounds++;
  }
  const otherLoad = load();
  for (const side of sides) {
    await side.model.session.release();
    await side.gemm.session.release();
  }
  const paired = sides.map((side) => pairedResult(plan, side, spinning, rounds));
  plan.progress(`other processes used ${otherLoad.otherCores.toFixed(2)} of ${plan.cpu.cores} cores during the paired phase (steal ${otherLoad.stealCores.toFixed(2)})`);
  return { paired, otherLoad };
}

async function openPairedSides(plan: Plan, spinning: boolean, gemmResults: GemmResult[]): Promise<PairedSide[]> {
  const sides: PairedSide[] = [];
  for (const threads of plan.threadCounts) {
    const cell = maxBy(gemmResults.filter((g) => g.threads === threads), (g) => g.gflopsPerSec);
    const gemmEntry = plan.gemms.find((g) => g.n === cell.n)!;
    sides.push({
      threads,
      model: await openRunner(plan.modelsDir, plan.entry, sessionOptionsFor(threads, spinning)),
      gemm: await openRunner(plan.modelsDir, gemmEntry, sessionOptionsFor(threads, spinning)),
      gemmEntry,
      modelTimes: [],
      gemmTimes: [],
    });
  }
  return sides;
}

function pairedResult(plan: Plan, side: PairedSide, spinning: boolean, rounds: number): PairedResult {
  const model = summarize(side.modelTimes);
  const gemm = summarize(side.gemmTimes);
  const r: PairedResult = {
    threads: side.threads,
    spinning,
    model,
    modelGflopsPerSec: gflopsPerSec(plan.entry.flops, model),
    gemmN: side.gemmEntry.n!,
    gemm,
    gemmGflopsPerSec: gflopsPerSec(side.gemmEntry.flops, gemm),
  };
  plan.progress(`paired threads=${side.threads} (${rounds} rounds): ${plan.modelName} ${model.medianMs.toFixed(1)} ms = ${r.modelGflopsPerSec.toFixed(1)} GFLOP/s; gemm ${r.gemmN}³ ${gemm.medianMs.toFixed(2)} ms = ${r.gemmGflopsPerSec.toFixed(1)} GFLOP/s`);
  return r;
}

interface Measured { variants: VariantResult[]; best: VariantResult; gemms: GemmResult[]; paired: PairedResult[]; otherLoad: OtherLoad }

/** The headline from phase 3: the thread count whose model ran fastest, against the best GEMM there, and the roofline. */
function flopsResult(plan: Plan, meta: FlopsJson, measured: Measured, budgetMs: number, started: number): FlopsResult {
  const { cpu } = plan;
  const { variants, best, gemms, paired, otherLoad } = measured;
  const winner = maxBy(paired, (p) => p.modelGflopsPerSec);
  const peakSide = maxBy(paired, (p) => p.gemmGflopsPerSec);
  const achieved = winner.modelGflopsPerSec;
  const peak = peakSide.gemmGflopsPerSec;
  const rooflineGflops = (cpu.cores * cpu.flopsPerCycle * cpu.clockMHz) / 1000;
  const impliedClock = (peak * 1000) / (cpu.cores * cpu.flopsPerCycle);
  const ratios = { ofMeasuredPeak: achieved / peak, ofRoofline: achieved / rooflineGflops, gemmOfRoofline: peak / rooflineGflops };
  const limits = explainLimits({ variantResults: variants, gemmResults: gemms, best, ratios, cpu, impliedClock, latency: winner.model, gemmLatency: peakSide.gemm, modelName: plan.modelName, paired, otherLoad });
  return {
    model: modelDescription(plan, meta),
    latency: winner.model,
    achievedGflopsPerSec: achieved,
    gemm: { n: peakSide.gemmN, threads: peakSide.threads, latency: peakSide.gemm, peakGflopsPerSec: peak, explored: gemms },
    paired,
    otherLoad,
    roofline: {
      gflopsPerSec: rooflineGflops,
      cores: cpu.cores,
      clockMHz: cpu.clockMHz,
      clockSource: cpu.clockSource,
      flopsPerCycle: cpu.flopsPerCycle,
      flopsPerCycleBasis: cpu.flopsPerCycleBasis,
      impliedClockMHzFromGemm: impliedClock,
    },
    ratios,
    goal: { ofMeasuredPeak: GOAL_OF_MEASURED_PEAK, met: ratios.ofMeasuredPeak >= GOAL_OF_MEASURED_PEAK },
    sessionOptions: sessionOptionsFor(winner.threads, winner.spinning),
    variants,
    cpu,
    limits,
    onnxruntimeVersion: ort.env.versions.common ?? 'unknown',
    loadAverage: os.loadavg(),
    budgetMs,
    elapsedMs: performance.now() - started,
  };
}

function modelDescription(plan: Plan, meta: FlopsJson): FlopsResult['model'] {
  const { entry, modelName } = plan;
  return {
    name: modelName,
    file: entry.file,
    sha256: entry.sha256,
    inputShape: entry.input.shape,
    gflop: entry.flops / 1e9,
    macs: entry.macs,
    otherGflop: entry.other_flops / 1e9,
    flopConvention: meta.flop_convention,
    batchnorm: meta.batchnorm,
    variant: modelName === 'resnet50' ? meta.resnet_variant : 'ResNet v1 bottlenecks, stages [1,1,1,1], 64×64 input (smoke-test model)',
  };
}
