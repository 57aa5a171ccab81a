/**
 * The worker role takes its DICOM limits from the deployment's settings, as the API does:
 * a deployment that lowers a limit has both roles agree. A real chest CR is stored while the
 * limit was the default (or by an API configured apart); the worker role, composed from an
 * environment that lowers LANTERN_DICOM_MAX_FRAME_BYTES below the film's frame, fails each
 * of its jobs at once as bad input (never retried) and the study view shows the instance
 * failed with the limit's code — with a real redis-server, PGlite, the real models and API.
 */
import fs from 'node:fs';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { parseDicom } from '../dicom/parse.ts';
import { READ_ASSIST_QUEUE } from '../queue/jobs.ts';
import { startTestApi, type TestApi } from '../test/support/api-role.ts';
import { files } from '../test/support/shared-data.ts';
import { waitFor } from '../test/support/stack.ts';
import { startWorkerRole, type WorkerRole } from './worker.ts';

describe('the worker role\'s DICOM limits', () => {
  let api: TestApi;
  let worker: WorkerRole | undefined;
  beforeAll(async () => { api = await startTestApi(); }, 60_000);
  afterAll(async () => {
    await worker?.stop();
    await api?.stop();
  });

  it('when the deployment lowers the frame budget below a stored film\'s frame, then its jobs fail at once as DICOM_FRAME_TOO_LARGE and the study view shows it', async () => {
    const { studyInstanceUid, sopInstanceUid } = await api.addStudy();
    const { rows, columns, samplesPerPixel, bitsAllocated } = parseDicom(new Uint8Array(fs.readFileSync(files.chestRaw))).meta.image!;
    const frameBytes = rows * columns * samplesPerPixel * Math.ceil(bitsAllocated / 8);
    const env = { LANTERN_DICOM_MAX_FRAME_BYTES: String(frameBytes - 1) };
    worker = await startWorkerRole({
      ...loadConfig(env, { redisUrl: api.config.redisUrl, blobDir: api.config.blobDir, dataDir: api.config.dataDir, workerNice: 0, shutdownGraceSeconds: 1 }),
      redisUrl: api.config.redisUrl,
    });

    expect((await api.client.settled(studyInstanceUid, 60_000)).status).toBe('failed');
    const { body } = await api.client.study(studyInstanceUid);
    // The failed jobs wrote none: the only findings are the children's model's, answered at ingest from the header
    // (no age recorded), which never needed the frame.
    expect(body.findings.length).toBeGreaterThan(0);
    expect(body.findings.filter((f) => !(f.model.id === 'pneumonia-cxr' && f.applicability?.applicable === false && f.applicability.reason?.code === 'AGE_NOT_RECORDED'))).toEqual([]);
    expect(body.errors).toEqual([expect.objectContaining({ sopInstanceUid, code: 'DICOM_FRAME_TOO_LARGE', message: expect.stringContaining('LANTERN_DICOM_MAX_FRAME_BYTES') })]);
    // Every job of the film (one per model that reads CR) failed, each tried once: a retry cannot make the film smaller.
    const jobs = new Queue(READ_ASSIST_QUEUE, { connection: { url: api.config.redisUrl }, prefix: api.config.queuePrefix });
    try {
      const ofFilm = async () => (await jobs.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'])).filter((job) => job.data.sopInstanceUid === sopInstanceUid);
      const failed = await waitFor(async () => {
        const all = await ofFilm();
        return all.length > 0 && all.every((job) => job.failedReason) ? all : undefined;
      }, 'every job of the film to fail', 30_000);
      for (const job of failed) {
        expect(job.attemptsMade).toBe(1);
        expect(job.failedReason).toMatch(/^DICOM_FRAME_TOO_LARGE/);
      }
    } finally {
      await jobs.close();
    }
  }, 120_000);
});
