/**
 * At-least-once delivery, tested the hard way: a worker is killed with SIGKILL while it
 * is reading a study. BullMQ notices the lapsed lock and hands the job to another
 * worker; idempotent writes leave exactly one finding and one audit record.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDicom } from '../dicom/parse.ts';
import { readAssistJobId, READ_ASSIST_QUEUE } from '../queue/jobs.ts';
import { apiClient } from './support/api-client.ts';
import { files } from './support/shared-data.ts';
import { spawnLantern, startStack, waitFor, type Stack } from './support/stack.ts';

describe('a worker killed mid-job', () => {
  let stack: Stack;
  let events: QueueEvents;
  const workers: ChildProcess[] = [];
  let crashedJobId: string;

  /** Starts `lantern worker` joined to the stack and resolves once its models are warm. */
  async function startWorker(): Promise<ChildProcess> {
    // The WebAssembly decode, the slower one: the kill must land while the job runs.
    const child = spawnLantern('worker', { ...stack.env, LOG_LEVEL: 'info', LANTERN_JPEG2000_NATIVE: '0' });
    workers.push(child);
    let log = '';
    child.stderr!.on('data', (chunk) => { log += chunk; });
    await waitFor(async () => (log.includes('worker ready') ? true : undefined), 'the worker to be ready', 60_000);
    return child;
  }

  beforeAll(async () => {
    // No supervised workers: this test owns them. A short lock makes the lapse quick.
    stack = await startStack({ workers: 0, env: { LANTERN_JOB_LOCK_MS: '2000' } });
    events = new QueueEvents(READ_ASSIST_QUEUE, { connection: { url: stack.redisUrl }, prefix: 'lantern' });
    await events.waitUntilReady();
  });
  afterAll(async () => {
    for (const child of workers) child.kill('SIGKILL');
    await events?.close();
    await stack?.stop();
  });

  it('when its worker is SIGKILLed during the job, then another worker completes it, with exactly one finding per model and one audit record each', async () => {
    const api = apiClient(stack.baseUrl, stack.token);
    const { body: health } = await api.json<{ models: { id: string; version: string }[] }>('/health');
    // The model that decodes the film: the paediatric one declines an adult's film within a millisecond.
    const model = health.models.find((m) => m.id === 'cxr-pneumonia-adult')!;
    const film = fs.readFileSync(files.chestJ2k);
    const expectedJobId = readAssistJobId(parseDicom(new Uint8Array(film)).meta.sopInstanceUid, `${model.id}@${model.version}`);
    const doomed = await startWorker();
    // The job may start (and the kill land) before the upload's response arrives.
    const exited = once(doomed, 'exit');

    const stalled = new Set<string>();
    events.on('stalled', ({ jobId }) => stalled.add(jobId));
    const killed = new Promise<string>((resolve) => {
      events.on('active', ({ jobId }) => {
        if (jobId !== expectedJobId || doomed.exitCode !== null || doomed.signalCode !== null) return;
        doomed.kill('SIGKILL');
        resolve(jobId);
      });
    });

    // The 1841×1955 JPEG 2000 takes tens of milliseconds to decode at the model's level: the kill lands mid-job.
    const { body } = await api.stow([film]);
    const stored = body.stored![0];
    const jobId = await killed;
    crashedJobId = jobId;
    expect(jobId).toBe(readAssistJobId(stored.sopInstanceUid, `${model.id}@${model.version}`));
    await exited;

    await startWorker();
    const row = await api.settled(stored.studyInstanceUid, 60_000);
    expect(stalled.has(jobId)).toBe(true);
    expect(row.status).toBe('ready');
    expect(row.findings.map((f) => f.model.id).sort()).toEqual(['cxr-pneumonia-adult', 'pneumonia-cxr']);
    for (const finding of row.findings) expect((await api.audit(`?entityId=${finding.id}`)).map((a) => a.action)).toEqual(['finding.created']);
    expect(await api.verify()).toMatchObject({ intact: true });
  });

  it('when the same job is processed twice, then the second run changes nothing', async () => {
    const api = apiClient(stack.baseUrl, stack.token);
    const [row] = await api.worklist();
    // Each model's AI results SR follows its findings on its own queue: counted once both are in.
    await waitFor(async () => ((await api.study(row.studyInstanceUid)).body.instances.filter((i) => !i.image).length === 2 ? true : undefined), 'the two AI results SRs');
    const auditBefore = (await api.audit('?limit=1000')).length;
    // Re-running completed work: remove the finished job record and enqueue it again, as a redelivery would.
    const { Queue } = await import('bullmq');
    const queue = new Queue(READ_ASSIST_QUEUE, { connection: { url: stack.redisUrl }, prefix: 'lantern' });
    // Whatever state the crashed job ended in (a loaded machine can stall it twice), run it again.
    const job = (await queue.getJob(crashedJobId))!;
    await job.remove();
    const rerun = await queue.add('read-assist', job.data, { jobId: job.id });
    await rerun.waitUntilFinished(events, 60_000);
    await queue.close();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const study = (await api.study(row.studyInstanceUid)).body;
    expect(study.findings).toHaveLength(2);
    expect(study.instances).toHaveLength(3);
    expect((await api.audit('?limit=1000')).length).toBe(auditBefore);
  });
});
