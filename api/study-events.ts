import type { Redis } from 'ioredis';
import { studyChange, type StudyChange } from '../contract/studies.ts';
import { logger } from '../log.ts';

/**
 * Study changes, fanned out to every listener (the SSE route) in every API process. The
 * store announces each change after it commits (StoreOptions.onChange); the announcement
 * goes through Redis pub/sub on `<prefix>:study-events` and each API process delivers what
 * it hears to its own listeners — its own changes included, so one path carries them all
 * and a reader connected to one API process hears reviews posted to another and findings
 * another process's results consumer persisted. Pub/sub is fire-and-forget: a process that
 * is down misses changes, which is why the viewer also polls (its 10 s fallback).
 */
export async function createStudyEvents(options: { redis: Redis; prefix: string }) {
  const channel = `${options.prefix}:study-events`;
  const listeners = new Set<(change: StudyChange) => void>();
  const subscriber = options.redis.duplicate();
  subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return;
    const parsed = studyChange.safeParse(safeJson(message));
    if (!parsed.success) return logger.warn({ channel }, 'ignored a study event that breaks the contract');
    for (const listener of listeners) {
      try {
        listener(parsed.data);
      } catch (error) {
        // One broken listener must not stop the others.
        logger.warn({ err: error }, 'study event listener failed');
      }
    }
  });
  subscriber.on('error', (error) => logger.warn({ err: error }, 'study event subscriber error'));
  await subscriber.subscribe(channel);
  return {
    /** Announces a committed change; never fails the write it announces. */
    emit(change: StudyChange): void {
      options.redis.publish(channel, JSON.stringify(change)).catch((error) => logger.warn({ err: error }, 'study event not published'));
    },
    /** Returns the unsubscribe; call it when the listener goes away, or it leaks. */
    subscribe(listener: (change: StudyChange) => void): () => void {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    get listenerCount(): number {
      return listeners.size;
    },
    async close(): Promise<void> {
      listeners.clear();
      await subscriber.quit();
    },
  };
}

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

export type StudyEvents = Awaited<ReturnType<typeof createStudyEvents>>;
