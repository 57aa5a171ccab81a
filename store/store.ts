/**
 * The store: one object over one database, composed of its aggregates. Studies
 * (studies.ts writes, study-reads.ts reads), the reader's reviews and findings
 * (reviews.ts), calculation audits (calculations.ts), agreement (agreement.ts) and the
 * audit trail (audit.ts); what they share is in shared.ts.
 */
import { agreementReads } from './agreement.ts';
import { listAudit, verifyAudit } from './audit.ts';
import { calculationAudits } from './calculations.ts';
import type { Database } from './db.ts';
import { reviewWrites } from './reviews.ts';
import { bindContext, type StoreContext, type StoreOptions } from './shared.ts';
import { newStudyPriority, studyWrites } from './studies.ts';
import { studyReads } from './study-reads.ts';

export { InvalidReferenceError, NotApplicableError, NotFoundError, type StoreOptions } from './shared.ts';

export type Store = ReturnType<typeof createStore>;

export function createStore(db: Database, options: StoreOptions) {
  const context: StoreContext = { db, options };
  const { flush: flushCalculations, ...calculations } = calculationAudits(context);
  return {
    db,
    newStudyPriority: newStudyPriority(options.prioritise),
    ...bindContext(context, { ...studyWrites, ...reviewWrites, ...studyReads, ...agreementReads }),
    ...calculations,

    /** Writes what is waiting, then closes the database. */
    async close(): Promise<void> {
      await flushCalculations();
      await db.close();
    },

    listAudit: (options: { limit: number; beforeSeq?: number; entityId?: string }) => listAudit(db, options),
    verifyAudit: () => verifyAudit(db),
  };
}
