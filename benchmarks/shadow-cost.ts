/**
 * `npm run bench:latency -- --shadow`: what shadow mode costs a worker at saturation (issue 15).
 * One read-assist worker as the worker role runs it (pipeline/read-assist-worker.ts, concurrency 1,
 * one onnxruntime thread), the real registry with a shadow copy of the served adult pneumonia model
 * (its graph, version 9.0.0, `deployment: shadow`, as test/deployment-states.e2e has it), a private
 * redis-server. Batches of real adult chest films are queued at once, at level IV, in three arms
 * that alternate batch by batch, so the machine's neighbours weigh on each alike:
 *
 *   alone    each film's clinical jobs only (what is queued without the shadow copy)
 *   shadow   the clinical jobs and the shadow copy's job, queued behind all clinical work
 *   shed     the same, with the ladder at shed-shadow: the worker defers the shadow jobs
 *
 * Per arm: clinical films/s (batch queued → its last clinical result), films/s until the batch has
 * drained (every run done, shadow's too; under `shed` the deferred shadow jobs are not waited for), and each film's
 * clinical latency (queued → its last clinical model's finish) p50/p95. Ratios are to `alone`.
 * Writes shadow-cost.json and .md to benchmarks/results/<date>/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../config.ts';
import { dicomLimits } from '../dicom/limits.ts';
import { loadModelRegistry } from '../inference/registry.ts';
import { createReadAssistWorker } from '../pipeline/read-assist-worker.ts';
import { redisConnection } from '../queue/connection.ts';
import { createReadAssistQueue } from '../queue/enqueue.ts';
import { readAssistJobId, type QueuedModel } from '../queue/jobs.ts';
import { degradationStepStore } from '../queue/latency.ts';
import { startPrivateRedis } from '../queue/redis-server.ts';
import { createBlobStore } from '../store/blobs.ts';
import { shippedModels, shippedModelsWith } from '../test/support/models-folder.ts';
import { progressBar } from './progress.ts';
import { ratio, summarise, type Summary } from './stats.ts';

const SHADOWED = 'cxr-pneumonia-adult';
const ARMS = ['alone', 'shadow', 'shed'] as const;
type Arm = (typeof ARMS)[number];
/** Level IV (the card's 0–25): the flood's level. */
const LEVEL_IV_PRIORITY = 10;
const prefix = 'shadow-cost';

export interface ArmResult {
  arm: Arm;
  films: number;
  clinicalFilmsPerSecond: number;
  /** Films per second counting until every run the batch waits for is done (shadow's too; not the deferred ones under `shed`). */
  drainedFilmsPerSecond: number;
  clinicalSeconds: Summary;
}

export interface ShadowCostOptions {
  /** Films per batch, and batches per arm. */
  batch: number;
  rounds: number;
  /** Each film's bytes (real adult chest CRs). */
  films: Uint8Array[];
}

export async function measureShadowCost(options: ShadowCostOptions): Promise<ArmResult[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-shadow-cost-'));
  const modelsDir = shippedModelsWith([{ from: path.join(shippedModels, SHADOWED), folder: `${SHADOWED}-shadow`, edit: (card) => { card.version = '9.0.0'; card.deployment = 'shadow'; } }]);
  const server = await startPrivateRedis(path.join(dir, 'redis'));
  const redis = redisConnection(server.url);
  const registry = await loadModelRegistry(modelsDir, { threads: 1 });
  const blobs = createBlobStore(path.join(dir, 'blobs'));
  // A deferred shadow job waits an hour: longer than the run, so it never comes back into another arm's batch.
  const worker = createReadAssistWorker({ redisUrl: server.url, prefix, registry, blobs, concurrency: 1, lockDurationMs: 60_000, dicomLimits: dicomLimits(), degradation: { refreshMs: 0, deferMs: 3_600_000 } });
  const readAssist = createReadAssistQueue({ connection: redis, prefix });
  const steps = degradationStepStore(redis, prefix);
  try {
    const shas = await Promise.all(options.films.map((bytes) => blobs.put(bytes)));
    const runs: QueuedModel[] = registry.forStudy('CR', { studyInstanceUid: '1.2.3', siteId: 'default' }).map(({ model, deployment }) => ({ modelKey: model.key, deployment }));
    if (!runs.some((r) => r.deployment === 'shadow')) throw new Error(`the shadow copy of ${SHADOWED} was not loaded as shadow`);
    worker.start();
    const samples = new Map<Arm, { films: number; clinicalMs: number; drainedMs: number; latencies: number[] }>(ARMS.map((arm) => [arm, { films: 0, clinicalMs: 0, drainedMs: 0, latencies: [] }]));
    const bar = progressBar('shadow cost (alternating arms)', options.rounds * ARMS.length);
    // Round -1 warms every session and the caches up, and is not counted.
    for (let round = -1; round < options.rounds; round++) {
      // Rotated each round, so no arm always follows the same one.
      for (const [k, arm] of [...ARMS.slice((round + 3) % 3), ...ARMS.slice(0, (round + 3) % 3)].entries()) {
        const from = await steps.read();
        await steps.change(from, arm === 'shed' ? 1 : 0, Date.now());
        const mine = arm === 'alone' ? runs.filter((r) => r.deployment !== 'shadow') : runs;
        const films = shas.slice(0, options.batch).map((blobSha256, i) => ({ sopInstanceUid: `1.2.826.0.1.3680043.10.1.90.${round + 1}.${ARMS.indexOf(arm)}.${i}`, studyInstanceUid: `1.2.826.0.1.3680043.10.1.90.${round + 1}`, blobSha256 }));
        const queuedAt = Date.now();
        await Promise.all(films.map((film) => readAssist.enqueue(film, mine, LEVEL_IV_PRIORITY)));
        const finishedOf = async (sop: string, models: QueuedModel[]) => {
          const jobs = await Promise.all(models.map((m) => readAssist.queue.getJob(readAssistJobId(sop, m.modelKey))));
          return jobs.every((j) => j?.finishedOn) ? Math.max(...jobs.map((j) => j!.finishedOn!)) : undefined;
        };
        const waited = arm === 'shed' ? mine.filter((r) => r.deployment !== 'shadow') : mine;
        let finished: (number | undefined)[] = [];
        do {
          await new Promise((r) => setTimeout(r, 50));
          finished = await Promise.all(films.map((f) => finishedOf(f.sopInstanceUid, waited)));
        } while (finished.some((t) => t === undefined));
        // A film that failed would finish fast and flatter the arm: every run must have answered.
        const failed = await readAssist.queue.getJobCountByTypes('failed');
        if (failed > 0) throw new Error(`${failed} read-assist jobs failed: ${(await readAssist.queue.getFailed(0, 0))[0]?.failedReason}`);
        const clinical = await Promise.all(films.map((f) => finishedOf(f.sopInstanceUid, mine.filter((r) => r.deployment !== 'shadow'))));
        if (round < 0) continue;
        const sample = samples.get(arm)!;
        sample.films += films.length;
        sample.clinicalMs += Math.max(...clinical.map(Number)) - queuedAt;
        sample.latencies.push(...clinical.map((t) => Number(t) - queuedAt));
        sample.drainedMs += Math.max(...finished.map(Number)) - queuedAt;
        bar.tick(round * ARMS.length + k + 1);
      }
    }
    bar.done();
    return ARMS.map((arm) => {
      const s = samples.get(arm)!;
      return { arm, films: s.films, clinicalFilmsPerSecond: ratio(s.films * 1000, s.clinicalMs), drainedFilmsPerSecond: ratio(s.films * 1000, s.drainedMs), clinicalSeconds: summarise(s.latencies.map((ms) => ms / 1000)) };
    });
  } finally {
    await worker.stop(5000);
    await readAssist.close();
    await redis.quit();
    await registry.close();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(modelsDir, { recursive: true, force: true });
  }
}

export function shadowCostReport(arms: ArmResult[], options: Omit<ShadowCostOptions, 'films'>): string {
  const alone = arms.find((a) => a.arm === 'alone')!;
  const rows = arms.map((a) => `| ${a.arm} | ${a.films} | ${a.clinicalFilmsPerSecond} | ${ratio(a.clinicalFilmsPerSecond, alone.clinicalFilmsPerSecond)} | ${a.drainedFilmsPerSecond} | ${ratio(a.drainedFilmsPerSecond, alone.drainedFilmsPerSecond)} | ${a.clinicalSeconds.p50.toFixed(2)} / ${a.clinicalSeconds.p95.toFixed(2)} | ${ratio(a.clinicalSeconds.p50, alone.clinicalSeconds.p50)} / ${ratio(a.clinicalSeconds.p95, alone.clinicalSeconds.p95)} |`);
  return `# What shadow mode costs a worker at saturation

\`npm run bench:latency -- --shadow\`: one worker (concurrency 1, one onnxruntime thread), batches of ${options.batch} real adult chest CRs queued at once at level IV, ${options.rounds} batches per arm, the arms alternating; ${SHADOWED} served, and in \`shadow\`/\`shed\` a copy of it deployed in shadow. This machine: ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)} at the end.

| arm | films | clinical films/s | ratio | films/s with every run done | ratio | clinical latency p50 / p95 (s) | ratio p50 / p95 |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}
`;
}

/** Writes shadow-cost.{json,md} for `films` into today's results folder. */
export async function writeShadowCost(films: Uint8Array[], options: Omit<ShadowCostOptions, 'films'>): Promise<void> {
  const arms = await measureShadowCost({ ...options, films });
  const dir = path.join(repoRoot, 'benchmarks', 'results', new Date().toISOString().slice(0, 10));
  fs.mkdirSync(dir, { recursive: true });
  const md = shadowCostReport(arms, options);
  fs.writeFileSync(path.join(dir, 'shadow-cost.json'), JSON.stringify({ options, arms }, null, 2));
  fs.writeFileSync(path.join(dir, 'shadow-cost.md'), md);
  console.log(`\n${md}\nwritten to ${path.relative(repoRoot, dir)}/shadow-cost.{json,md}`);
}
