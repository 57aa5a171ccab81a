import type { Server } from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Queue } from 'bullmq';
import { createApp } from '../api/app.ts';
import { createApiMetrics } from '../api/metrics.ts';
import { startDimseScp } from '../api/dimse/scp.ts';
import { oidcClient } from '../api/oidc.ts';
import { loadCdsClients } from '../api/cds-hooks/clients.ts';
import { createStudyEvents, type StudyEvents } from '../api/study-events.ts';
import type { LanternConfig } from '../config.ts';
import { createOffThreadDecoder } from '../dicom/decode/off-thread/index.ts';
import { openDeidentifyKey } from '../dicom/deidentify/key.ts';
import { loadModelRegistry } from '../inference/registry.ts';
import { createStudyPrioritiser } from '../inference/triage.ts';
import { logger } from '../log.ts';
import { createInstanceWrites } from '../pipeline/instance-writes.ts';
import { createReconciler } from '../pipeline/reconcile.ts';
import { createResultsConsumer } from '../pipeline/results-consumer.ts';
import { createAiResultsSr } from '../pipeline/ai-results-sr.ts';
import { resultsPush } from '../pipeline/results-push.ts';
import { clinicalModelIds, createSurveillance } from '../pipeline/surveillance.ts';
import { scheduleSurveillance } from '../pipeline/surveillance-schedule.ts';
import { createModelDrift } from '../pipeline/model-drift.ts';
import { scheduleModelDrift } from '../pipeline/model-drift-schedule.ts';
import { recordDeploymentStates } from '../pipeline/model-deployments.ts';
import { redisConnection } from '../queue/connection.ts';
import { createReadAssistQueue } from '../queue/enqueue.ts';
import { degradationStepStore } from '../queue/latency.ts';
import { createDegradationController, levelBands } from '../pipeline/degradation-controller.ts';
import { RESULTS_QUEUE } from '../queue/jobs.ts';
import { createBlobStore } from '../store/blobs.ts';
import { openStore } from '../store/open.ts';
import { startUpkeep } from '../store/upkeep.ts';
import { ensureFirstAdmin } from './first-admin.ts';
import type { Store } from '../store/store.ts';
import { tlsServing } from './tls.ts';
import { drainableServer } from './http-drain.ts';

/** How long a stopping API waits for requests in flight, and then for results waiting to be persisted. */
const HTTP_GRACE_MS = 10_000;
const RESULTS_DRAIN_MS = 5_000;

export interface ApiRole {
  url: string;
  /** The role's own store and change events: what an in-process caller (a test) may inspect. */
  store: Store;
  events: StudyEvents;
  /** The DIMSE SCP, when `config.dimse` turns it on: where it listens. */
  dimse?: { host: string; port: number; aeTitle: string };
  /** Stops taking requests and lets those in flight finish: the first step of a shutdown. */
  stopAccepting(): Promise<void>;
  /** Stops taking requests, persists the results waiting, closes everything. */
  stop(): Promise<void>;
}

/**
 * The API role: owns the store (the embedded PGlite has one owner), persists worker
 * results, serves HTTP. Loads the model cards to route studies to models — and
 * refuses to start if any model breaks its contract.
 */
export async function startApiRole(config: LanternConfig & { redisUrl: string }): Promise<ApiRole> {
  const deidentifyKey = openDeidentifyKey(config.deidentifyKeyFile ?? path.join(config.dataDir, 'research', 'deidentify.key'));
  const registry = await loadModelRegistry(config.modelsDir, { threads: 1 });
  const redis = redisConnection(config.redisUrl);
  const events = await createStudyEvents({ redis, prefix: config.queuePrefix });
  const store = await openStore({
    databaseUrl: config.databaseUrl,
    databasePoolMax: config.databasePoolMax,
    databaseNamedStatements: config.databaseNamedStatements,
    soleWriter: config.databaseSoleWriter,
    dataDir: config.dataDir,
    prioritise: createStudyPrioritiser(registry),
    onChange: events.emit,
    onConsultation: events.emitConsultation,
    onAuditError: (error) => logger.error({ err: error }, 'audit trail: a record, a checkpoint or its delivery to the witness failed'),
    auditKeyFile: config.auditKeyFile,
    auditCheckpointFile: config.auditCheckpointFile,
    auditCheckpointSeconds: config.auditCheckpointSeconds,
    auditWitnessTarget: config.auditWitness && { url: config.auditWitness.url, token: config.auditWitness.token, maxLagMs: config.auditWitness.maxLagSeconds * 1000 },
    auditWaitMs: config.auditWaitMs,
    readAuditWindowMs: config.readAuditWindowSeconds * 1000,
  });
  await ensureFirstAdmin(store, config.dataDir);
  // The embedded PGlite has no autovacuum: its tables are analysed and vacuumed here, or every plan is made blind.
  const upkeep = await startUpkeep(store.db, config.databaseUpkeepMinutes * 60_000);
  await recordDeploymentStates(store, registry);
  const readAssist = createReadAssistQueue({ connection: redis, prefix: config.queuePrefix });
  // The latency promise: measures the queue per triage level for /ready and, unless turned off, steps the degradation ladder (audited).
  const latency = createDegradationController({
    queue: readAssist.queue, redis, steps: degradationStepStore(redis, config.queuePrefix), bands: levelBands(registry), intervalMs: config.degradation.checkMs,
    record: (change) => store.recordDegradationStep(change), enabled: config.degradation.enabled, holdSeconds: config.degradation.holdSeconds,
  });
  latency.start();
  const instanceWrites = createInstanceWrites();
  const frameDecoder = createOffThreadDecoder();
  const blobs = createBlobStore(config.blobDir);
  const aiResultsSr = createAiResultsSr({
    redisUrl: config.redisUrl, prefix: config.queuePrefix, store, blobs,
    push: config.resultsDestination && resultsPush(config.resultsDestination),
  });
  const results = createResultsConsumer({ redisUrl: config.redisUrl, prefix: config.queuePrefix, store, instanceWrites, onFindings: aiResultsSr.afterFindings });
  // The depths of the results queue and the AI results SR queues (writing, pushes) are exported beside the read-assist queue's; each stored result is counted per model.
  const resultsQueue = new Queue(RESULTS_QUEUE, { connection: redis, prefix: config.queuePrefix });
  // Drift scores are read at scrape time, when `modelDrift` below exists.
  const metrics = createApiMetrics({ processMetrics: true, queues: [resultsQueue, aiResultsSr.queue, aiResultsSr.pushQueue], driftScores: () => modelDrift.currentScores() });
  results.worker.on('completed', (job) => metrics.models.record(job.data));
  const surveillance = registry.surveillancePolicy && createSurveillance({ store, policy: registry.surveillancePolicy, timeZone: config.timeZone, clinicalModels: clinicalModelIds(registry.models) });
  const surveillanceSchedule = surveillance && scheduleSurveillance({ redisUrl: config.redisUrl, prefix: config.queuePrefix, surveillance });
  const modelDrift = createModelDrift({ store });
  const modelDriftSchedule = scheduleModelDrift({ redisUrl: config.redisUrl, prefix: config.queuePrefix, drift: modelDrift });
  const oidc = config.oidc && oidcClient(config.oidc);
  // A CDS client's jti is taken once across API processes; the key lives as long as the token could.
  const cdsClients = config.cdsClientsFile ? loadCdsClients(config.cdsClientsFile,
    async (key, ttl) => (await redis.set(`${config.queuePrefix}:cds-jti:${key}`, '1', 'EX', ttl, 'NX')) === 'OK') : undefined;
  const app = createApp({ config, store, blobs, aiResultsSr, registry, readAssist, redis, events, instanceWrites, frameDecoder, oidc, cdsClients, deidentifyKey, surveillance, metrics, latency });

  // Before HTTP: a DIMSE port already taken fails the start with nothing listening yet.
  const dimse = config.dimse && await startDimseScp({ config: { ...config, dimse: config.dimse }, store, blobs, registry, readAssist, instanceWrites, aiResultsSr, metrics });
  const tls = tlsServing(config);
  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host, ...tls.serveOptions });
  const http = drainableServer(server as Server, (request) => request.url?.startsWith('/v1/events') ?? false);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const url = `${tls.scheme}://${config.host}:${port}`;
  logger.info({ url, models: registry.models.map((m) => m.key), database: store.db.kind }, 'api listening');

  // Work stored but never queued (Redis died between the two) is queued again now and whenever Redis comes back;
  // so are the SR requests of recent reviews (pipeline/ai-results-sr.ts reconcile).
  const reconciler = createReconciler({ store, readAssist, answeringHere: instanceWrites.answeringHere });
  const reconcile = () => {
    void reconciler.run().catch((error) => logger.error({ err: error }, 'reconciliation failed; it runs again when Redis reconnects'));
    void aiResultsSr.reconcile().catch((error) => logger.error({ err: error }, 'AI results SR reconciliation failed; it runs again when Redis reconnects'));
  };
  redis.on('ready', reconcile);
  reconcile();

  return {
    url,
    store,
    events,
    dimse: dimse && { host: dimse.host, port: dimse.port, aeTitle: dimse.aeTitle },
    stopAccepting: async () => {
      await Promise.all([http.close(HTTP_GRACE_MS), dimse?.close()]);
    },
    async stop() {
      redis.off('ready', reconcile);
      await Promise.all([http.close(HTTP_GRACE_MS), dimse?.close()]);
      await results.drain(RESULTS_DRAIN_MS);
      await results.stop();
      // The answers ingest held for results that will not come now are written while the store and the SR queue are open.
      await instanceWrites.flush();
      await aiResultsSr.stop();
      await surveillanceSchedule?.stop();
      await modelDriftSchedule.stop();
      await frameDecoder.close();
      await latency.stop();
      await readAssist.close();
      await resultsQueue.close();
      await events.close();
      await redis.quit();
      await upkeep.stop();
      await store.close();
      await registry.close();
    },
  };
}
