/** The audit of synchronous calculations (risk, score, triage), group-committed so that answering never waits for the database. */
import { appendAudits, auditedTransaction, type AuditEntry } from './audit.ts';
import type { StoreContext } from './shared.ts';

/** How long a calculation's audit record may wait to share a transaction with others. */
const GROUP_COMMIT_MS = 20;

/** One store's calculation audits: `recordCalculation`, and `flush` for what is still waiting when it closes. */
export function calculationAudits({ db, options }: StoreContext) {
  const pending: AuditEntry[] = [];
  let flushTimer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();

  /** Appends every waiting calculation audit in one transaction; on failure keeps them for the next flush. */
  function flush(): Promise<void> {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    flushing = flushing.then(async () => {
      const batch = pending.splice(0);
      if (batch.length === 0) return;
      try {
        await auditedTransaction(db, (tx) => appendAudits(tx, batch));
      } catch (error) {
        pending.unshift(...batch);
        options.onAuditError?.(error);
        flushTimer ??= setTimeout(flush, 1000);
      }
    });
    return flushing;
  }

  return {
    /**
     * Audits one synchronous calculation (risk, score, triage) for a clinician: which
     * model, what it was given and what it answered.
     *
     * Contract: group commit. The record joins the others made within GROUP_COMMIT_MS
     * and they are appended in one transaction, after the answer has left: a
     * sub-millisecond calculation must not wait for a database round trip. A crash in
     * that window loses those records; a failed commit keeps and retries them. Stored
     * clinical facts (findings, reviews, assessments) are never written this way.
     */
    recordCalculation(actor: string, calculation: { kind: string; model: { id: string; version: string; sha256: string }; inputs: unknown; result: unknown }): void {
      pending.push({
        actor,
        action: `${calculation.kind}.calculated`,
        entityType: 'model',
        entityId: `${calculation.model.id}@${calculation.model.version}`,
        payload: calculation as unknown as Record<string, unknown>,
      });
      flushTimer ??= setTimeout(flush, GROUP_COMMIT_MS);
    },
    flush,
  };
}
