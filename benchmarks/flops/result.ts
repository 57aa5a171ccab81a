/** What measureFlops returns: the headline, every phase's cells and what limits the ratio (cli.ts prints it, --json writes it). */
import type * as ort from 'onnxruntime-node';
import type { CpuDescription, OtherLoad } from './cpu.ts';
import type { Timing } from './runner.ts';

export type FlopsModel = 'resnet50' | 'tiny';

export interface VariantResult extends Timing {
  threads: number;
  spinning: boolean;
  gflopsPerSec: number;
}

export interface GemmResult extends Timing {
  n: number;
  threads: number;
  spinning: boolean;
  gflop: number;
  gflopsPerSec: number;
}

export interface PairedResult {
  threads: number;
  spinning: boolean;
  model: Timing;
  modelGflopsPerSec: number;
  gemmN: number;
  gemm: Timing;
  gemmGflopsPerSec: number;
}

export interface FlopsResult {
  model: {
    name: FlopsModel;
    file: string;
    sha256: string;
    inputShape: number[];
    /** GFLOP per inference: 2·MACs of Conv/MatMul/Gemm. */
    gflop: number;
    macs: number;
    /** Bias, ReLU, Add, pooling FLOPs, not in gflop. */
    otherGflop: number;
    flopConvention: string;
    batchnorm: string;
    variant: string;
  };
  /** Latency of the winning thread count in the paired phase. */
  latency: Timing;
  achievedGflopsPerSec: number;
  gemm: {
    n: number;
    threads: number;
    latency: Timing;
    /** Measured peak: GEMM GFLOP/s at the median, best size and thread count, from the paired phase. */
    peakGflopsPerSec: number;
    explored: GemmResult[];
  };
  /** Phase 3, per thread count: the model and that thread count's best GEMM size, alternating. */
  paired: PairedResult[];
  otherLoad: OtherLoad;
  roofline: {
    gflopsPerSec: number;
    cores: number;
    clockMHz: number;
    clockSource: string;
    flopsPerCycle: number;
    flopsPerCycleBasis: string;
    /** Clock the measured GEMM peak implies at flopsPerCycle on every core (≥ clockMHz means the clock read is not the running clock). */
    impliedClockMHzFromGemm: number;
  };
  ratios: {
    /** achieved / measured GEMM peak. */
    ofMeasuredPeak: number;
    /** achieved / roofline. */
    ofRoofline: number;
    /** measured GEMM peak / roofline. */
    gemmOfRoofline: number;
  };
  goal: { ofMeasuredPeak: number; met: boolean };
  /** The winning session options (thread count by the paired phase, spinning by phase 1). */
  sessionOptions: ort.InferenceSession.SessionOptions;
  variants: VariantResult[];
  cpu: CpuDescription;
  /** What limits the ratio, as observed in this run. */
  limits: string[];
  onnxruntimeVersion: string;
  loadAverage: number[];
  budgetMs: number;
  elapsedMs: number;
}
