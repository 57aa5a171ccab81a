/**
 * What ingest and the results consumer of one API process coordinate on, by SOP Instance UID.
 *
 * Instance rows still being written: ingest starts a study's read-assist jobs before its
 * database write commits, so the worker's decode overlaps the write instead of waiting for it.
 * A result can then come back before its instance row exists: the results consumer (same
 * process) awaits the write here first. A write that failed, or one made by another API
 * process, is not waited for; the results job then finds no instance and BullMQ retries it.
 *
 * Answers held: the runs ingest answers from the header alone (pipeline/ingest.ts; the
 * children's model on an adult's film) are written — findings transaction, then their SR —
 * after a clinical result of the same film is persisted here, not beside the film's decode: on
 * two cores those writes took the CPU the worker decodes on, and delayed the finding a
 * clinician waits for (decode p50 +4–10 ms when they came in: benchmarks/results/2026-12-04/
 * serving-2; −3 ms once held: 2026-12-05/serving-3). They wait at most `holdMs`: a film whose
 * job waits in a deep queue, or an API with no worker, gets them then. At most `maxHeld` wait;
 * past that they are written at once. A held answer lost with the process is the model still
 * pending: the reconciler queues its job at the next start, as for a write that failed.
 */
export interface InstanceWritesOptions {
  /** How long an answer waits for its film's result at most (ms). */
  holdMs: number;
  /** How many answers may wait at once; further ones are written at once. */
  maxHeld: number;
}

const DEFAULTS: InstanceWritesOptions = { holdMs: 250, maxHeld: 1000 };

export function createInstanceWrites(options: Partial<InstanceWritesOptions> = {}) {
  const { holdMs, maxHeld } = { ...DEFAULTS, ...options };
  const inFlight = new Map<string, Promise<unknown>>();
  /** Per instance, the held answers' release: runs them now, once. */
  const held = new Map<string, () => void>();
  /** The answers running (held or not), for `flush`. */
  const answering = new Set<Promise<void>>();
  /** Per instance, the models whose answer is held or being written here: not work lost (`answeringHere`). */
  const answeringModels = new Map<string, readonly string[]>();
  const run = (sopInstanceUid: string, answer: () => Promise<void>) => {
    const running = answer().finally(() => {
      answering.delete(running);
      answeringModels.delete(sopInstanceUid);
    });
    answering.add(running);
  };
  return {
    track<T>(sopInstanceUid: string, write: Promise<T>): Promise<T> {
      const settled = write.then(() => undefined, () => undefined).finally(() => {
        if (inFlight.get(sopInstanceUid) === settled) inFlight.delete(sopInstanceUid);
      });
      inFlight.set(sopInstanceUid, settled);
      return write;
    },
    /** Resolves once the instance's write (if one is in flight here) has committed or failed. */
    async settled(sopInstanceUid: string): Promise<void> {
      await inFlight.get(sopInstanceUid);
    },
    /**
     * Runs `answer` of `models` (which must not throw: ingest's answerAtIngest falls back to a job itself)
     * once a clinical result of the instance is persisted here (`resultPersisted`), or after `holdMs`; at
     * once with `hold: false` or when `maxHeld` answers wait already.
     */
    answer(sopInstanceUid: string, models: readonly string[], answer: () => Promise<void>, { hold }: { hold: boolean }): void {
      if (answeringModels.has(sopInstanceUid)) {
        run(sopInstanceUid, answer);
        return;
      }
      answeringModels.set(sopInstanceUid, models);
      if (!hold || held.size >= maxHeld) {
        run(sopInstanceUid, answer);
        return;
      }
      const release = () => {
        clearTimeout(timer);
        held.delete(sopInstanceUid);
        run(sopInstanceUid, answer);
      };
      const timer = setTimeout(release, holdMs);
      timer.unref();
      held.set(sopInstanceUid, release);
    },
    /**
     * Whether the model's answer on the instance is held or being written here: the reconciler
     * (pipeline/reconcile.ts) must not take it for work Redis lost and queue a job for it.
     */
    answeringHere(sopInstanceUid: string, modelKey: string): boolean {
      return answeringModels.get(sopInstanceUid)?.includes(modelKey) ?? false;
    },
    /** A clinical result of the instance has been persisted: its held answers are written now. */
    resultPersisted(sopInstanceUid: string): void {
      held.get(sopInstanceUid)?.();
    },
    /** When stopping, before the database closes: every held answer is written now, and every answer running awaited. */
    async flush(): Promise<void> {
      for (const release of [...held.values()]) release();
      await Promise.all(answering);
    },
  };
}

export type InstanceWrites = ReturnType<typeof createInstanceWrites>;
