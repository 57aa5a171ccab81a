/**
 * Reads of patient data in the audit trail: who opened which study, its frames, a worklist,
 * an export — without slowing the read.
 *
 * Contract: `recordRead` never waits for the database; it counts the read into an open
 * record for (actor, action, entity) in memory. A record stays open for `readAuditWindowMs`
 * (default 5 minutes) from its first read, so a reader paging through a study's frames
 * makes one record holding the count, not one per frame. When its window has passed
 * (checked every second), when MAX_OPEN records are open (the oldest goes first), when a
 * list record names MAX_STUDIES studies, and at close, the record is handed to the audit's
 * group commit (calculations.ts `appendLater`), which retries it until written, spools it at
 * close and keeps health degraded while it waits. Its idempotency key is fixed when it
 * opens, so a commit retried after an ambiguous failure never writes it twice.
 *
 * Why a read does not wait for its record: frames are fetched dozens per second, and one
 * commit each would serialise every read behind the chain's lock. What that costs: a crash
 * (SIGKILL, power) loses the records still open, at most one window of reads. What bounds
 * it: while MAX_UNWRITTEN records already wait for a database that does not take them, a
 * read is refused (AuditUnavailableError, a 503) rather than served unrecorded.
 */
import { randomUUID } from 'node:crypto';
import type { AuditEntry } from './audit.ts';
import { AuditUnavailableError, type StoreContext } from './shared.ts';

/** Default coalescing window: one record per user × entity × 5 minutes. */
export const READ_AUDIT_WINDOW_MS = 5 * 60_000;
/** How often records whose window has passed are handed to the commit. */
const SWEEP_MS = 1_000;
/** Open records at most (users × studies read in one window); past it the oldest is written early. */
const MAX_OPEN = 10_000;
/** Studies one list record names at most (a worklist shows up to 200): past it the record is written and a new one opens. */
const MAX_STUDIES = 1_000;
/** Unwritten audit records past which reads are refused: the database has not taken them for a while. */
const MAX_UNWRITTEN = 20_000;

/** One read of patient data by a signed-in user. */
export interface PatientDataRead {
  /** `study.viewed` (entity: the study), `worklist.viewed`, `research.listed`. */
  action: string;
  entityType: string;
  entityId: string;
  /** What was read, counted per kind in the record: `view`, `frames`, `export`, `deidentified-view`, … */
  what: string;
  /** The studies a list showed (each a Study Instance UID): the record keeps their union. */
  studies?: readonly string[];
}

/**
 * What of a study was read: its view, a frame, its accountability bundle, or their
 * de-identified forms (the model teams' routes, `lantern export --deidentify`).
 */
export type StudyReadKind = 'view' | 'frames' | 'export' | 'deidentified-view' | 'deidentified-frames' | 'deidentified-export';

/** A read of one study's data: `study.viewed`, entity the study (its real Study Instance UID, as every other record of it). */
export const studyRead = (studyInstanceUid: string, what: StudyReadKind): PatientDataRead =>
  ({ action: 'study.viewed', entityType: 'study', entityId: studyInstanceUid, what });

interface OpenRecord {
  actor: string;
  read: Omit<PatientDataRead, 'what' | 'studies'>;
  idempotencyKey: string;
  from: Date;
  to: Date;
  counts: Record<string, number>;
  studies?: Set<string>;
}

/** The store's read audits: `recordRead`, `flushReadAudits`, and `close`. */
export function readAudits(
  { options }: StoreContext,
  commit: { appendLater(entry: AuditEntry): Promise<void>; unwritten(): number },
) {
  const windowMs = options.readAuditWindowMs ?? READ_AUDIT_WINDOW_MS;
  // Insertion order is opening order: the first entry is the oldest record.
  const open = new Map<string, OpenRecord>();
  let closed = false;

  /** Hands a record to the group commit; its failures are reported there (health, onAuditError), so none is rethrown here. */
  function write(key: string, record: OpenRecord): Promise<void> {
    open.delete(key);
    const entry: AuditEntry = {
      actor: record.actor,
      ...record.read,
      payload: {
        reads: record.counts,
        from: record.from.toISOString(),
        to: record.to.toISOString(),
        ...(record.studies ? { studies: [...record.studies].sort() } : {}),
      },
      idempotencyKey: `read:${record.idempotencyKey}`,
    };
    return commit.appendLater(entry).catch(() => undefined);
  }

  const sweep = setInterval(() => {
    const due = Date.now() - windowMs;
    for (const [key, record] of open) if (record.from.getTime() <= due) void write(key, record);
  }, SWEEP_MS);
  sweep.unref();

  return {
    /**
     * Counts one read by `actor` (the authenticated user) into its open record. Synchronous
     * and in memory; throws AuditUnavailableError when the audit cannot keep up (see the top).
     */
    recordRead(actor: string, read: PatientDataRead): void {
      if (closed) throw new AuditUnavailableError('the store is closing: reads are no longer audited');
      if (commit.unwritten() >= MAX_UNWRITTEN) {
        throw new AuditUnavailableError(`${commit.unwritten()} audit records wait for the database; patient data is not read unrecorded`);
      }
      const { what, studies, ...entity } = read;
      const key = JSON.stringify([actor, entity.action, entity.entityType, entity.entityId]);
      const now = new Date();
      let record = open.get(key);
      if (!record) {
        if (open.size >= MAX_OPEN) {
          const [oldestKey, oldest] = open.entries().next().value!;
          void write(oldestKey, oldest);
        }
        record = { actor, read: entity, idempotencyKey: randomUUID(), from: now, to: now, counts: {}, ...(studies ? { studies: new Set<string>() } : {}) };
        open.set(key, record);
      }
      record.to = now;
      record.counts[what] = (record.counts[what] ?? 0) + 1;
      for (const uid of studies ?? []) record.studies?.add(uid);
      if ((record.studies?.size ?? 0) >= MAX_STUDIES) void write(key, record);
    },

    /** Writes every open record now, window or not, and resolves once the commit has taken them (or reported why not). */
    async flushReadAudits(): Promise<void> {
      await Promise.all([...open].map(([key, record]) => write(key, record)));
    },

    /** Hands every open record to the commit (whose own close writes or spools them); later reads are refused. */
    close(): void {
      closed = true;
      clearInterval(sweep);
      for (const [key, record] of open) void write(key, record);
    },
  };
}
