/**
 * The reference process of startPipelineReference (pipeline.ts): argv[2] = threads. Loads
 * the model as a worker does, warms it on the first request's study, then for each
 * request times the whole read-assist pipeline per image and sends back the samples.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { repoRoot } from '../../config.ts';
import { readAssist } from '../../inference/read-assist.ts';
import { loadModel, type ReadAssistModel } from '../../inference/registry.ts';
import { MODEL_ID, studyCopies, type ChunkMessage, type ChunkRequest } from './pipeline.ts';

const threads = Number(process.argv[2]);
// The worker's settings (roles/worker.ts).
sharp.concurrency(threads);
const model = await loadModel(path.join(repoRoot, 'models', MODEL_ID), { threads }) as ReadAssistModel;
let warm = false;
const send = (message: ChunkMessage | { ready: true }) => process.send!(message);

process.on('message', async ({ file, count, offset }: ChunkRequest) => {
  try {
    // Warm-up: the first run pays for JIT and for compiling the codec's WebAssembly, not for reading the image.
    if (!warm) await readAssist(studyCopies(file, 1, offset + 100_000)[0], model);
    warm = true;
    const samples: number[] = [];
    const stageSamples: Record<string, number[]> = {};
    for (const [i, bytes] of studyCopies(file, count, offset).entries()) {
      const start = performance.now();
      const { findings } = await readAssist(bytes, model);
      samples.push(performance.now() - start);
      for (const [stage, value] of Object.entries(findings[0].timingMs)) (stageSamples[stage] ??= []).push(value);
      send({ progress: i + 1 });
    }
    send({ samples, stageSamples });
  } catch (error) {
    send({ error: (error as Error).stack ?? String(error) });
  }
});
send({ ready: true });
