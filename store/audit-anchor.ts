/**
 * The chain anchored outside the database: checkpoints of its signed head taken
 * periodically, on demand and at close, and a verification that compares the chain with
 * them. The hash chain alone detects an edited, deleted or swapped record; the
 * checkpoints add truncation (a head older than one signed before) and re-hashing (a
 * different hash at a signed seq), which a chain without a key cannot see. The heads a
 * remote witness holds (audit-witness.ts) are compared the same way, and catch what the
 * file cannot: a checkpoint file rewritten and re-signed by whoever holds the key.
 */
import { auditHead, GENESIS_HASH, replayChain, type AuditVerification } from './audit.ts';
import { appendCheckpoint, headSignatureValid, readCheckpoints, signHead, type AuditKey, type SignedHead } from './audit-seal.ts';
import type { WitnessTarget } from './audit-witness.ts';
import type { Queryable } from './db.ts';
import { AuditBrokenError } from './shared.ts';

export interface AuditSeal {
  key: AuditKey;
  /** Append-only file of signed heads. */
  checkpointFile: string;
  /** How often the head is checkpointed when it moved; 0 = only on demand and at close. */
  intervalMs: number;
  /** Where each checkpoint is also sent, to be remembered outside this box; none by default. */
  witness?: WitnessTarget;
}

export interface AnchoredVerification extends AuditVerification {
  /**
   * What only the checkpoints reveal: a truncation, a re-hash, or a checkpoint that is not
   * validly signed. Absent when the chain itself breaks (`firstBrokenSeq` does not follow
   * from the record before it: edited, deleted or moved).
   */
  reason?: 'truncated' | 'rewritten' | 'checkpoint';
  detail?: string;
  anchor?: {
    /** Checkpoints signed by this key and compared with the chain. */
    checkpoints: number;
    latest?: { seq: number; hash: string; at: string };
    /** Records newer than the latest checkpoint: not yet protected against truncation or re-hashing. */
    unanchored: number;
  };
}

/**
 * Replays the chain and compares it with every checkpoint (and every head `witnessed`
 * elsewhere): the newest signed seq must still exist, and at every signed seq the stored
 * hash must be the signed one.
 */
export async function verifyAnchored(db: Queryable, key: Pick<AuditKey, 'publicKey' | 'keyId'>, lines: (SignedHead | null)[], witnessed: SignedHead[] = []): Promise<AnchoredVerification> {
  const invalid = lines.findIndex((h) => h === null || (h.keyId === key.keyId && !headSignatureValid(key, h)));
  const forgedWitnessed = witnessed.find((h) => !headSignatureValid(key, h));
  const heads = [...lines, ...witnessed].filter((h): h is SignedHead => h !== null && h.keyId === key.keyId && h.seq > 0);
  const { verification, head, hashesAt } = await replayChain(db, new Set(heads.map((h) => h.seq)));
  const latest = heads.reduce<SignedHead | undefined>((a, h) => (!a || h.seq > a.seq ? h : a), undefined);
  const anchor = {
    checkpoints: heads.length,
    ...(latest ? { latest: { seq: latest.seq, hash: latest.hash, at: latest.at } } : {}),
    unanchored: Math.max(0, head.seq - (latest?.seq ?? 0)),
  };
  // A break in the chain itself keeps the answer it always had: the first record that does not follow.
  if (!verification.intact) return verification;
  if (invalid >= 0) {
    return { ...verification, intact: false, reason: 'checkpoint', detail: `checkpoint line ${invalid + 1} is not a validly signed head: the checkpoint file was altered`, anchor };
  }
  if (forgedWitnessed) {
    return { ...verification, intact: false, reason: 'checkpoint', detail: `the witness holds a head at seq ${forgedWitnessed.seq} not validly signed by this chain's key: the witness's store was altered`, anchor };
  }
  if (latest && latest.seq > head.seq) {
    return { ...verification, intact: false, firstBrokenSeq: head.seq + 1, reason: 'truncated',
      detail: `the chain ends at ${head.seq} but a head at ${latest.seq} was signed at ${latest.at}: records ${head.seq + 1}–${latest.seq} were removed`, anchor };
  }
  let matched = 0;
  for (const signed of [...heads].sort((a, b) => a.seq - b.seq)) {
    if (hashesAt.get(signed.seq) !== signed.hash) {
      return { ...verification, intact: false, firstBrokenSeq: signed.seq, reason: 'rewritten',
        detail: `the hash at ${signed.seq} differs from the one signed at ${signed.at}: a record in ${matched + 1}–${signed.seq} was rewritten and the chain re-hashed`, anchor };
    }
    matched = signed.seq;
  }
  return { ...verification, anchor };
}

/**
 * Checkpoints of one store's chain: `checkpoint()` on demand, a timer between `start()` and
 * `stop()`, one at stop. `onSigned` hears of each head appended, and of the newest one in
 * the file at once (a witness it may not have reached yet).
 */
export function auditCheckpoints(db: Queryable, seal: AuditSeal, onError: (error: unknown) => void, onSigned?: (head: SignedHead) => void) {
  const valid = readCheckpoints(seal.checkpointFile).filter((h): h is SignedHead => h !== null && headSignatureValid(seal.key, h));
  let last = valid.reduce<SignedHead | undefined>((a, h) => (!a || h.seq >= a.seq ? h : a), undefined);
  if (last) onSigned?.(last);
  let chain: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let lastError: { message: string; at: string } | undefined;

  /**
   * Signs and appends the current head when it moved. Refuses to sign a head that does
   * not extend the last checkpoint (shorter, or another hash at its seq): that is the
   * tampering checkpoints exist to reveal, and signing it would bless it.
   */
  async function take(): Promise<SignedHead> {
    const head = await auditHead(db);
    if (last && last.seq === head.seq && last.hash === head.hash) return last;
    if (last && last.seq > 0) {
      const { rows: [then] } = await db.query<{ hash: string }>('select hash from audit where seq = $1', [last.seq]);
      if (head.seq < last.seq || then?.hash !== last.hash) {
        throw new AuditBrokenError(`the audit chain no longer extends the head signed at ${last.at} (seq ${last.seq}); refusing to sign it: run lantern audit verify`);
      }
    }
    const signed = signHead(seal.key, head.seq === 0 ? { seq: 0, hash: GENESIS_HASH } : head);
    appendCheckpoint(seal.checkpointFile, signed);
    last = signed;
    onSigned?.(signed);
    return signed;
  }

  function checkpoint(): Promise<SignedHead> {
    const result = chain.then(take);
    chain = result.then(() => { lastError = undefined; }, (error: Error) => {
      lastError = { message: error.message, at: new Date().toISOString() };
      onError(error);
    });
    return result;
  }

  return {
    checkpoint,
    start() {
      if (seal.intervalMs > 0) timer ??= setInterval(() => { checkpoint().catch(() => undefined); }, seal.intervalMs).unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await checkpoint().catch(() => undefined);
    },
    verify: (witnessed?: SignedHead[]) => verifyAnchored(db, seal.key, readCheckpoints(seal.checkpointFile), witnessed),
    status: () => ({
      state: lastError ? 'degraded' as const : 'ok' as const,
      ...(last ? { lastCheckpoint: { seq: last.seq, at: last.at } } : {}),
      ...(lastError ? { checkpointError: lastError.message } : {}),
    }),
    /** Checkpoints with seq in [from, to], for an export. */
    headsBetween: (from: number, to: number) =>
      readCheckpoints(seal.checkpointFile).filter((h): h is SignedHead => h !== null && h.keyId === seal.key.keyId && h.seq >= from && h.seq <= to),
  };
}
