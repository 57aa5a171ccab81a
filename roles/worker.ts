import sharp from 'sharp';
import type { LanternConfig } from '../config.ts';
import { enableNativeJpeg2000 } from '../dicom/decode/jpeg2000.ts';
import { loadModelRegistry } from '../inference/registry.ts';
import { logger } from '../log.ts';
import { createBlobStore } from '../store/blobs.ts';
import { watchEventLoop } from './event-loop-watchdog.ts';
import { lowerCpuPriority } from '../queue/cpu-priority.ts';
import { createReadAssistWorker } from '../pipeline/read-assist-worker.ts';
import { publishWorkerMetrics } from '../pipeline/worker-metrics.ts';
import { redisConnection } from '../queue/connection.ts';

export interface WorkerRole {
  stop(): Promise<void>;
}

/**
 * The worker role: loads and warms every model (refusing to start on a broken
 * contract), then consumes read-assist jobs at a lower CPU priority than the API's.
 * Needs Redis and the shared blob folder; never the database.
 */
export async function startWorkerRole(config: LanternConfig & { redisUrl: string }): Promise<WorkerRole> {
  // First, so that the threads onnxruntime and libvips start below inherit it.
  lowerCpuPriority(config.workerNice);
  // One worker process per core: libvips' own thread pool would make workers fight for cores.
  sharp.concurrency(config.vipsThreads);
  const registry = await loadModelRegistry(config.modelsDir, { threads: config.ortThreads });
  // JPEG 2000 through the machine's OpenJPEG where it is installed (dicom/decode/openjpeg-native), started now so the first study does not wait for it.
  // The native decoder's sandbox hides where patient data and the keys live (dicom/decode/openjpeg-native/sandbox.ts).
  const openJpeg = config.jpeg2000Native ? enableNativeJpeg2000({ threads: config.decodeThreads, hidden: [config.dataDir, config.blobDir] }) : undefined;
  const jpeg2000 = await openJpeg?.start() ? 'native OpenJPEG' : 'OpenJPEG (WebAssembly)';
  const worker = createReadAssistWorker({
    redisUrl: config.redisUrl,
    prefix: config.queuePrefix,
    registry,
    blobs: createBlobStore(config.blobDir, { readSynchronously: true }),
    concurrency: config.workerConcurrency,
    lockDurationMs: config.jobLockMs,
    dicomLimits: config.dicomLimits,
    // The step the API's controller sets; a deferred job is looked at again after the ladder's hold.
    degradation: config.degradation.enabled ? { refreshMs: config.degradation.checkMs, deferMs: config.degradation.holdSeconds * 1000 } : undefined,
  });
  worker.start();
  // From here on: loading and warming the models above may hold the loop for long, and legitimately.
  const watchdog = config.workerStallSeconds > 0 ? watchEventLoop(config.workerStallSeconds * 1000) : undefined;
  // This process's memory and event loop reach the API's /metrics through Redis (it has no HTTP port).
  const metricsRedis = redisConnection(config.redisUrl);
  const metrics = publishWorkerMetrics({ redis: metricsRedis, prefix: config.queuePrefix, onError: (error) => logger.warn({ err: error }, 'could not publish worker metrics') });
  logger.info({ models: registry.models.map((m) => m.key), concurrency: config.workerConcurrency, jpeg2000 }, 'worker ready');
  return {
    async stop() {
      await watchdog?.stop();
      metrics.stop();
      await worker.stop(config.shutdownGraceSeconds * 1000);
      await metricsRedis.quit();
      await registry.close();
      openJpeg?.close();
    },
  };
}
