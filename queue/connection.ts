import { Redis } from 'ioredis';

/**
 * BullMQ needs `maxRetriesPerRequest: null` on connections that block (workers); we
 * use it everywhere so one factory serves queues and workers alike. Callers `quit()`
 * what they create: BullMQ does not close connections it was handed.
 */
export function redisConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
}
