import { logger } from '../log.ts';
import type { StudyChange } from '../store/types.ts';

/**
 * Study changes fanned out to whoever listens in this process (the SSE route). The store
 * announces each change after it commits (StoreOptions.onChange); this API process is
 * the only writer of its changes, findings included (its results consumer persists them).
 *
 * Known limit: with several API processes behind a load balancer, a listener hears only
 * the changes its own process committed (reviews posted to another process, findings
 * another process's consumer persisted are not announced here). Relaying through Redis
 * pub/sub would lift it.
 */
export function createStudyEvents() {
  const listeners = new Set<(change: StudyChange) => void>();
  return {
    emit(change: StudyChange): void {
      for (const listener of listeners) {
        try {
          listener(change);
        } catch (error) {
          // One broken listener must not stop the others, nor fail the write that was announced.
          logger.warn({ err: error }, 'study event listener failed');
        }
      }
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
  };
}

export type StudyEvents = ReturnType<typeof createStudyEvents>;
