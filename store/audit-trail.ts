/**
 * The audit trail as the store offers it: verify (anchored when a seal is configured, and
 * against the remote witness's heads on request), checkpoint on demand (each checkpoint
 * also sent to the witness when one is configured), export a segment, issue a study's
 * accountability bundle; and hold the heads of other Lanterns as their witness.
 */
import { auditHead, storedAuditRecords, verifyAudit } from './audit.ts';
import { auditCheckpoints, type AnchoredVerification } from './audit-anchor.ts';
import { buildBundle, buildSegment, studyEntityIds, type AccountabilityBundle, type AuditSegment } from './audit-export.ts';
import { signHead, type SignedHead } from './audit-seal.ts';
import { auditWitness, fetchWitnessedHeads } from './audit-witness.ts';
import { AuditBrokenError, AuditUnavailableError, bindContext, type StoreContext } from './shared.ts';
import { witnessedHeads } from './witnessed-heads.ts';
import type { StudyDetail } from './types.ts';

/** Most records one segment carries; export the rest as further segments (`from` = the last `to` + 1). */
export const MAX_SEGMENT_RECORDS = 50_000;

export function auditTrail(context: StoreContext, getStudy: (uid: string) => Promise<StudyDetail>) {
  const { db, options } = context;
  const seal = options.auditSeal;
  const onError = (error: unknown) => options.onAuditError?.(error);
  const witness = seal?.witness && auditWitness(seal.witness, seal.key, onError);
  const anchor = seal ? auditCheckpoints(db, seal, onError, witness?.offer) : undefined;
  anchor?.start();

  const sealed = () => {
    if (!anchor || !seal) throw new AuditUnavailableError('audit signing is not configured for this store');
    return { anchor, key: seal.key };
  };
  /** Signing over a chain that does not verify would lend it credibility: refuse, naming why. */
  async function verifiedOrThrow(): Promise<AnchoredVerification> {
    const verification = await sealed().anchor.verify();
    if (!verification.intact) throw new AuditBrokenError(`the audit chain does not verify (${verification.detail}); nothing is signed over it`);
    return verification;
  }

  return {
    /** This Lantern as another's witness: heads taken and handed back (witnessed-heads.ts). */
    ...bindContext(context, witnessedHeads),

    /** The whole chain re-hashed and, when sealed, compared with every checkpoint. */
    verifyAudit: (): Promise<AnchoredVerification | Awaited<ReturnType<typeof verifyAudit>>> => (anchor ? anchor.verify() : verifyAudit(db)),

    /**
     * The same, also compared with every head the configured witness holds for this chain's
     * key: what catches a checkpoint file rewritten with the key. Throws
     * WitnessUnreachableError when the witness cannot be asked, AuditUnavailableError when none is configured.
     */
    async verifyAuditWithWitness() {
      const { anchor: sealedAnchor, key } = sealed();
      if (!seal?.witness) throw new AuditUnavailableError('no audit witness is configured (LANTERN_AUDIT_WITNESS_URL)');
      const heads = await fetchWitnessedHeads(seal.witness, key.keyId);
      const latest = heads.reduce<SignedHead | undefined>((a, h) => (!a || h.seq > a.seq ? h : a), undefined);
      const verification = await sealedAnchor.verify(heads);
      return { ...verification, witness: { url: seal.witness.url, heads: heads.length, ...(latest ? { latest: { seq: latest.seq, hash: latest.hash, at: latest.at } } : {}) } };
    },

    /** Signs the current head and appends it to the checkpoint file (when it moved). */
    checkpointAudit: (): Promise<SignedHead> => sealed().anchor.checkpoint(),

    /** Records `from`–`to` (default: to the head, at most MAX_SEGMENT_RECORDS) with the signed heads covering them. */
    async exportAudit(range: { from?: number; to?: number } = {}): Promise<AuditSegment> {
      const { anchor, key } = sealed();
      await verifiedOrThrow();
      await anchor.checkpoint();
      const head = await auditHead(db);
      const from = Math.max(1, range.from ?? 1);
      const to = Math.min(range.to ?? head.seq, head.seq, from + MAX_SEGMENT_RECORDS - 1);
      if (to < from) throw new AuditUnavailableError(`the chain has no records from ${from} (its head is ${head.seq})`);
      const records = await storedAuditRecords(db, { fromSeq: from, toSeq: to });
      const heads = anchor.headsBetween(from, to);
      // A segment ending before the head gets a head of its own, signed over the chain just verified.
      if (!heads.some((h) => h.seq === to)) heads.push(signHead(key, { seq: to, hash: records.at(-1)!.hash }));
      return buildSegment(key, records, heads, { from, to });
    },

    /** Images' hashes, findings with provenance, decisions and their audit records under a fresh signed head, signed. */
    async auditBundle(studyInstanceUid: string): Promise<AccountabilityBundle> {
      const { anchor, key } = sealed();
      const detail = await getStudy(studyInstanceUid);
      const verification = await verifiedOrThrow();
      const head = await anchor.checkpoint();
      const records = await storedAuditRecords(db, { entityIds: studyEntityIds(detail), toSeq: head.seq });
      return buildBundle(key, detail, records, head, verification.checked);
    },

    status() {
      const checkpoints = anchor?.status() ?? { state: 'ok' as const };
      if (!witness) return checkpoints;
      const remote = witness.status();
      return { ...checkpoints, state: checkpoints.state === 'ok' && remote.state === 'ok' ? 'ok' as const : 'degraded' as const, witness: remote };
    },
    async stop() {
      await anchor?.stop();
      await witness?.stop();
    },
  };
}
