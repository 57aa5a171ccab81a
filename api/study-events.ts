import type { Redis } from 'ioredis';
import { consultationChange, type ConsultationChange } from '../contract/consultations.ts';
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
 * Consultation changes (store/consultations.ts) travel the same way on `<prefix>:consultation-events`.
 */
export async function createStudyEvents(options: { redis: Redis; prefix: string }) {
  const channel = `${options.prefix}:study-events`;
  const listeners = new Set<(change: StudyChange) => void>();
  const consultationChannel = `${options.prefix}:consultation-events`;
  const consultationListeners = new Set<(change: ConsultationChange) => void>();
  const subscriber = options.redis.duplicate();
  subscriber.on('message', (from: string, message: string) => {
    if (from === channel) deliver(channel, studyChange.safeParse(safeJson(message)), listeners);
    if (from === consultationChannel) deliver(consultationChannel, consultationChange.safeParse(safeJson(message)), consultationListeners);
  });
  subscriber.on('error', (error) => logger.warn({ err: error }, 'study event subscriber error'));
  await subscriber.subscribe(channel, consultationChannel);
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
    /** Announces a committed consultation step; never fails the step it announces. */
    emitConsultation(change: ConsultationChange): void {
      options.redis.publish(consultationChannel, JSON.stringify(change)).catch((error) => logger.warn({ err: error }, 'consultation event not published'));
    },
    /** Returns the unsubscribe, as `subscribe` does. */
    subscribeConsultations(listener: (change: ConsultationChange) => void): () => void {
      consultationListeners.add(listener);
      return () => {
        consultationListeners.delete(listener);
      };
    },
    get listenerCount(): number {
      return listeners.size;
    },
    async close(): Promise<void> {
      listeners.clear();
      consultationListeners.clear();
      await subscriber.quit();
    },
  };
}

/** Hands a message that keeps its contract to every listener; one broken listener must not stop the others. */
function deliver<T>(channel: string, parsed: { success: true; data: T } | { success: false }, to: Set<(change: T) => void>): void {
  if (!parsed.success) return logger.warn({ channel }, 'ignored an event that breaks the contract');
  for (const listener of to) {
    try {
      listener(parsed.data);
    } catch (error) {
      logger.warn({ err: error }, 'event listener failed');
    }
  }
}

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

export type StudyEvents = Awaited<ReturnType<typeof createStudyEvents>>;
