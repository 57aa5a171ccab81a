/**
 * Instance rows still being written, by SOP Instance UID.
 *
 * Ingest starts a study's read-assist jobs before its database write commits, so the
 * worker's decode overlaps the write instead of waiting for it. A result can then come
 * back before its instance row exists: the results consumer (same process) awaits the
 * write here first. A write that failed, or one made by another API process, is not
 * waited for; the results job then finds no instance and BullMQ retries it.
 */
export function createInstanceWrites() {
  const inFlight = new Map<string, Promise<unknown>>();
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
  };
}

export type InstanceWrites = ReturnType<typeof createInstanceWrites>;
