/**
 * This Lantern as another's audit witness: the signed heads of other Lanterns' chains,
 * append-only (migration 013), each one also a record of this Lantern's own chain in the
 * same transaction. A head is taken only if it is validly signed by the key its keyId was
 * first introduced with, and only if it cannot be a rewrite of what was witnessed before:
 * another hash at a witnessed seq, or a seq below the newest witnessed one, is refused —
 * and the head already held stays as the evidence.
 */
import { appendAudit, auditedTransaction } from './audit.ts';
import { headSignatureValid, parsePublicKey, publicKeyPem, type SignedHead } from './audit-seal.ts';
import { iso, NotFoundError, type StoreContext } from './shared.ts';

export type WitnessRefusalCode = 'WITNESS_KEY_UNKNOWN' | 'WITNESS_KEY_MISMATCH' | 'HEAD_SIGNATURE_INVALID' | 'AUDIT_HEAD_CONFLICT' | 'AUDIT_HEAD_ROLLBACK';

/** A head the witness will not hold; `AUDIT_HEAD_CONFLICT` and `AUDIT_HEAD_ROLLBACK` are evidence that the sender's chain was rewritten. */
export class WitnessRefusal extends Error {
  constructor(readonly code: WitnessRefusalCode, message: string) {
    super(message);
  }
}

export interface WitnessedHeads {
  keyId: string;
  publicKey: string;
  introducedBy: string;
  introducedAt: string;
  heads: (SignedHead & { receivedAt: string; receivedBy: string })[];
}

interface HeadRow {
  seq: string | number;
  hash: string;
  at: string;
  signature: string;
  received_by: string;
  received_at: string;
}

export const witnessedHeads = {
  /**
   * Contract: one audited transaction; refusals (WitnessRefusal) write nothing. The first
   * head of an unknown keyId must carry `publicKey`, whose own id must be that keyId; it is
   * stored with the head. A head already held (same seq and hash) is `already`, with no new
   * record; otherwise the head row and `audit.head-witnessed` (actor = the sender's account)
   * are written: `new`. Safe to run twice.
   */
  async witnessHead({ db }: StoreContext, head: SignedHead & { publicKey?: string }, actor: string): Promise<'new' | 'already'> {
    return auditedTransaction(db, async (tx) => {
      const { rows: [known] } = await tx.query<{ public_key: string }>('select public_key from audit_witness_keys where key_id = $1', [head.keyId]);
      if (!known && !head.publicKey) throw new WitnessRefusal('WITNESS_KEY_UNKNOWN', `key ${head.keyId} is new to this witness: send its publicKey with the head`);
      let key;
      try {
        key = parsePublicKey(known?.public_key ?? head.publicKey!);
      } catch (error) {
        throw new WitnessRefusal('WITNESS_KEY_MISMATCH', `the publicKey is not a usable Ed25519 key: ${(error as Error).message}`);
      }
      if (key.keyId !== head.keyId) throw new WitnessRefusal('WITNESS_KEY_MISMATCH', `the publicKey's id is ${key.keyId}, not the head's keyId ${head.keyId}`);
      if (!headSignatureValid(key, head)) throw new WitnessRefusal('HEAD_SIGNATURE_INVALID', `the head at seq ${head.seq} is not signed by key ${head.keyId}`);

      const { rows: [held] } = await tx.query<{ hash: string; received_at: string }>('select hash, received_at from audit_witness_heads where key_id = $1 and seq = $2', [head.keyId, head.seq]);
      if (held?.hash === head.hash) return 'already';
      if (held) {
        throw new WitnessRefusal('AUDIT_HEAD_CONFLICT', `a head at seq ${head.seq} with another hash was witnessed at ${iso(held.received_at)}: the chain was rewritten and re-signed`);
      }
      const { rows: [newest] } = await tx.query<{ seq: string | number | null }>('select max(seq) as seq from audit_witness_heads where key_id = $1', [head.keyId]);
      if (newest?.seq != null && Number(newest.seq) > head.seq) {
        throw new WitnessRefusal('AUDIT_HEAD_ROLLBACK', `a head at seq ${Number(newest.seq)} was witnessed before; a new head at ${head.seq} means the chain went back (truncated or rewritten)`);
      }
      if (!known) await tx.query('insert into audit_witness_keys (key_id, public_key, introduced_by) values ($1, $2, $3)', [head.keyId, publicKeyPem(key), actor]);
      await tx.query('insert into audit_witness_heads (key_id, seq, hash, at, signature, received_by) values ($1, $2, $3, $4, $5, $6)',
        [head.keyId, head.seq, head.hash, head.at, head.signature, actor]);
      await appendAudit(tx, {
        actor, action: 'audit.head-witnessed', entityType: 'audit-key', entityId: head.keyId,
        payload: { seq: head.seq, hash: head.hash, at: head.at, signature: head.signature, introducedKey: !known },
      });
      return 'new';
    });
  },

  /** Contract: one audited transaction; every head held for `keyId`, oldest first, and `audit.witness-read` (actor = the reader). NotFoundError for a key never introduced. */
  async witnessedHeadsOf({ db }: StoreContext, keyId: string, actor: string): Promise<WitnessedHeads> {
    return auditedTransaction(db, async (tx) => {
      const { rows: [key] } = await tx.query<{ public_key: string; introduced_by: string; introduced_at: string }>('select * from audit_witness_keys where key_id = $1', [keyId]);
      if (!key) throw new NotFoundError(`this witness holds no head of key ${keyId}`);
      const { rows } = await tx.query<HeadRow>('select * from audit_witness_heads where key_id = $1 order by seq', [keyId]);
      await appendAudit(tx, { actor, action: 'audit.witness-read', entityType: 'audit-key', entityId: keyId, payload: { heads: rows.length } });
      return {
        keyId,
        publicKey: key.public_key,
        introducedBy: key.introduced_by,
        introducedAt: iso(key.introduced_at),
        heads: rows.map((r) => ({ seq: Number(r.seq), hash: r.hash, at: r.at, keyId, signature: r.signature, receivedBy: r.received_by, receivedAt: iso(r.received_at) })),
      };
    });
  },
};
