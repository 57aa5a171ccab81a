import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { withFreshUids } from '../../test/support/dicom-builder.ts';
import { progressBar } from '../progress.ts';
import type { NativeInputs } from './native-reference.ts';

/** The served adult model: pneumonia-cxr declines adult films before decoding, so it would time nothing. */
export const MODEL_ID = 'cxr-pneumonia-adult';

/** `count` distinct instances of one real file (fresh UIDs, identical pixels), so every upload is new work. */
export function studyCopies(file: string, count: number, offset = 1): Uint8Array[] {
  const bytes = new Uint8Array(fs.readFileSync(file));
  return Array.from({ length: count }, (_, i) => withFreshUids(bytes, offset + i));
}

/** One chunk's timings per image: parse + decode + preprocess + session.run + postprocess, and each stage. */
export interface ChunkSamples {
  samples: number[];
  stageSamples: Record<string, number[]>;
  /** The read-assist pipeline's decoded frame: original pixels per decoded pixel (DecodedFrame.scale). */
  decodedScale?: number;
  /** The CPU the chunk's images used, in ms: every thread of the reference process and its JPEG 2000 sidecar. */
  cpuMs?: number;
}

/** What the reference process measures for one chunk (see pipeline-process.ts). */
export interface ChunkRequest {
  file: string;
  count: number;
  offset: number;
}

/** A chunk of native runs (native-reference.ts) at JPEG 2000 level `level`: samples are decode + resize + session.run. */
export interface NativeRequest {
  native: { inputs: NativeInputs; level: number };
  count: number;
}

/** What the reference process sends while it measures a chunk; before the first, one `{ ready: true }`. */
export type ChunkMessage = { progress: number } | ChunkSamples | { error: string };

/**
 * The physical floor for one image: the whole read-assist pipeline called directly, with
 * the model's real session, on the same bytes the stack gets — in a process of its own,
 * set up as a worker is (one thread for onnxruntime and for libvips), loaded and warmed
 * once, then asked for chunk after chunk. Measured inside the bench's own process instead,
 * its preprocess ran 12–28 ms slower than the worker's: a reference that flattered the
 * stack. Here the gap is smaller but not gone (benchmarks/README.md says by how much).
 * The same process runs the native reference (native-reference.ts) when asked, so both
 * share the worker's thread settings and the model's session.
 */
export async function startPipelineReference(threads: number) {
  const entry = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pipeline-process.ts');
  const child = fork(entry, [String(threads)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`the reference process exited with ${code} before it was ready`)));
  });
  return {
    measure(request: ChunkRequest | NativeRequest): Promise<ChunkSamples> {
      const bar = progressBar('native' in request ? 'native reference (opj_decompress)' : 'in-process pipeline (reference)', request.count);
      return new Promise((resolve, reject) => {
        const onMessage = (message: ChunkMessage) => {
          if ('progress' in message) return bar.tick(message.progress);
          child.off('message', onMessage);
          bar.done();
          if ('error' in message) return reject(new Error(`reference process: ${message.error}`));
          resolve(message);
        };
        child.on('message', onMessage);
        child.send(request);
      });
    },
    async stop() {
      child.kill();
      await exited;
    },
  };
}
