/**
 * What a study leaves running after its finding is persisted, as the next upload meets it: RG1
 * uploads into one `lantern start` (one worker), each sent a set pause after the previous
 * finding was persisted (pauses rotating), upload → queued per pause (the BullMQ job's timestamp
 * − the client's start, as the bench's stage); then the CPU each process of the stack used in
 * the 40 ms right after a finding is persisted and in 40 ms a quarter second later
 * (/proc/<pid>/stat, 10 ms ticks, summed over the uploads).
 *
 *   npx tsx tools/hot-path/after-persist.ts [uploadsPerPause=20]
 */
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { studyCopies } from '../../benchmarks/figures/pipeline.ts';
import { measureEndToEnd, modelKeyOf } from '../../benchmarks/figures/stack-figures.ts';
import { summarise } from '../../benchmarks/stats.ts';
import { parseDicom } from '../../dicom/parse.ts';
import { READ_ASSIST_QUEUE, readAssistJobId, RESULTS_QUEUE, resultJobId } from '../../queue/jobs.ts';
import { apiClient } from '../../test/support/api-client.ts';
import { files } from '../../test/support/shared-data.ts';
import { startStack } from '../../test/support/stack.ts';
import { cpuMs, stackProcesses } from '../../benchmarks/process-cpu.ts';

const perPause = Number(process.argv[2] ?? 20);
const PAUSES_MS = [0, 10, 25, 50, 100, 200];
const WINDOW_MS = 40;

const stack = await startStack({ workers: 1, env: { LANTERN_RATE_LIMIT: '0' } });
const connection = { url: stack.redisUrl };
const [readAssistJobs, resultJobs] = [new Queue(READ_ASSIST_QUEUE, { connection, prefix: 'lantern' }), new Queue(RESULTS_QUEUE, { connection, prefix: 'lantern' })];
const loads = [os.loadavg()[0]];
try {
  const modelKey = await modelKeyOf(stack.baseUrl);
  const api = apiClient(stack.baseUrl, stack.token);
  await measureEndToEnd(stack, studyCopies(files.chestJ2k, 3, 90_000), modelKey);
  const processes = stackProcesses(stack.process.pid!);
  /** Uploads one copy and resolves once its finding is persisted (the results job finished). */
  const uploadAndPersist = async (bytes: Uint8Array) => {
    const jobId = readAssistJobId(parseDicom(bytes).meta.sopInstanceUid, modelKey);
    const startedAt = Date.now();
    const { status } = await api.stow([bytes]);
    if (status !== 200) throw new Error(`upload failed with ${status}`);
    while (!(await resultJobs.getJob(resultJobId(jobId)))?.finishedOn) await sleep(1);
    return (await readAssistJobs.getJob(jobId))!.timestamp - startedAt;
  };

  const queuedAfterPause: Record<number, number[]> = {};
  for (const [i, bytes] of studyCopies(files.chestJ2k, perPause * PAUSES_MS.length, 100).entries()) {
    const pause = PAUSES_MS[i % PAUSES_MS.length];
    await sleep(pause);
    (queuedAfterPause[pause] ??= []).push(await uploadAndPersist(bytes));
  }
  loads.push(os.loadavg()[0]);

  const windowMs = { afterPersist: {} as Record<string, number>, later: {} as Record<string, number> };
  const addWindow = async (into: Record<string, number>) => {
    const before = cpuMs(processes);
    await sleep(WINDOW_MS);
    for (const [role, ms] of Object.entries(cpuMs(processes))) into[role] = (into[role] ?? 0) + ms - before[role];
  };
  for (const bytes of studyCopies(files.chestJ2k, perPause, 100_000)) {
    await uploadAndPersist(bytes);
    await addWindow(windowMs.afterPersist);
    await sleep(200);
    await addWindow(windowMs.later);
  }
  loads.push(os.loadavg()[0]);

  console.log(`\`npx tsx tools/hot-path/after-persist.ts ${perPause}\`; 1-min load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`);
  console.log('| pause after the previous finding (ms) | upload → queued p50 / p95 (ms) |\n|---|---|');
  for (const pause of PAUSES_MS) {
    const s = summarise(queuedAfterPause[pause]);
    console.log(`| ${pause} | ${s.p50} / ${s.p95} |`);
  }
  console.log(`| process | CPU ms per study in the ${WINDOW_MS} ms after its finding is persisted | … ${WINDOW_MS} ms, 240 ms later |\n|---|---|---|`);
  for (const role of Object.keys(processes)) {
    console.log(`| ${role} | ${(windowMs.afterPersist[role] / perPause).toFixed(1)} | ${(windowMs.later[role] / perPause).toFixed(1)} |`);
  }
} finally {
  await Promise.all([readAssistJobs.close(), resultJobs.close()]);
  await stack.stop();
}
