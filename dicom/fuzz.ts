import { decodeFrame } from './decode/index.ts';
import { DicomError } from './errors.ts';
import type { DicomLimits } from './limits.ts';
import { parseDicom } from './parse.ts';

/**
 * A mutation campaign over real DICOM files: each mutant (truncated, bit-flipped, a length
 * field corrupted, an element duplicated, wrapped in sequences) goes through parse and, when
 * it parses, the decode of its first frame. The promise under test: every mutant ends within
 * a bounded time in success or a typed DicomError; anything else is a finding, kept with the
 * seed that reproduces it.
 */

export type Mutation = 'truncate' | 'bitflip' | 'length' | 'duplicate' | 'nest' | 'splice';
export const MUTATIONS: readonly Mutation[] = ['truncate', 'bitflip', 'length', 'duplicate', 'nest', 'splice'];

export interface FuzzSeed {
  name: string;
  bytes: Uint8Array;
}

export interface FuzzReport {
  mutants: number;
  accepted: number;
  /** Refusals by DicomError code. */
  refused: Record<string, number>;
  byMutation: Record<Mutation, number>;
  /** Mutants that threw anything but a DicomError (the campaign's findings). */
  untyped: { seed: string; mutation: Mutation; rng: number; error: string }[];
  slowestMs: number;
  totalMs: number;
}

/** xorshift32: the same seed gives the same mutants on every machine. */
function random(seed: number) {
  let state = seed >>> 0 || 0x9e3779b9;
  const next = () => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return state;
  };
  return { next, below: (n: number) => (n <= 0 ? 0 : next() % n) };
}

/** Offsets where an element header plausibly starts: after a preamble, at even offsets whose next bytes look like a tag + VR. */
function headerOffsets(bytes: Uint8Array): number[] {
  const offsets: number[] = [];
  for (let i = 132; i + 8 <= bytes.length && offsets.length < 4096; i += 2) {
    const vr0 = bytes[i + 4];
    const vr1 = bytes[i + 5];
    const group = bytes[i] | (bytes[i + 1] << 8);
    if ((group === 0x0002 || group === 0x0008 || group === 0x0010 || group === 0x0018 || group === 0x0020 || group === 0x0028 || group === 0x7fe0 || group === 0xfffe)
      && ((vr0 >= 0x41 && vr0 <= 0x5a && vr1 >= 0x41 && vr1 <= 0x5a) || group === 0xfffe)) offsets.push(i);
  }
  return offsets;
}

/** One mutation of a seed file, reproducible from `rngSeed`; over 80 lines because it is one switch over every mutation kind, each a few lines. */
export function mutate(seed: Uint8Array, mutation: Mutation, rngSeed: number): Uint8Array {
  const rng = random(rngSeed);
  const headers = headerOffsets(seed);
  const anyHeader = () => (headers.length ? headers[rng.below(headers.length)] : 132 + rng.below(Math.max(1, seed.length - 140)));
  switch (mutation) {
    case 'truncate':
      return seed.slice(0, rng.below(seed.length));
    case 'bitflip': {
      const out = seed.slice();
      const flips = 1 + rng.below(16);
      for (let i = 0; i < flips; i++) {
        // Mostly in the header area, where one bit changes structure rather than a pixel.
        const span = rng.below(4) === 0 ? out.length : Math.min(out.length, 4096);
        const at = rng.below(span);
        out[at] ^= 1 << rng.below(8);
      }
      return out;
    }
    case 'length': {
      const out = seed.slice();
      const view = new DataView(out.buffer);
      const at = anyHeader();
      const values = [0, 1, 2, 0xff, 0xfffe, 0xffff, 0x7fffffff, 0xfffffff0, 0xffffffff, rng.next(), rng.below(out.length * 2)];
      const value = values[rng.below(values.length)];
      if (at + 12 <= out.length) {
        if (rng.below(2) === 0) view.setUint16(at + 6, value & 0xffff, true);
        else view.setUint32(at + (rng.below(2) ? 4 : 8), value >>> 0, true);
      }
      return out;
    }
    case 'duplicate': {
      const at = anyHeader();
      const length = 8 + rng.below(Math.min(512, seed.length - at));
      const copies = 1 + rng.below(rng.below(8) === 0 ? 2000 : 4);
      const chunk = seed.subarray(at, at + length);
      const out = new Uint8Array(seed.length + chunk.length * copies);
      out.set(seed.subarray(0, at));
      for (let i = 0; i < copies; i++) out.set(chunk, at + i * chunk.length);
      out.set(seed.subarray(at), at + chunk.length * copies);
      return out;
    }
    case 'nest': {
      // Wrap a stretch of elements in `depth` sequences/items, of undefined or (wrongly) defined length.
      const at = anyHeader();
      const depth = 1 + rng.below(rng.below(4) === 0 ? 400 : 8);
      const open = new Uint8Array(depth * 20);
      const view = new DataView(open.buffer);
      for (let d = 0; d < depth; d++) {
        const o = d * 20;
        view.setUint16(o, 0x0009, true); view.setUint16(o + 2, 0x1010 + (d & 0xff), true);
        open[o + 4] = 0x53; open[o + 5] = 0x51; // 'SQ'
        view.setUint32(o + 8, rng.below(3) === 0 ? rng.below(4096) : 0xffffffff, true);
        view.setUint16(o + 12, 0xfffe, true); view.setUint16(o + 14, 0xe000, true);
        view.setUint32(o + 16, 0xffffffff, true);
      }
      const closeCount = rng.below(depth + 1);
      const close = new Uint8Array(closeCount * 16);
      const closeView = new DataView(close.buffer);
      for (let d = 0; d < closeCount; d++) {
        closeView.setUint16(d * 16, 0xfffe, true); closeView.setUint16(d * 16 + 2, 0xe00d, true);
        closeView.setUint16(d * 16 + 8, 0xfffe, true); closeView.setUint16(d * 16 + 10, 0xe0dd, true);
      }
      const end = Math.min(seed.length, at + rng.below(2048));
      const out = new Uint8Array(seed.length + open.length + close.length);
      out.set(seed.subarray(0, at));
      out.set(open, at);
      out.set(seed.subarray(at, end), at + open.length);
      out.set(close, end + open.length);
      out.set(seed.subarray(end), end + open.length + close.length);
      return out;
    }
    case 'splice': {
      // Delete or insert a run of random bytes: headers and values fall out of step.
      const at = Math.min(seed.length, 128 + rng.below(Math.max(1, seed.length - 128)));
      if (rng.below(2) === 0) {
        const cut = Math.min(1 + rng.below(64), seed.length - at);
        const out = new Uint8Array(seed.length - cut);
        out.set(seed.subarray(0, at));
        out.set(seed.subarray(at + cut), at);
        return out;
      }
      const noise = Uint8Array.from({ length: 1 + rng.below(64) }, () => rng.next() & 0xff);
      const out = new Uint8Array(seed.length + noise.length);
      out.set(seed.subarray(0, at));
      out.set(noise, at);
      out.set(seed.subarray(at), at + noise.length);
      return out;
    }
  }
}

/** Runs `count` mutants spread evenly over seeds and mutations; `decode` also decodes frame 0 of each mutant that parses (every other one reduced). */
export async function runFuzz(seeds: FuzzSeed[], count: number, options: { limits?: DicomLimits; decode?: boolean; rngBase?: number } = {}): Promise<FuzzReport> {
  const report: FuzzReport = {
    mutants: 0, accepted: 0, refused: {}, untyped: [], slowestMs: 0, totalMs: 0,
    byMutation: Object.fromEntries(MUTATIONS.map((m) => [m, 0])) as Record<Mutation, number>,
  };
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const seed = seeds[i % seeds.length];
    const mutation = MUTATIONS[Math.floor(i / seeds.length) % MUTATIONS.length];
    const rng = (options.rngBase ?? 1) * 1_000_003 + i;
    const mutant = mutate(seed.bytes, mutation, rng);
    const t0 = performance.now();
    try {
      const instance = parseDicom(mutant, options.limits);
      if (JSON.stringify(instance.meta).includes('\\u0000')) throw new Error('an attribute read from the object holds a NUL character');
      // Every other mutant is decoded reduced, as a worker decodes for a small model: that path reads the codestream's own header (levels) first.
      if (options.decode && instance.meta.image) await decodeFrame(instance, 0, i % 2 ? { atLeast: { columns: 56, rows: 56 } } : {});
      report.accepted++;
    } catch (error) {
      if (error instanceof DicomError && typeof error.code === 'string') report.refused[error.code] = (report.refused[error.code] ?? 0) + 1;
      else report.untyped.push({ seed: seed.name, mutation, rng, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    }
    report.slowestMs = Math.max(report.slowestMs, performance.now() - t0);
    report.mutants++;
    report.byMutation[mutation]++;
  }
  report.totalMs = performance.now() - started;
  return report;
}
