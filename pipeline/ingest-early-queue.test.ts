/**
 * An upload's jobs are queued once the parsing thread has found the object valid, while it still
 * reads the DICOM JSON the instance row stores: against a real redis-server, PGlite, the bundled model
 * registry, the off-thread parser and a real radiograph (RG1, an adult's chest film: the adult model's
 * job is queued, the children's model answered at ingest). No worker runs, so a queued job stays
 * waiting where the test can see it. An upload refused after its jobs were queued (its DICOM JSON not
 * read, or its row not written) is refused as before, records nothing and takes back its waiting
 * jobs — but not those of the same film recorded by an earlier upload.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SITE } from '../contract/sites.ts';
import { DEFAULT_DICOM_LIMITS, overLimit } from '../dicom/limits.ts';
import { parseDicom } from '../dicom/parse.ts';
import { createOffThreadParser } from '../dicom/parse-off-thread/index.ts';
import { loadModelRegistry, type ModelRegistry } from '../inference/registry.ts';
import { createStudyPrioritiser } from '../inference/triage.ts';
import { redisConnection } from '../queue/connection.ts';
import { createReadAssistQueue, type ReadAssistQueue } from '../queue/enqueue.ts';
import { readAssistJobId } from '../queue/jobs.ts';
import { startPrivateRedis, type PrivateRedis } from '../queue/redis-server.ts';
import { createBlobStore } from '../store/blobs.ts';
import { openDatabase } from '../store/db.ts';
import { migrate } from '../store/migrate.ts';
import { createStore, type Store } from '../store/store.ts';
import { withFreshUids } from '../test/support/dicom-builder.ts';
import { files } from '../test/support/shared-data.ts';
import { waitFor } from '../test/support/stack.ts';
import { ingestInstance, type IngestDeps } from './ingest.ts';
import { createInstanceWrites } from './instance-writes.ts';

const ADULT = 'cxr-pneumonia-adult@1.0.0';
const uploader = { actor: 'tester', siteId: DEFAULT_SITE };
/** Long enough for the job on a busy machine; an ingest that queues nothing before the DICOM JSON is read never gets there. */
const SEEN_WITHIN_MS = 5_000;

describe('an upload\'s jobs are queued before its DICOM JSON is read', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-ingest-early-queue-'));
  const parser = createOffThreadParser({ limits: DEFAULT_DICOM_LIMITS });
  const instanceWrites = createInstanceWrites();
  const rg1 = fs.readFileSync(files.chestJ2k);
  let redis: PrivateRedis;
  let connection: ReturnType<typeof redisConnection>;
  let store: Store;
  let registry: ModelRegistry;
  let readAssistQueue: ReadAssistQueue;
  let deps: IngestDeps;
  let films = 0;

  /** RG1 as a new instance of a new study, and its SOP Instance UID. */
  const freshFilm = () => {
    const bytes = withFreshUids(rg1, 7_000 + ++films);
    return { bytes, sop: parseDicom(bytes.slice()).meta.sopInstanceUid };
  };
  const job = (sop: string) => readAssistQueue.queue.getJob(readAssistJobId(sop, ADULT));
  const instanceRow = async (sop: string) => (await store.db.query<{ status: string; dicom_json: Record<string, unknown> | null }>(
    'select status, dicom_json from instances where sop_instance_uid = $1', [sop])).rows[0];
  const seenQueued = (sop: string) => waitFor(() => job(sop), 'the job queued while the DICOM JSON is read', SEEN_WITHIN_MS);
  /** The real parser, whose answer (with the DICOM JSON, read) reaches ingest only once `meanwhile` has run after the attributes were said. */
  const answeringAfter = (meanwhile: () => Promise<unknown>): IngestDeps['parse'] => async (bytes, options) => {
    const parsed = await parser.parse(bytes, options);
    await meanwhile();
    return parsed;
  };
  const deadline = () => overLimit('parseDeadlineMs', DEFAULT_DICOM_LIMITS, 'parsing took longer than the deadline');

  beforeAll(async () => {
    redis = await startPrivateRedis(path.join(dir, 'redis'));
    registry = await loadModelRegistry(path.join(import.meta.dirname, '..', 'models'), { threads: 1 });
    const db = await openDatabase({ pgliteDir: 'memory://' });
    await migrate(db);
    store = createStore(db, { prioritise: createStudyPrioritiser(registry) });
    connection = redisConnection(redis.url);
    readAssistQueue = createReadAssistQueue({ connection, prefix: 'ingest-early-queue-test' });
    deps = { store, blobs: createBlobStore(path.join(dir, 'blobs')), registry, readAssist: readAssistQueue, instanceWrites };
  }, 120_000);
  afterAll(async () => {
    await instanceWrites.flush();
    await parser.close();
    await readAssistQueue?.close();
    await connection?.quit();
    await store?.close();
    await registry?.close();
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when the thread has found the film valid but not yet answered with its DICOM JSON, then its job is already waiting in Redis; the row, once written, holds the DICOM JSON', async () => {
    const { bytes, sop } = freshFilm();
    let finish!: () => void;
    const answerHeld = new Promise<void>((resolve) => { finish = resolve; });
    const uploading = ingestInstance({ ...deps, parse: answeringAfter(() => answerHeld) }, bytes, uploader);
    try {
      const queued = await seenQueued(sop);
      expect(await queued.getState()).toBe('prioritized');
      expect(queued.data).toMatchObject({ sopInstanceUid: sop, modelKey: ADULT, deployment: 'clinical' });
      expect(await instanceRow(sop)).toBeUndefined();
    } finally {
      finish();
    }
    expect((await uploading).status).toBe('stored');
    const row = await instanceRow(sop);
    expect(row.status).toBe('queued');
    expect(row.dicom_json?.['00080018']).toEqual({ vr: 'UI', Value: [sop] });
  }, 60_000);

  it('when the DICOM JSON phase fails after the job was queued (the parse deadline), then the upload is refused with the parse\'s error, nothing is recorded and no job waits', async () => {
    const { bytes, sop } = freshFilm();
    const refusal = deadline();
    await expect(ingestInstance({ ...deps, parse: answeringAfter(async () => {
      await seenQueued(sop);
      throw refusal;
    }) }, bytes, uploader)).rejects.toBe(refusal);
    expect(refusal.code).toBe('DICOM_PARSE_DEADLINE');
    expect(await instanceRow(sop)).toBeUndefined();
    expect(await job(sop)).toBeUndefined();
  }, 60_000);

  it('when the row is not written after the job was queued, then the upload fails with the write\'s error and no job waits', async () => {
    const { bytes, sop } = freshFilm();
    const lost = new Error('connection to the database lost');
    const failingWrite: IngestDeps = {
      ...deps,
      parse: answeringAfter(() => seenQueued(sop)),
      store: { ...store, recordInstance: async () => { throw lost; } },
    };
    await expect(ingestInstance(failingWrite, bytes, uploader)).rejects.toBe(lost);
    expect(await instanceRow(sop)).toBeUndefined();
    expect(await job(sop)).toBeUndefined();
  }, 60_000);

  it('when a re-upload of a recorded film is refused after its enqueue (a no-op: the ids are derived), then the recorded film\'s waiting job stays', async () => {
    const { bytes, sop } = freshFilm();
    expect((await ingestInstance({ ...deps, parse: parser.parse }, bytes, uploader)).status).toBe('stored');
    const first = (await job(sop))!;
    let enqueued!: () => void;
    const reachedEnqueue = new Promise<void>((resolve) => { enqueued = resolve; });
    const refusal = deadline();
    const reupload: IngestDeps = {
      ...deps,
      readAssist: { ...readAssistQueue, enqueue: (...args) => readAssistQueue.enqueue(...args).finally(enqueued) },
      parse: answeringAfter(async () => {
        await reachedEnqueue;
        throw refusal;
      }),
    };
    await expect(ingestInstance(reupload, bytes, uploader)).rejects.toBe(refusal);
    const kept = (await job(sop))!;
    expect(kept.timestamp).toBe(first.timestamp);
    expect(await kept.getState()).toBe('prioritized');
    expect((await instanceRow(sop)).status).toBe('queued');
  }, 60_000);
});
