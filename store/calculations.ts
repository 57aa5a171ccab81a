/**
 * The audit of synchronous calculations (risk, score, triage): group-committed, and awaited.
 *
 * Contract: `recordCalculation` resolves once the record is in the chain. Group commit
 * without an added wait: the first record is written at once, and records arriving while
 * a commit is in flight share the next transaction, so a burst costs one round trip per
 * commit, not per record. The caller answers only after that (one commit more than the
 * calculation: the price of never answering without a record), and answers 503
 * when the record is not written within `auditWaitMs`. Such a record is not dropped: it
 * stays queued and is retried with backoff until written (its idempotency key makes a
 * retry after an ambiguous commit a no-op), so the trail may show a calculation whose
 * answer was a 503, never an answer without its record. At close what is still queued is
 * flushed, and what cannot be flushed is written to the spool file, replayed at the next
 * start. A record the database refuses on its own (while the others of its batch commit)
 * is quarantined: the others are written, it is recorded escaped as `audit.unstorable`,
 * its caller gets an error and `auditStatus()` turns degraded.
 *
 * A commit is one round trip on PostgreSQL (and PGlite served over the wire protocol, which
 * `lantern start` runs): one statement that takes the chain's lock and appends, planned on the
 * head this store last committed (appendOnKnownHead). When another writer moved the head meanwhile, or
 * the head is not known yet (the first commit, a retry), it is three: begin with the lock and the
 * head, one statement, commit (appendToChain).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson } from './canonical-json.ts';
import { AUDIT_LOCK, auditChainColumns, auditedTransactionAtHead, auditInsert, auditKeys, checkAuditEntry, planAudits, type AuditChainState, type AuditEntry, type PlannedAudits } from './audit.ts';
import type { Database } from './db.ts';
import { AuditUnavailableError, type StoreContext } from './shared.ts';

/** Retry backoff after a failed commit: doubles from the first to the last. */
const RETRY_MS = [250, 30_000] as const;
/** How long after a quarantined record the audit stays degraded: someone must look. */
const QUARANTINE_DEGRADES_MS = 10 * 60_000;
/** How long `close` keeps retrying before it spools what is left. */
const CLOSE_DEADLINE_MS = 5_000;

export interface CalculationAudit {
  kind: string;
  model: { id: string; version: string; sha256: string };
  inputs: unknown;
  result: unknown;
}

/** What health reads: whether every audit record made so far is in the chain. */
export interface CalculationAuditStatus {
  state: 'ok' | 'degraded';
  /** Records waiting for a commit (a failed one is retried). */
  pending: number;
  /** Records the database refused on their own since start; each is in the chain as `audit.unstorable`. */
  quarantined: number;
  lastError?: string;
  lastErrorAt?: string;
}

interface Waiting {
  entry: AuditEntry;
  settle?: { resolve: () => void; reject: (error: Error) => void };
}

/**
 * One store's calculation audits: `recordCalculation`, `calculationAuditStatus`, and `close`
 * for what is still waiting. One closure (over 80 lines) because the queue, the commit in
 * flight, the retry timer and the status are one piece of state that every method changes.
 */
export function calculationAudits({ db, options }: StoreContext) {
  const waitMs = options.auditWaitMs ?? 2_000;
  const spoolFile = options.auditSpoolFile;
  const pending: Waiting[] = readSpool(spoolFile);
  /** Whether the spool file holds records read at start: removed once they are written, not looked for on every commit. */
  let spooled = pending.length > 0;
  /** The next flush: at the end of this event-loop turn (setImmediate), or a retry's backoff (setTimeout). */
  let timer: { cancel(): void } | undefined;
  let flushing: Promise<void> = Promise.resolve();
  let retryMs: number = RETRY_MS[0];
  let failing = false;
  let quarantined = 0;
  let lastQuarantineAt = 0;
  let lastError: { message: string; at: string } | undefined;
  let closed = false;
  /** The chain's head as this store's last commit left it: what the next commit is planned on; undefined when not known. */
  let head: ChainHead | undefined;

  /** Appends entries in one round trip when the head is known and still holds, else as appendToChain does. */
  async function append(entries: AuditEntry[]): Promise<void> {
    try {
      for (let tries = 0; head !== undefined && db.kind === 'postgres' && tries < 2; tries++) {
        const outcome = await appendOnKnownHead(db, entries, head);
        head = outcome.head;
        if (outcome.appended) return;
      }
      head = await appendToChain(db, entries);
    } catch (error) {
      // A failed or ambiguous commit says nothing certain about the head: the next one reads it.
      head = undefined;
      throw error;
    }
  }

  const report = (error: unknown) => {
    lastError = { message: (error as Error).message ?? String(error), at: new Date().toISOString() };
    options.onAuditError?.(error);
  };
  /**
   * Records of the same event-loop turn share a transaction (a flush on setImmediate runs after the
   * turn's I/O callbacks; setTimeout's 0 would be 1 ms or more later, which a risk answer waits);
   * later ones queue behind the commit in flight, and a retry's backoff is kept.
   */
  const schedule = (ms: number) => {
    if (closed || timer) return;
    if (ms === 0) {
      const immediate = setImmediate(flush);
      timer = { cancel: () => clearImmediate(immediate) };
    } else {
      const timeout = setTimeout(flush, ms);
      timer = { cancel: () => clearTimeout(timeout) };
    }
  };

  /** Writes one batch; on failure finds the record at fault, one transaction each, and writes the rest. */
  async function write(batch: Waiting[]): Promise<Waiting[]> {
    try {
      await append(batch.map((w) => w.entry));
      batch.forEach((w) => w.settle?.resolve());
      return [];
    } catch (error) {
      if (!(await databaseAnswers())) {
        report(error);
        return batch;
      }
    }
    const retry: Waiting[] = [];
    for (const waiting of batch) {
      try {
        await append([waiting.entry]);
        waiting.settle?.resolve();
      } catch (error) {
        if (!refusesThisRecord(error) || !(await databaseAnswers()) || !(await quarantine(waiting, error))) retry.push(waiting);
      }
    }
    return retry;
  }

  const databaseAnswers = () => db.query('select 1').then(() => true, () => false);

  /** Records a refused record in a form that is always storable, so the trail keeps it; false when even that fails. */
  async function quarantine(waiting: Waiting, error: unknown): Promise<boolean> {
    const { entry } = waiting;
    try {
      await append([{
        actor: 'lantern',
        action: 'audit.unstorable',
        entityType: 'audit',
        entityId: entry.idempotencyKey ?? 'unkeyed',
        payload: { record: canonicalJson(entry), error: (error as Error).message },
        idempotencyKey: entry.idempotencyKey && `unstorable:${entry.idempotencyKey}`,
      }]);
    } catch {
      return false;
    }
    quarantined += 1;
    lastQuarantineAt = Date.now();
    report(new Error(`calculation audit ${entry.idempotencyKey} refused by the database and quarantined: ${(error as Error).message}`));
    waiting.settle?.reject(new AuditUnavailableError(`the audit record could not be stored: ${(error as Error).message}`));
    return true;
  }

  /** Appends every waiting record; what failed for want of a database waits for the next try, with backoff. */
  function flush(): Promise<void> {
    timer?.cancel();
    timer = undefined;
    flushing = flushing.then(async () => {
      const batch = pending.splice(0);
      if (batch.length === 0) return;
      const retry = await write(batch);
      pending.unshift(...retry);
      if (retry.length === 0) {
        failing = false;
        retryMs = RETRY_MS[0];
        if (spooled && pending.length === 0) {
          fs.rmSync(spoolFile!, { force: true });
          spooled = false;
        }
      } else {
        failing = true;
        schedule(retryMs);
        retryMs = Math.min(retryMs * 2, RETRY_MS[1]);
      }
    });
    return flushing;
  }
  if (pending.length > 0) schedule(0);

  /** Queues a checked entry for the next commit; settles when it is written (or quarantined, or left at close). */
  function enqueue(entry: AuditEntry): Promise<void> {
    checkAuditEntry(entry);
    if (closed) return Promise.reject(new AuditUnavailableError('the store is closing'));
    return new Promise<void>((resolve, reject) => {
      pending.push({ entry, settle: { resolve, reject } });
      schedule(0);
    });
  }

  return {
    /**
     * Audits one synchronous calculation (risk, score, triage) for a clinician: which
     * model, what it was given and what it answered. Resolves once written (see the
     * contract at the top); rejects with UnstorableTextError (nothing queued) or
     * AuditUnavailableError (not written within `auditWaitMs`; still queued).
     */
    async recordCalculation(actor: string, calculation: CalculationAudit): Promise<void> {
      const entry: AuditEntry = {
        actor,
        action: `${calculation.kind}.calculated`,
        entityType: 'model',
        entityId: `${calculation.model.id}@${calculation.model.version}`,
        payload: calculation as unknown as Record<string, unknown>,
        idempotencyKey: `calculation:${randomUUID()}`,
      };
      const written = enqueue(entry);
      let expire: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        expire = setTimeout(() => reject(new AuditUnavailableError(`the audit record was not written within ${waitMs} ms; it is kept and retried`)), waitMs);
      });
      try {
        await Promise.race([written, late]);
      } finally {
        clearTimeout(expire);
      }
    },

    /**
     * Appends a record that nobody waits for (a read of patient data, coalesced in
     * read-audits.ts) through the same group commit: retried until written, spooled at close.
     * Resolves once written; rejects only if quarantined or left unwritten at close, both
     * already reported (onAuditError, `calculationAuditStatus`).
     */
    appendLater: enqueue,

    calculationAuditStatus(): CalculationAuditStatus {
      const degraded = failing || (lastQuarantineAt > 0 && Date.now() - lastQuarantineAt < QUARANTINE_DEGRADES_MS);
      return {
        state: degraded ? 'degraded' : 'ok',
        pending: pending.length,
        quarantined,
        ...(lastError ? { lastError: lastError.message, lastErrorAt: lastError.at } : {}),
      };
    },

    /** Flushes what is waiting, retrying until a deadline; what is still unwritten goes to the spool file (or is reported lost). */
    async close(): Promise<void> {
      closed = true;
      const deadline = Date.now() + CLOSE_DEADLINE_MS;
      for (let wait = RETRY_MS[0]; ; wait *= 2) {
        await flush();
        if (pending.length === 0 || Date.now() + wait > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
      timer?.cancel();
      if (pending.length === 0) return;
      if (spoolFile) {
        writeSpool(spoolFile, pending.map((w) => w.entry));
        report(new Error(`${pending.length} calculation audit records could not be written before close; spooled to ${spoolFile} for the next start`));
      } else {
        report(new Error(`${pending.length} calculation audit records could not be written before close and are lost (no spool file configured)`));
      }
      pending.forEach((w) => w.settle?.reject(new AuditUnavailableError('the store closed before the audit record was written')));
    },
  };
}

/** The chain's last record (AuditChainState's `last`): null for an empty chain. */
type ChainHead = AuditChainState['last'];

/** The head after `planned` was appended on `state`: its last new record, else the head as it was. */
const headAfter = (planned: PlannedAudits, last: ChainHead): ChainHead => {
  const record = planned.added > 0 ? planned.records.at(-1)! : undefined;
  return record ? { seq: record.seq, hash: record.hash } : last;
};

/**
 * Appends entries to the audit chain as audit.ts appendAudits does, a round trip shorter (a risk
 * answer waits for its record): begin with the chain's lock and head (auditedTransactionAtHead),
 * one statement, commit. The entries are chained onto that head and inserted by the statement
 * that reads which of their keys are stored, only if none is; when one is (a retry after a commit
 * whose answer was lost), it inserts nothing and they are chained again around what is stored.
 * Resolves with the chain's head after the commit.
 */
async function appendToChain(db: Database, entries: AuditEntry[]): Promise<ChainHead> {
  return auditedTransactionAtHead(db, async (tx, last) => {
    const planned = planAudits({ existing: null, last }, entries);
    const { rows: [{ existing }] } = await tx.query<AuditChainState>(
      `with state as (select ${auditChainColumns('$1')}),
            appended as (${auditInsert(`(case when (select existing from state) is null then $2::text else '[]' end)`)})
       select * from state`, [auditKeys(entries), planned.rows]);
    if (!existing) return headAfter(planned, last);
    const rest = planAudits({ existing, last }, entries);
    if (rest.added > 0) await tx.query(auditInsert('$1'), [rest.rows]);
    return headAfter(rest, last);
  });
}

/**
 * Appends entries planned on `head`, the chain's head as this store last committed it, in one
 * round trip: one statement, its own transaction, that takes the chain's lock (audit.ts
 * auditedTransaction's key, AUDIT_LOCK there: every appender queues on it), reads the chain's
 * state and inserts the entries only if the head is still `head` and none of their keys is
 * stored; otherwise it inserts nothing and answers the state it read (`appended` false, with
 * the head it found, for the caller to plan again). A parameterised statement, so a served
 * PGlite (named statements) plans it once.
 *
 * The state is read in the statement's snapshot, taken before it waited for the lock: when
 * another appender committed meanwhile, the head read is older than the chain's, the entries'
 * first seq is already stored, and the primary key refuses the insert (23505 on audit_pkey)
 * rather than fork the chain; `appended` false, head unknown. The lock is taken before any row
 * is inserted (the rows are chosen from the state that takes it), so an appender holding it is
 * never refused on our account.
 */
async function appendOnKnownHead(db: Database, entries: AuditEntry[], head: ChainHead): Promise<{ appended: boolean; head: ChainHead | undefined }> {
  const planned = planAudits({ existing: null, last: head }, entries);
  let state: AuditChainState;
  try {
    ({ rows: [state] } = await db.query<AuditChainState>(
      `with state as (select pg_advisory_xact_lock(${AUDIT_LOCK}) as locked, ${auditChainColumns('$1')}),
            appended as (${auditInsert(`(case when (select existing from state) is null and (select last->>'hash' from state) is not distinct from $3 then $2::text else '[]' end)`)})
       select existing, last from state`, [auditKeys(entries), planned.rows, head?.hash ?? null]));
  } catch (error) {
    if ((error as { code?: string; constraint?: string }).code === '23505' && (error as { constraint?: string }).constraint === 'audit_pkey') return { appended: false, head: undefined };
    throw error;
  }
  const { existing, last } = state;
  if (existing === null && (last?.hash ?? null) === (head?.hash ?? null)) return { appended: true, head: headAfter(planned, head) };
  // Another writer appended (or an entry is stored already): plan again on what was found.
  return { appended: false, head: existing === null ? last : undefined };
}

/**
 * Whether an error is the database refusing this record's content (data, constraint, a
 * trigger's exception), which no retry will change; connection, concurrency and resource
 * failures (SQLSTATE classes 08, 40, 53, 55, 57, 58) or errors without a code are retried.
 */
function refusesThisRecord(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !['08', '40', '53', '55', '57', '58'].includes(code.slice(0, 2));
}

/** Entries left by the last close; written again at start (their idempotency keys make that safe). */
function readSpool(file: string | undefined): Waiting[] {
  if (!file || !fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => ({ entry: JSON.parse(line) as AuditEntry }));
}

/** Atomically: a crash while spooling leaves the previous spool, never half of one. */
function writeSpool(file: string, entries: AuditEntry[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(temporary, 'w', 0o600);
  try {
    fs.writeSync(fd, entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temporary, file);
}
