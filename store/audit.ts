import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import type { Queryable } from './db.ts';

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

/** Arbitrary constant shared by every appender: the chain has one writer at a time. */
const AUDIT_LOCK = 7_301_002;

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

/** Appends one record to the chain inside the caller's transaction; see appendAudits. */
export async function appendAudit(tx: Queryable, entry: AuditEntry): Promise<AuditRecord> {
  return (await appendAudits(tx, [entry]))[0];
}

const AUDIT_COLUMNS = 10;

/**
 * Appends records to the chain, in order, inside the caller's transaction.
 *
 * Contract: takes a transaction-scoped advisory lock, so concurrent appenders (any
 * process, any connection) serialise and can never fork the chain; the lock is held
 * until the caller's transaction ends. An entry whose `idempotencyKey` already exists
 * (in the table or earlier in the batch) returns the existing record and writes
 * nothing. Every other entry gets seq = previous + 1 and hash = sha256(prevHash,
 * canonical record). Three round trips however many entries: lock, chain head with the
 * known keys, one insert.
 */
export async function appendAudits(tx: Queryable, entries: AuditEntry[]): Promise<AuditRecord[]> {
  await tx.query('select pg_advisory_xact_lock($1)', [AUDIT_LOCK]);
  const keys = entries.map((e) => e.idempotencyKey).filter((k): k is string => k !== undefined);
  const { rows: [state] } = await tx.query<{ existing: AuditRow[] | null; last: { seq: number; hash: string } | null }>(
    `select (select json_agg(a) from audit a where idempotency_key = any($1)) as existing,
            (select row_to_json(l) from (select seq, hash from audit order by seq desc limit 1) l) as last`,
    [keys]);
  const byKey = new Map((state.existing ?? []).map((row) => [row.idempotency_key!, fromRow(row)]));
  let prevHash = state.last?.hash ?? GENESIS_HASH;
  let seq = Number(state.last?.seq ?? 0);
  const at = new Date().toISOString();
  const records: AuditRecord[] = [];
  const values: unknown[] = [];
  for (const entry of entries) {
    const known = entry.idempotencyKey ? byKey.get(entry.idempotencyKey) : undefined;
    if (known) {
      records.push(known);
      continue;
    }
    const header = { seq: ++seq, at, actor: entry.actor, action: entry.action, entityType: entry.entityType, entityId: entry.entityId };
    const payloadText = canonicalJson(entry.payload);
    const hash = auditHash(prevHash, header, payloadText);
    values.push(header.seq, header.at, header.actor, header.action, header.entityType, header.entityId,
      payloadText, entry.idempotencyKey ?? null, prevHash, hash);
    const record = { ...header, payload: JSON.parse(payloadText) as Record<string, unknown>, prevHash, hash };
    if (entry.idempotencyKey) byKey.set(entry.idempotencyKey, record);
    records.push(record);
    prevHash = hash;
  }
  if (values.length > 0) {
    const rows = Array.from({ length: values.length / AUDIT_COLUMNS }, (_, r) =>
      `(${Array.from({ length: AUDIT_COLUMNS }, (_, c) => `$${r * AUDIT_COLUMNS + c + 1}`).join(', ')})`);
    await tx.query(
      `insert into audit (seq, at, actor, action, entity_type, entity_id, payload, idempotency_key, prev_hash, hash)
       values ${rows.join(', ')}`,
      values,
    );
  }
  return records;
}

export interface AuditVerification {
  intact: boolean;
  checked: number;
  firstBrokenSeq?: number;
}

/**
 * Replays the chain from the start: each record's hash must equal the hash recomputed
 * from its content and the previous record's hash, and seq must have no gaps. Names
 * the first record where that fails.
 */
export async function verifyAudit(db: Queryable, pageSize = 1000): Promise<AuditVerification> {
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let checked = 0;
  for (;;) {
    const page = await db.query<AuditRow>('select * from audit where seq >= $1 order by seq limit $2', [expectedSeq, pageSize]);
    for (const row of page.rows) {
      const record = fromRow(row);
      const recomputed = auditHash(prevHash, record, row.payload);
      if (record.seq !== expectedSeq || record.prevHash !== prevHash || record.hash !== recomputed) {
        return { intact: false, checked, firstBrokenSeq: Math.min(record.seq, expectedSeq) };
      }
      prevHash = record.hash;
      expectedSeq += 1;
      checked += 1;
    }
    if (page.rows.length < pageSize) return { intact: true, checked };
  }
}

export async function listAudit(db: Queryable, options: { limit: number; beforeSeq?: number; entityId?: string }): Promise<AuditRecord[]> {
  const result = await db.query<AuditRow>(
    `select * from audit
      where ($1::bigint is null or seq < $1) and ($2::text is null or entity_id = $2)
      order by seq desc limit $3`,
    [options.beforeSeq ?? null, options.entityId ?? null, options.limit],
  );
  return result.rows.map(fromRow);
}

interface AuditRow {
  idempotency_key?: string | null;
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

function fromRow(row: AuditRow): AuditRecord {
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
