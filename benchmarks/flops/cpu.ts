/**
 * The machine under the FLOP/s measurement: the FMA roofline's inputs (cores, FP32
 * FLOP/cycle from the instruction-set flags, clock) and the CPU other processes take while
 * it runs, since on a shared VM that load moves every multi-threaded number.
 */
import fs from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';

export interface CpuDescription {
  modelName: string;
  vendor: string;
  family: number | null;
  modelNumber: number | null;
  cores: number;
  clockMHz: number;
  clockSource: string;
  flags: { avx2: boolean; avx512f: boolean; fma: boolean };
  flopsPerCycle: number;
  flopsPerCycleBasis: string;
}

export interface OtherLoad {
  /** CPU used by everything except this process during the paired phase, in cores (from /proc/stat). */
  otherCores: number;
  /** Hypervisor steal time in cores over the same interval. */
  stealCores: number;
  seconds: number;
}

/** FP32 FLOP/cycle/core from /proc/cpuinfo flags, and the clock (cpufreq max if present, else "cpu MHz"). */
export function describeCpu(cpuinfo = safeRead('/proc/cpuinfo'), cpufreqMaxKHz = safeRead('/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq')): CpuDescription {
  const field = (name: string) => cpuinfo.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm'))?.[1]?.trim() ?? '';
  const flagSet = new Set(field('flags').split(/\s+/));
  const flags = { avx2: flagSet.has('avx2'), avx512f: flagSet.has('avx512f'), fma: flagSet.has('fma') };
  const vendor = field('vendor_id');
  const family = field('cpu family') ? Number(field('cpu family')) : null;
  const modelNumber = field('model') ? Number(field('model')) : null;
  const processors = cpuinfo.match(/^processor\s*:/gm)?.length ?? 0;
  const cores = processors || os.availableParallelism();
  const { clockMHz, clockSource } = clockOf(cpuinfo, cpufreqMaxKHz);
  const { flopsPerCycle, basis } = flopsPerCycleOf(flags, flagSet.has('avx'), vendor, family, modelNumber);
  return { modelName: field('model name'), vendor, family, modelNumber, cores, clockMHz, clockSource, flags, flopsPerCycle, flopsPerCycleBasis: basis };
}

function clockOf(cpuinfo: string, cpufreqMaxKHz: string): { clockMHz: number; clockSource: string } {
  const maxKHz = Number(cpufreqMaxKHz.trim());
  if (maxKHz > 0) return { clockMHz: maxKHz / 1000, clockSource: '/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq' };
  const mhz = [...cpuinfo.matchAll(/^cpu MHz\s*:\s*([\d.]+)/gm)].map((m) => Number(m[1]));
  return {
    clockMHz: mhz.length ? Math.max(...mhz) : 0,
    clockSource: '/proc/cpuinfo "cpu MHz" (max over cores; no cpufreq in this VM, so this is the nominal clock the hypervisor reports, not the boost clock)',
  };
}

function flopsPerCycleOf(flags: CpuDescription['flags'], avx: boolean, vendor: string, family: number | null, modelNumber: number | null): { flopsPerCycle: number; basis: string } {
  if (flags.avx512f && flags.fma) return { flopsPerCycle: 64, basis: 'avx512f+fma: 2 FMA units × 16 FP32 lanes × 2 (some CPUs have only one 512-bit FMA unit: then 32)' };
  if (flags.avx2 && flags.fma) {
    const zen1 = vendor === 'AuthenticAMD' && family === 0x17 && modelNumber !== null && modelNumber < 0x30;
    if (zen1) return { flopsPerCycle: 16, basis: 'avx2+fma on AMD Zen/Zen+ (family 0x17, model < 0x30): 2 × 128-bit FMA units × 4 lanes × 2' };
    return { flopsPerCycle: 32, basis: `avx2+fma: 2 FMA units × 8 FP32 lanes × 2${vendor === 'AuthenticAMD' && family === 0x19 ? ' (AMD family 0x19 = Zen 3/4: two 256-bit FMA pipes)' : ''}` };
  }
  if (avx) return { flopsPerCycle: 16, basis: 'avx without fma: 1 add + 1 mul unit × 8 FP32 lanes' };
  return { flopsPerCycle: 8, basis: 'sse: 1 add + 1 mul unit × 4 FP32 lanes' };
}

/** Starts measuring CPU time used by other processes (total busy from /proc/stat minus this process). */
export function cpuLoadMeter(): () => OtherLoad {
  const read = () => {
    const line = safeRead('/proc/stat').split('\n').find((l) => l.startsWith('cpu ')) ?? '';
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    const hz = 100; // USER_HZ on Linux
    return { busy: ((user + nice + system + irq + softirq) || 0) / hz, steal: (steal || 0) / hz, idle: ((idle + iowait) || 0) / hz };
  };
  const t0 = performance.now();
  const s0 = read();
  const u0 = process.cpuUsage();
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    const s1 = read();
    const u = process.cpuUsage(u0);
    const ours = (u.user + u.system) / 1e6;
    return { otherCores: Math.max(0, (s1.busy - s0.busy - ours) / seconds), stealCores: (s1.steal - s0.steal) / seconds, seconds };
  };
}

function safeRead(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
