/**
 * The audit trail as the store offers it: verify (anchored when a seal is configured),
 * checkpoint on demand, export a segment, issue a study's accountability bundle.
 */
import { auditHead, storedAuditRecords, verifyAudit } from './audit.ts';
import { auditCheckpoints, type AnchoredVerification } from './audit-anchor.ts';
import { buildBundle, buildSegment, studyEntityIds, type AccountabilityBundle, type AuditSegment } from './audit-export.ts';
import { signHead, type SignedHead } from './audit-seal.ts';
import { AuditBrokenError, AuditUnavailableError, type StoreContext } from './shared.ts';
import type { StudyDetail } from './types.ts';

/** Most records one segment carries; export the rest as further segments (`from` = the last `to` + 1). */
export const MAX_SEGMENT_RECORDS = 50_000;

export function auditTrail({ db, options }: StoreContext, getStudy: (uid: string) => Promise<StudyDetail>) {
  const seal = options.auditSeal;
  const anchor = seal ? auditCheckpoints(db, seal, (error) => options.onAuditError?.(error)) : undefined;
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
    /** The whole chain re-hashed and, when sealed, compared with every checkpoint. */
    verifyAudit: (): Promise<AnchoredVerification | Awaited<ReturnType<typeof verifyAudit>>> => (anchor ? anchor.verify() : verifyAudit(db)),

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

    status: () => anchor?.status() ?? { state: 'ok' as const },
    stop: async () => anchor?.stop(),
  };
}
