import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import type { Database, Queryable, TransactionQueryable } from './db.ts';
import { UnstorableTextError } from './shared.ts';

export interface AuditEntry {
  actor: string;
  action: string;
  entityType: string;
  entityId: string;
  payload: Record<string, unknown>;
  /** A second append with the same key is a no-op: how at-least-once jobs stay exactly-once in the trail. */
  idempotencyKey?: string;
}

export interface AuditRecord extends Omit<AuditEntry, 'idempotencyKey'> {
  seq: number;
  at: string;
  prevHash: string;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

/** The hash covers the previous hash, the record's fields and the payload's exact stored text. */
export function auditHash(prevHash: string, record: Omit<AuditRecord, 'hash' | 'prevHash' | 'payload'>, payloadText: string): string {
  const header = canonicalJson({
    seq: record.seq,
    at: record.at,
    actor: record.actor,
    action: record.action,
    entityType: record.entityType,
    entityId: record.entityId,
  });
  return createHash('sha256').update(prevHash).update('\n').update(header).update('\n').update(payloadText).digest('hex');
}

/** Arbitrary constant shared by every appender (auditedTransaction here, calculations.ts's one-statement append): the chain has one writer at a time. */
export const AUDIT_LOCK = 7_301_002;

declare const auditLockHeld: unique symbol;
/** A transaction holding the audit chain's lock since its first statement: the only place records are appended. */
export type AuditedTx = TransactionQueryable & { readonly [auditLockHeld]: true };

/**
 * Runs `work` in a transaction that takes the audit chain's advisory lock in the same
 * round trip as its `begin`. Concurrent appenders (any process, any connection) queue
 * on it and can never fork the chain; it is held until the transaction ends.
 */
export function auditedTransaction<T>(db: Database, work: (tx: AuditedTx) => Promise<T>): Promise<T> {
  return db.transaction((tx) => work(tx as AuditedTx), { advisoryLock: AUDIT_LOCK });
}

/**
 * auditedTransaction whose first statement (`first`, with its parameters) is sent in the round
 * trip of its `begin`, behind the lock, so it reads and writes under it: `work` gets its rows
 * (recordFindings, whose first statement needs nothing the transaction reads).
 */
export function auditedTransactionFrom<Row, T>(db: Database, first: { sql: string; params: unknown[] }, work: (tx: AuditedTx, firstRows: Row[]) => Promise<T>): Promise<T> {
  return db.transaction((tx, rows) => work(tx as AuditedTx, rows as Row[]), { advisoryLock: AUDIT_LOCK, firstRead: first });
}

const CHAIN_HEAD = 'select seq, hash from audit order by seq desc limit 1';

/**
 * auditedTransaction that also reads the chain's head in the round trip of its `begin` (after
 * the lock): a write that plans its records before its first statement can append them in it
 * (recordInstance). `head` is AuditChainState's `last`.
 */
export function auditedTransactionAtHead<T>(db: Database, work: (tx: AuditedTx, head: AuditChainState['last']) => Promise<T>): Promise<T> {
  return db.transaction((tx, [head]) => work(tx as AuditedTx, (head as AuditChainState['last'] | undefined) ?? null), { advisoryLock: AUDIT_LOCK, firstRead: CHAIN_HEAD });
}

/** What planning an append needs to know of the chain: its head, and the records already stored under the entries' keys. */
export interface AuditChainState {
  existing: AuditRow[] | null;
  last: { seq: number | string; hash: string } | null;
}

/** The idempotency keys of `entries`: the parameter `auditChainColumns` reads the chain state for. */
export const auditKeys = (entries: AuditEntry[]) => entries.map((e) => e.idempotencyKey).filter((k): k is string => k !== undefined);

/**
 * Select-list columns `existing` and `last` (an AuditChainState) for the keys in the
 * text[] parameter `keysParam`, so a statement that writes something else can read the
 * chain state in the same round trip. Must run under the chain lock (AuditedTx).
 */
export const auditChainColumns = (keysParam: string) =>
  `(select json_agg(a) from audit a where idempotency_key = any(${keysParam}::text[])) as existing,
   (select row_to_json(l) from (${CHAIN_HEAD}) l) as last`;

/** Records to append, chained onto a state read under the lock; `rows` is what `auditInsert` writes. */
export interface PlannedAudits {
  records: AuditRecord[];
  /** JSON array of the new audit rows. */
  rows: string;
  /** How many rows are new: none when every entry was already recorded. */
  added: number;
}

/** The header fields PostgreSQL stores as text: the payload is stored as escaped JSON, so only these can be unstorable. */
const TEXT_FIELDS = ['actor', 'action', 'entityType', 'entityId', 'idempotencyKey'] as const;
const UNSTORABLE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Refuses, before any statement, an entry PostgreSQL could not store: a NUL or a lone
 * surrogate in a text field fails the whole insert, and with it every other record of the
 * batch or transaction. Refused, not rewritten: the trail must say who acted exactly as given.
 */
export function checkAuditEntry(entry: AuditEntry): void {
  for (const field of TEXT_FIELDS) {
    const value = entry[field];
    if (value === undefined) continue;
    if (typeof value !== 'string' || UNSTORABLE.test(value)) {
      throw new UnstorableTextError(field, `the audit record's ${field} cannot be stored: it contains a NUL character or an unpaired surrogate`);
    }
  }
}

/**
 * Chains `entries` onto `state`, in order (each checked by checkAuditEntry first). An entry whose `idempotencyKey` already exists
 * (in the table or earlier in the batch) returns the existing record and adds no row.
 * Every other entry gets seq = previous + 1 and hash = sha256(prevHash, canonical record).
 */
export function planAudits(state: AuditChainState, entries: AuditEntry[]): PlannedAudits {
  entries.forEach(checkAuditEntry);
  const byKey = new Map((state.existing ?? []).map((row) => [row.idempotency_key!, auditRecordOf(row)]));
  let prevHash = state.last?.hash ?? GENESIS_HASH;
  let seq = Number(state.last?.seq ?? 0);
  const at = new Date().toISOString();
  const records: AuditRecord[] = [];
  const rows: AuditRow[] = [];
  for (const entry of entries) {
    const known = entry.idempotencyKey ? byKey.get(entry.idempotencyKey) : undefined;
    if (known) {
      records.push(known);
      continue;
    }
    const header = { seq: ++seq, at, actor: entry.actor, action: entry.action, entityType: entry.entityType, entityId: entry.entityId };
    const payloadText = canonicalJson(entry.payload);
    const hash = auditHash(prevHash, header, payloadText);
    rows.push({ seq: header.seq, at, actor: entry.actor, action: entry.action, entity_type: entry.entityType, entity_id: entry.entityId,
      payload: payloadText, idempotency_key: entry.idempotencyKey ?? null, prev_hash: prevHash, hash });
    const record = { ...header, payload: JSON.parse(payloadText) as Record<string, unknown>, prevHash, hash };
    if (entry.idempotencyKey) byKey.set(entry.idempotencyKey, record);
    records.push(record);
    prevHash = hash;
  }
  return { records, rows: JSON.stringify(rows), added: rows.length };
}

/** Inserts planned rows (the JSON in `rowsParam`); a statement of its own or the body of a CTE. */
export const auditInsert = (rowsParam: string) =>
  `insert into audit (seq, at, actor, action, entity_type, entity_id, payload, idempotency_key, prev_hash, hash)
   select seq, at, actor, action, entity_type, entity_id, payload, idempotency_key, prev_hash, hash
     from json_populate_recordset(null::audit, ${rowsParam}::json)`;

/** Appends one record to the chain inside the caller's transaction; see appendAudits. */
export async function appendAudit(tx: AuditedTx, entry: AuditEntry): Promise<AuditRecord> {
  return (await appendAudits(tx, [entry]))[0];
}

/**
 * Appends records to the chain, in order, inside the caller's audited transaction (see
 * planAudits for idempotency and chaining). Two round trips however many entries: the
 * chain state, one insert.
 */
export async function appendAudits(tx: AuditedTx, entries: AuditEntry[]): Promise<AuditRecord[]> {
  const { rows: [state] } = await tx.query<AuditChainState>(`select ${auditChainColumns('$1')}`, [auditKeys(entries)]);
  const planned = planAudits(state, entries);
  if (planned.added > 0) await tx.query(auditInsert('$1'), [planned.rows]);
  return planned.records;
}

export interface AuditVerification {
  intact: boolean;
  checked: number;
  firstBrokenSeq?: number;
}

/** A replay of the chain: its verification, the head it ended on, and the stored hash at each seq asked about. */
export interface ChainReplay {
  verification: AuditVerification;
  head: { seq: number; hash: string };
  hashesAt: Map<number, string>;
}

/**
 * Replays the chain from the start: each record's hash must equal the hash recomputed
 * from its content and the previous record's hash, and seq must have no gaps. Names
 * the first record where that fails.
 */
export async function verifyAudit(db: Queryable, pageSize = 1000): Promise<AuditVerification> {
  return (await replayChain(db, new Set(), pageSize)).verification;
}

/** verifyAudit, also keeping the hash stored at each seq in `watch` (the checkpointed ones). */
export async function replayChain(db: Queryable, watch: Set<number>, pageSize = 1000): Promise<ChainReplay> {
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let checked = 0;
  const hashesAt = new Map<number, string>();
  for (;;) {
    const page = await db.query<AuditRow>('select * from audit where seq >= $1 order by seq limit $2', [expectedSeq, pageSize]);
    for (const row of page.rows) {
      const record = auditRecordOf(row);
      const recomputed = auditHash(prevHash, record, row.payload);
      if (record.seq !== expectedSeq || record.prevHash !== prevHash || record.hash !== recomputed) {
        return { verification: { intact: false, checked, firstBrokenSeq: Math.min(record.seq, expectedSeq) }, head: { seq: expectedSeq - 1, hash: prevHash }, hashesAt };
      }
      if (watch.has(record.seq)) hashesAt.set(record.seq, record.hash);
      prevHash = record.hash;
      expectedSeq += 1;
      checked += 1;
    }
    if (page.rows.length < pageSize) return { verification: { intact: true, checked }, head: { seq: expectedSeq - 1, hash: prevHash }, hashesAt };
  }
}

/** The newest record's seq and hash (seq 0 and the genesis hash for an empty chain). */
export async function auditHead(db: Queryable): Promise<{ seq: number; hash: string }> {
  const { rows: [last] } = await db.query<{ seq: string | number; hash: string }>('select seq, hash from audit order by seq desc limit 1');
  return last ? { seq: Number(last.seq), hash: last.hash } : { seq: 0, hash: GENESIS_HASH };
}

/** Records as stored, payload as its exact text (what the hash covers): what an export carries. */
export interface StoredAuditRecord extends Omit<AuditRecord, 'payload'> {
  payload: string;
}

/** Records with seq in [fromSeq, toSeq], or whose entity is one of `entityIds`, in seq order, payload text verbatim. */
export async function storedAuditRecords(db: Queryable, select: { fromSeq: number; toSeq: number } | { entityIds: string[]; toSeq: number }): Promise<StoredAuditRecord[]> {
  const { rows } = 'entityIds' in select
    ? await db.query<AuditRow>('select * from audit where entity_id = any($1::text[]) and seq <= $2 order by seq', [select.entityIds, select.toSeq])
    : await db.query<AuditRow>('select * from audit where seq between $1 and $2 order by seq', [select.fromSeq, select.toSeq]);
  return rows.map((row) => ({ ...auditRecordOf(row), payload: row.payload }));
}

export interface AuditFilter {
  limit: number;
  beforeSeq?: number;
  entityId?: string;
  /** One action, e.g. `study.viewed`. */
  action?: string;
}

export async function listAudit(db: Queryable, options: AuditFilter): Promise<AuditRecord[]> {
  const result = await db.query<AuditRow>(
    `select * from audit
      where ($1::bigint is null or seq < $1) and ($2::text is null or entity_id = $2) and ($4::text is null or action = $4)
      order by seq desc limit $3`,
    [options.beforeSeq ?? null, options.entityId ?? null, options.limit, options.action ?? null],
  );
  return result.rows.map(auditRecordOf);
}

/** An audit row as the database answers it (`select *`). */
export interface AuditRow {
  idempotency_key: string | null;
  seq: string | number;
  at: string;
  actor: string;
  action: string;
  entity_type: string;
  entity_id: string;
  payload: string;
  prev_hash: string;
  hash: string;
}

export function auditRecordOf(row: AuditRow): AuditRecord {
  return {
    seq: Number(row.seq),
    at: row.at,
    actor: row.actor,
    action: row.action,
    entityType: row.entity_type,
    entityId: row.entity_id,
    payload: parsePayload(row.payload),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** A tampered payload may not even be JSON; verification must report it, not crash. */
function parsePayload(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { unparseable: text };
  }
}
