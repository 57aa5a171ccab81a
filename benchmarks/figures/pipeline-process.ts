/**
 * The reference process of startPipelineReference (pipeline.ts): argv[2] = threads. Loads
 * the model as a worker does, warms it on the first request's study, then for each
 * request times, per image, either the whole read-assist pipeline (a ChunkRequest) or the
 * native reference (a NativeRequest: native-reference.ts) and sends back the samples.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { loadConfig, repoRoot } from '../../config.ts';
import { enableNativeJpeg2000 } from '../../dicom/decode/jpeg2000.ts';
import { readAssist } from '../../inference/read-assist.ts';
import { loadModel, type ReadAssistModel } from '../../inference/registry.ts';
import { cpuMsOf, descendantsOf } from '../process-cpu.ts';
import { nativeRun } from './native-reference.ts';
import { MODEL_ID, studyCopies, type ChunkMessage, type ChunkRequest, type NativeRequest } from './pipeline.ts';

const threads = Number(process.argv[2]);
// The worker's settings (roles/worker.ts): its libvips threads and its JPEG 2000 decoder (native OpenJPEG where installed).
sharp.concurrency(threads);
const config = loadConfig();
const openJpeg = enableNativeJpeg2000({ threads: config.decodeThreads, hidden: [config.dataDir, config.blobDir] });
await openJpeg.start();
const model = await loadModel(path.join(repoRoot, 'models', MODEL_ID), { threads }) as ReadAssistModel;
let warm = false;
let nativeWarm = false;
const send = (message: ChunkMessage | { ready: true }) => process.send!(message);

async function pipelineChunk({ file, count, offset }: ChunkRequest) {
  // Warm-up: the first run pays for JIT and for compiling the codec's WebAssembly, not for reading the image.
  if (!warm) await readAssist(studyCopies(file, 1, offset + 100_000)[0], model);
  warm = true;
  const samples: number[] = [];
  const stageSamples: Record<string, number[]> = {};
  let decodedScale: number | undefined;
  // The copies are made before the CPU count starts: making them is not the pipeline's work.
  const copies = studyCopies(file, count, offset);
  // Listed before the count starts: spawning `ps` is not the pipeline's work.
  const children = descendantsOf(process.pid);
  const cpuAtStart = cpuUsedMs(children);
  for (const [i, bytes] of copies.entries()) {
    const start = performance.now();
    const { findings } = await readAssist(bytes, model);
    samples.push(performance.now() - start);
    for (const [stage, value] of Object.entries(findings[0].timingMs)) (stageSamples[stage] ??= []).push(value);
    // The native reference decodes at the same level (absent when the model did not answer).
    decodedScale = findings[0].model.decodeScale;
    send({ progress: i + 1 });
  }
  return { samples, stageSamples, decodedScale, cpuMs: cpuUsedMs(children) - cpuAtStart };
}

/** CPU ms used so far by this process (all its threads) and `children` (the sandboxed sidecar decoding JPEG 2000 on threads of its own, and bubblewrap's processes around it). */
function cpuUsedMs(children: number[]): number {
  const own = process.cpuUsage();
  return (own.user + own.system) / 1000 + children.reduce((sum, pid) => sum + cpuMsOf(pid), 0);
}

async function nativeChunk({ native, count }: NativeRequest) {
  // Warm-up, as for the pipeline: sharp's first raw image and the session's first run at this input.
  if (!nativeWarm) await nativeRun(native.inputs, native.level, model);
  nativeWarm = true;
  const stageSamples: Record<string, number[]> = {};
  for (let i = 0; i < count; i++) {
    for (const [stage, value] of Object.entries(await nativeRun(native.inputs, native.level, model))) (stageSamples[stage] ??= []).push(value);
    send({ progress: i + 1 });
  }
  const { decode, resize, inference } = stageSamples;
  return { samples: decode.map((d, i) => d + resize[i] + inference[i]), stageSamples };
}

process.on('message', async (request: ChunkRequest | NativeRequest) => {
  try {
    send('native' in request ? await nativeChunk(request) : await pipelineChunk(request));
  } catch (error) {
    send({ error: (error as Error).stack ?? String(error) });
  }
});
send({ ready: true });
