import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { repoRoot } from '../../config.ts';
import { readAssist } from '../../inference/read-assist.ts';
import { loadModel, type ReadAssistModel } from '../../inference/registry.ts';
import { withFreshUids } from '../../test/support/dicom-builder.ts';
import { progressBar } from '../progress.ts';
import { summarise, type Summary } from '../stats.ts';

export const MODEL_ID = 'pneumonia-cxr';

/** `count` distinct instances of one real file (fresh UIDs, identical pixels), so every upload is new work. */
export function studyCopies(file: string, count: number, offset = 1): Uint8Array[] {
  const bytes = new Uint8Array(fs.readFileSync(file));
  return Array.from({ length: count }, (_, i) => withFreshUids(bytes, offset + i));
}

export interface PipelineReference {
  /** parse + decode + preprocess + session.run + postprocess, in this process, per image. */
  total: Summary;
  stages: Record<string, Summary>;
  samples: number[];
  stageSamples: Record<string, number[]>;
}

/**
 * The physical floor for one image: the whole read-assist pipeline called directly in
 * one process, with the model's real session, on the same bytes the stack will get.
 */
export async function measurePipeline(copies: Uint8Array[], threads: number): Promise<PipelineReference> {
  const model = await loadModel(path.join(repoRoot, 'models', MODEL_ID), { threads }) as ReadAssistModel;
  const samples: number[] = [];
  const stages: Record<string, number[]> = {};
  const bar = progressBar('in-process pipeline (reference)', copies.length);
  // Warm-up: the first run pays for JIT and allocations, not for reading the image.
  await readAssist(copies[0], model);
  for (const [i, bytes] of copies.entries()) {
    const start = performance.now();
    const { findings } = await readAssist(bytes, model);
    samples.push(performance.now() - start);
    for (const [stage, value] of Object.entries(findings[0].timingMs)) (stages[stage] ??= []).push(value);
    bar.tick(i + 1);
  }
  bar.done();
  await model.session.release();
  return { total: summarise(samples), stages: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, summarise(v)])), samples, stageSamples: stages };
}
