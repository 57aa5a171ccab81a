import { performance } from 'node:perf_hooks';
import { Queue, QueueEvents } from 'bullmq';
import { parseDicom } from '../../dicom/parse.ts';
import { AI_RESULTS_PUSH_QUEUE, AI_RESULTS_SR_QUEUE } from '../../queue/ai-results-sr.ts';
import { READ_ASSIST_QUEUE, readAssistJobId, RESULTS_QUEUE, resultJobId } from '../../queue/jobs.ts';
import { apiClient } from '../../test/support/api-client.ts';
import type { Stack } from '../../test/support/stack.ts';
import { cpuMs, cpuPerStudy, stackProcesses, type StackCpuPerStudy } from '../process-cpu.ts';
import { progressBar } from '../progress.ts';
import { ratio, summarise, type Summary } from '../stats.ts';
import { MODEL_ID } from './pipeline.ts';

/** `id@version` of the served model as the running stack loaded it. */
export async function modelKeyOf(baseUrl: string): Promise<string> {
  const { models } = await (await fetch(`${baseUrl}/health`)).json() as { models: { id: string; version: string }[] };
  const model = models.find((m) => m.id === MODEL_ID)!;
  return `${model.id}@${model.version}`;
}

/** Past this, a finding never persisted fails the measurement, naming its job, instead of holding the bench for ever. */
const PERSISTED_DEADLINE_MS = 120_000;

/** Resolves when the result of `sop`'s read-assist job has been persisted (the results job completed). */
function persistedWatcher(events: QueueEvents) {
  const waiting = new Map<string, () => void>();
  events.on('completed', ({ jobId }) => {
    waiting.get(jobId)?.();
    waiting.delete(jobId);
  });
  return (sop: string, modelKey: string) => new Promise<void>((resolve, reject) => {
    const jobId = resultJobId(readAssistJobId(sop, modelKey));
    const deadline = setTimeout(() => {
      waiting.delete(jobId);
      reject(new Error(`result job ${jobId} did not complete within ${PERSISTED_DEADLINE_MS / 1000} s`));
    }, PERSISTED_DEADLINE_MS);
    deadline.unref();
    waiting.set(jobId, () => {
      clearTimeout(deadline);
      resolve();
    });
  });
}

/** Past this, a job still pending (a retry's backoff, say) no longer holds the next measurement back. */
const QUIET_DEADLINE_MS = 10_000;

/**
 * Resolves once no job of the image path is waiting, running or delayed in any of its queues
 * (read-assist, results, AI results SR and its pushes) — the stack has finished what its uploads started —
 * with the ms it took, or `QUIET_DEADLINE_MS` if it did not happen by then.
 */
function quietWatcher(redisUrl: string) {
  const queues = [READ_ASSIST_QUEUE, RESULTS_QUEUE, AI_RESULTS_SR_QUEUE, AI_RESULTS_PUSH_QUEUE].map((name) => new Queue(name, { connection: { url: redisUrl }, prefix: 'lantern' }));
  const pending = async () => (await Promise.all(queues.map((q) => q.getJobCounts('waiting', 'prioritized', 'active', 'delayed'))))
    .reduce((sum, counts) => sum + Object.values(counts).reduce((a, b) => a + b, 0), 0);
  return {
    async untilQuiet(pollMs = 1): Promise<number> {
      const start = performance.now();
      while (await pending() > 0) {
        if (performance.now() - start > QUIET_DEADLINE_MS) break;
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
      return performance.now() - start;
    },
    close: () => Promise.all(queues.map((q) => q.close())),
  };
}

export interface EndToEnd {
  total: Summary;
  ingest: Summary;
  stages: Record<string, Summary>;
  samples: Record<string, number[]>;
  /** After each finding was persisted, until the stack was quiet again (its AI results SRs written): not part of the total. */
  afterPersisted: { summary: Summary; values: number[] };
}

/**
 * Upload → finding persisted on an idle stack, one study at a time: STOW-RS request,
 * then wait for the results job to complete (no polling). The stages add up to the
 * total: the worker's own ones come from the finding's timing, the hops between
 * processes from the two jobs' BullMQ timestamps (ms, one clock: one machine).
 * Before the next upload the stack is let finish what the study started after its finding
 * (the AI results SRs, the other model's result): that time is reported on its own, and a
 * study is never measured against the previous one's leftovers, nor is whatever runs beside
 * the stack between chunks (the in-process reference).
 */
export async function measureEndToEnd(stack: Stack, copies: Uint8Array[], modelKey: string): Promise<EndToEnd> {
  const api = apiClient(stack.baseUrl, stack.token);
  const connection = { url: stack.redisUrl };
  const events = new QueueEvents(RESULTS_QUEUE, { connection, prefix: 'lantern' });
  const readAssistJobs = new Queue(READ_ASSIST_QUEUE, { connection, prefix: 'lantern' });
  const resultJobs = new Queue(RESULTS_QUEUE, { connection, prefix: 'lantern' });
  const quiet = quietWatcher(stack.redisUrl);
  await events.waitUntilReady();
  const persisted = persistedWatcher(events);
  const samples: Record<string, number[]> = { total: [], ingest: [] };
  const afterPersisted: number[] = [];
  const add = (stage: string, value: number) => (samples[stage] ??= []).push(value);
  const bar = progressBar('end to end (idle queue)', copies.length);
  try {
    for (const [i, bytes] of copies.entries()) {
      const sop = parseSop(bytes);
      const jobId = readAssistJobId(sop, modelKey);
      const done = persisted(sop, modelKey);
      const startedAt = Date.now();
      const start = performance.now();
      const { status } = await api.stow([bytes]);
      if (status !== 200) throw new Error(`upload failed with ${status}`);
      const ingest = performance.now() - start;
      await done;
      const total = performance.now() - start;
      const [job, result] = await Promise.all([readAssistJobs.getJob(jobId), resultJobs.getJob(resultJobId(jobId))]);
      const { queueWait: _fromJob, ...workerStages } = result!.data.findings[0].timingMs as Record<string, number>;
      const working = Object.values(workerStages).reduce((a, b) => a + b, 0);
      samples.total.push(total);
      samples.ingest.push(ingest);
      add('upload → queued', job!.timestamp - startedAt);
      add('queue wait', job!.processedOn! - job!.timestamp);
      for (const [stage, value] of Object.entries(workerStages)) add(stage, value);
      add('worker: blob read, hand back', result!.timestamp - job!.processedOn! - working);
      add('result pickup', result!.processedOn! - result!.timestamp);
      add('persist', result!.finishedOn! - result!.processedOn!);
      add('delivery', startedAt + total - result!.finishedOn!);
      afterPersisted.push(await quiet.untilQuiet());
      bar.tick(i + 1);
    }
  } finally {
    bar.done();
    await Promise.all([events.close(), readAssistJobs.close(), resultJobs.close(), quiet.close()]);
  }
  const { total, ingest, ...stages } = samples;
  return {
    total: summarise(total), ingest: summarise(ingest), stages: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, summarise(v)])), samples,
    afterPersisted: { summary: summarise(afterPersisted), values: afterPersisted },
  };
}

export interface Saturation {
  images: number;
  /** From releasing the queue, every study already in it, until every job the studies started is done (their AI results SRs too): the pool's own rate. */
  seconds: number;
  imagesPerSecond: number;
  /** The same to the last persisted finding (the SRs written after it left out). */
  toLastFinding: { seconds: number; imagesPerSecond: number };
  /** From the first upload to the last persisted finding, the uploads (one at a time) included. */
  withIngest: { seconds: number; imagesPerSecond: number };
  eventLoop: { p50Ms: number; p99Ms: number; maxMs: number; samples: number };
  /** CPU ms per study in the timed window, workers (their sidecars too) and serving side apart (/proc, 10 ms ticks). */
  cpuMsPerStudy: StackCpuPerStudy;
}

/**
 * Many studies at once: one warm-up study per worker (a fresh worker's first compiles the
 * codec), then the read-assist queue is paused, every study uploaded, and the queue released,
 * so the workers find it deep from the first job to the last — the uploads, one at a time,
 * would otherwise pace a pipeline faster than they are. The time runs until every job the
 * studies started is done (the AI results SRs are written after the findings); the time to the
 * last finding is reported too. Meanwhile the API's own event-loop delay is recorded (reset
 * before the uploads, read after the last job), and the CPU each process of the stack uses in
 * the window. `onReleased` is called as the queue is released, where the timed window starts
 * (tools/hot-path/cpu-split.mts reads the CPU there).
 */
export async function measureSaturation(stack: Stack, copies: Uint8Array[], modelKey: string, workers: number, onReleased?: () => void): Promise<Saturation> {
  const api = apiClient(stack.baseUrl, stack.token);
  const connection = { url: stack.redisUrl };
  const events = new QueueEvents(RESULTS_QUEUE, { connection, prefix: 'lantern' });
  const readAssistJobs = new Queue(READ_ASSIST_QUEUE, { connection, prefix: 'lantern' });
  const quiet = quietWatcher(stack.redisUrl);
  await events.waitUntilReady();
  const persisted = persistedWatcher(events);
  const upload = async (bytes: Uint8Array) => {
    const { status } = await api.stow([bytes]);
    if (status !== 200) throw new Error(`upload failed with ${status}`);
  };
  const [warmUps, measured] = [copies.slice(0, workers), copies.slice(workers)];
  const bar = progressBar('worker pool at saturation', measured.length);
  let finished = 0;
  let start = 0;
  let released = 0;
  let lastFinding = 0;
  let processes: Record<string, number> = {};
  let cpuAtRelease: Record<string, number> = {};
  try {
    await Promise.all(warmUps.map(async (bytes) => {
      const done = persisted(parseSop(bytes), modelKey);
      await upload(bytes);
      await done;
    }));
    await quiet.untilQuiet();
    await api.json('/health/event-loop?reset=true');
    await readAssistJobs.pause();
    start = performance.now();
    const done = measured.map((bytes) => persisted(parseSop(bytes), modelKey).then(() => bar.tick(++finished)));
    for (const bytes of measured) await upload(bytes);
    // Listed after the warm-ups: by then every worker has started its decoding sidecar.
    processes = stackProcesses(stack.process.pid!, stack.testRedis?.port);
    cpuAtRelease = cpuMs(processes);
    released = performance.now();
    onReleased?.();
    await readAssistJobs.resume();
    await Promise.all(done);
    lastFinding = performance.now();
    await quiet.untilQuiet(5);
  } finally {
    bar.done();
    await readAssistJobs.resume();
    await Promise.all([events.close(), readAssistJobs.close(), quiet.close()]);
  }
  const end = performance.now();
  const cpuMsPerStudy = cpuPerStudy(cpuAtRelease, cpuMs(processes), measured.length);
  const { body: eventLoop } = await api.json<Saturation['eventLoop']>('/health/event-loop');
  const seconds = (end - released) / 1000;
  const withIngest = (end - start) / 1000;
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    images: measured.length,
    seconds: round(seconds),
    imagesPerSecond: ratio(measured.length, seconds),
    toLastFinding: { seconds: round((lastFinding - released) / 1000), imagesPerSecond: ratio(measured.length, (lastFinding - released) / 1000) },
    withIngest: { seconds: round(withIngest), imagesPerSecond: ratio(measured.length, withIngest) },
    eventLoop,
    cpuMsPerStudy,
  };
}

export interface ApiLatency {
  risk: Summary;
  /** POST /health/live with the same body: the HTTP floor of a JSON call (the goal's reference). */
  bare: Summary;
  /** GET /health/live: no body at all. */
  bareGet: Summary;
  ratioP50: number;
  ratioP99: number;
  ratioToGetP50: number;
  samples: { risk: number[]; bare: number[]; bareGet: number[] };
}

/**
 * A risk answer against the floor of the same server: the bare liveness route, posted
 * the same JSON body (and, for reference, fetched with GET), interleaved so all see the
 * same noise. The risk call carries a bearer token, as every real call must; the floor is
 * public, so the ratio includes the token lookup and the wait for the calculation's audit.
 */
export async function measureApiLatency(stack: Stack, requests: number): Promise<ApiLatency> {
  const riskBody = JSON.stringify({
    age: 55, sex: 'male', race: 'white', totalCholesterol: { value: 213, unit: 'mg/dL' }, hdlCholesterol: { value: 50, unit: 'mg/dL' },
    systolicBp: { value: 120, unit: 'mmHg' }, onBpTreatment: false, smoker: false, diabetes: false,
  });
  const timed = async (init: () => Promise<Response>) => {
    const start = performance.now();
    const response = await init();
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return performance.now() - start;
  };
  const risk = () => fetch(`${stack.baseUrl}/v1/risk/pce-ascvd`, { method: 'POST', headers: { 'content-type': 'application/json', ...stack.authorization }, body: riskBody });
  const bare = () => fetch(`${stack.baseUrl}/health/live`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: riskBody });
  const bareGet = () => fetch(`${stack.baseUrl}/health/live`);
  const samples = { risk: [] as number[], bare: [] as number[], bareGet: [] as number[] };
  const bar = progressBar('API: risk vs bare route', requests);
  for (let i = 0; i < 50; i++) await timed(i % 2 ? risk : bare);
  for (let i = 0; i < requests; i++) {
    samples.bare.push(await timed(bare));
    samples.risk.push(await timed(risk));
    samples.bareGet.push(await timed(bareGet));
    if (i % 50 === 0) bar.tick(i);
  }
  bar.done();
  const r = summarise(samples.risk);
  const b = summarise(samples.bare);
  const g = summarise(samples.bareGet);
  return { risk: r, bare: b, bareGet: g, ratioP50: ratio(r.p50, b.p50), ratioP99: ratio(r.p99, b.p99), ratioToGetP50: ratio(r.p50, g.p50), samples };
}

/** The upload's SOP Instance UID, read before sending: the watcher must be armed before the upload. */
const parseSop = (bytes: Uint8Array) => parseDicom(bytes).meta.sopInstanceUid;
