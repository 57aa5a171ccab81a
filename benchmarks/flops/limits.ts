/** What limits the FLOP/s ratio, in words, from what one run of measureFlops observed. */
import os from 'node:os';
import type { CpuDescription, OtherLoad } from './cpu.ts';
import type { FlopsModel, FlopsResult, GemmResult, PairedResult, VariantResult } from './result.ts';
import { maxBy, type Timing } from './runner.ts';

export interface Observed {
  variantResults: VariantResult[];
  gemmResults: GemmResult[];
  best: VariantResult;
  ratios: FlopsResult['ratios'];
  cpu: CpuDescription;
  impliedClock: number;
  latency: Timing;
  gemmLatency: Timing;
  modelName: FlopsModel;
  paired: PairedResult[];
  otherLoad: OtherLoad;
}

export function explainLimits(x: Observed): string[] {
  const out: string[] = [];
  out.push(`other processes on this shared machine used ${x.otherLoad.otherCores.toFixed(2)} of ${x.cpu.cores} cores during the paired phase (steal ${x.otherLoad.stealCores.toFixed(2)}); a contended core stalls every multi-threaded op at its barrier, so the 2-thread numbers swing by ~2× with the neighbours' load`);
  for (const p of x.paired) out.push(`paired at ${p.threads} thread(s): model ${p.modelGflopsPerSec.toFixed(1)} GFLOP/s vs GEMM ${p.gemmN}³ ${p.gemmGflopsPerSec.toFixed(1)} GFLOP/s = ${(p.modelGflopsPerSec / p.gemmGflopsPerSec).toFixed(3)} of the GEMM at the same thread count`);
  out.push(...threadScaling(x));
  const spin = x.variantResults.filter((r) => r.threads === x.best.threads);
  if (spin.length === 2) {
    const on = spin.find((r) => r.spinning)!;
    const off = spin.find((r) => !r.spinning)!;
    out.push(`spinning: at ${x.best.threads} thread(s) median ${on.medianMs.toFixed(1)} ms with, ${off.medianMs.toFixed(1)} ms without intra-op spinning`);
  }
  out.push(`achieved counts only Conv/Gemm 2·MACs; the model also does memory-bound work (bias+ReLU+residual Add, max pool, NCHW↔NCHWc reorders inserted by onnxruntime) that costs time but no counted FLOPs, and 1×1 convs on 7×7/14×14 maps and the stride-2 1×1 convs have low arithmetic intensity, so they cannot run at GEMM speed`);
  if (x.ratios.gemmOfRoofline > 1) {
    out.push(`the GEMM peak is ${x.ratios.gemmOfRoofline.toFixed(2)}× the roofline: the clock read (${x.cpu.clockMHz.toFixed(0)} MHz, ${x.cpu.clockSource.split(' (')[0]}) is the nominal clock, the cores boost above it (the GEMM implies ≥ ${x.impliedClock.toFixed(0)} MHz at ${x.cpu.flopsPerCycle} FLOP/cycle), so the roofline understates the true FMA peak`);
  } else {
    out.push(`the GEMM reaches ${(x.ratios.gemmOfRoofline * 100).toFixed(0)}% of the roofline (implied clock ${x.impliedClock.toFixed(0)} MHz at ${x.cpu.flopsPerCycle} FLOP/cycle on ${x.cpu.cores} cores)`);
  }
  const top = maxBy(x.gemmResults, (g) => g.gflopsPerSec);
  const topModel = maxBy(x.variantResults, (v) => v.gflopsPerSec);
  out.push(`best seen in phases 1-2 (not paired, so not the headline): GEMM ${top.n}³ at ${top.threads} thread(s) ${top.gflopsPerSec.toFixed(1)} GFLOP/s (${(top.gflopsPerSec / ((x.cpu.cores * x.cpu.flopsPerCycle * x.cpu.clockMHz) / 1000)).toFixed(2)} of the roofline, implied clock ${((top.gflopsPerSec * 1000) / (x.cpu.cores * x.cpu.flopsPerCycle)).toFixed(0)} MHz), model ${topModel.gflopsPerSec.toFixed(1)} GFLOP/s at ${topModel.threads} thread(s); the paired peak is lower when a neighbour holds the second core during the paired phase`);
  const spread = (t: Timing) => t.p95Ms / t.medianMs;
  out.push(`noise: p95/median = ${spread(x.latency).toFixed(2)} (model), ${spread(x.gemmLatency).toFixed(2)} (GEMM) in the paired phase; medians of alternating runs, not best-case runs`);
  return out;
}

/** The model's and the GEMM's 2-thread speed-up over 1 thread, when both were measured. */
function threadScaling(x: Observed): string[] {
  const out: string[] = [];
  const med = (threads: number) => {
    const v = x.variantResults.filter((r) => r.threads === threads);
    return v.length ? Math.min(...v.map((r) => r.medianMs)) : undefined;
  };
  const one = med(1);
  const two = med(2);
  if (one !== undefined && two !== undefined) {
    out.push(`thread scaling: ${x.modelName} 2 threads vs 1 = ${(one / two).toFixed(2)}× (ideal 2×); on this shared 2-vCPU VM the second core is also serving other processes (phase 1, load average ${os.loadavg()[0].toFixed(2)} at the end) and the parallel split of small late-stage convs (7×7, 14×14 maps) has sync overhead`);
  }
  const g1 = x.gemmResults.filter((g) => g.threads === 1).map((g) => g.gflopsPerSec);
  const g2 = x.gemmResults.filter((g) => g.threads === 2).map((g) => g.gflopsPerSec);
  if (g1.length && g2.length) out.push(`GEMM thread scaling: best 2-thread ${Math.max(...g2).toFixed(1)} vs best 1-thread ${Math.max(...g1).toFixed(1)} GFLOP/s`);
  return out;
}
