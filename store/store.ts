/**
 * The store: one object over one database, composed of its aggregates. Studies
 * (studies.ts writes, study-reads.ts reads), the reader's reviews and findings
 * (reviews.ts), consent (consent.ts), calculation audits (calculations.ts), reads of patient data (read-audits.ts), agreement (agreement.ts), CDS Hooks cards and feedback (cds-hooks.ts) and the
 * audit trail (audit.ts; its seal and checkpoints in audit-anchor.ts, what leaves for
 * outside verification in audit-trail.ts); what they share is in shared.ts.
 */
import { agreementReads } from './agreement.ts';
import { modelDriftAccess } from './model-drift.ts';
import { deploymentAccess } from './deployments.ts';
import { modelComparisonReads } from './model-comparison.ts';
import { aiResultsReads } from './ai-results.ts';
import { listAudit, type AuditFilter } from './audit.ts';
import { auditTrail } from './audit-trail.ts';
import { calculationAudits } from './calculations.ts';
import { cdsHooksAccess } from './cds-hooks.ts';
import { consentAccess } from './consent.ts';
import { consultationAccess } from './consultations.ts';
import { fhirReads } from './fhir-reads.ts';
import { readAudits } from './read-audits.ts';
import type { Database } from './db.ts';
import { reviewWrites } from './reviews.ts';
import { bindContext, type StoreContext, type StoreOptions } from './shared.ts';
import { newStudyPriority, studyWrites } from './studies.ts';
import { studyIndex } from './study-index.ts';
import { studyReads } from './study-reads.ts';
import { ALL_SITES, siteAccess } from './sites.ts';
import { surveillanceAccess } from './surveillance.ts';
import { accountCare } from './accounts.ts';
import { userAccess } from './users.ts';
import { vitalsAccess } from './vitals.ts';
import { degradationAudit } from './degradation.ts';
import { signInCache } from './sign-in-cache.ts';

export { ALL_SITES, type SiteScope } from './sites.ts';
export { ConsultationRefusedError, type ConsultationActor } from './consultations.ts';
export { AuditBrokenError, AuditUnavailableError, InvalidReferenceError, NotApplicableError, NotFoundError, UnstorableTextError, type StoreOptions } from './shared.ts';

export type Store = ReturnType<typeof createStore>;

export function createStore(db: Database, options: StoreOptions) {
  const context: StoreContext = { db, options, signIns: signInCache(options.soleWriter ?? false) };
  const { close: closeCalculations, calculationAuditStatus, appendLater, ...calculations } = calculationAudits(context);
  const { close: closeReads, ...readAudit } = readAudits(context, { appendLater, unwritten: () => calculationAuditStatus().pending });
  const reads = bindContext(context, { ...studyWrites, ...reviewWrites, ...studyReads, ...studyIndex, ...agreementReads, ...modelComparisonReads, ...userAccess, ...accountCare, ...siteAccess, ...consentAccess, ...consultationAccess, ...aiResultsReads, ...fhirReads, ...cdsHooksAccess, ...surveillanceAccess, ...vitalsAccess, ...modelDriftAccess, ...deploymentAccess, ...degradationAudit });
  const { stop: stopTrail, status: trailStatus, ...trail } = auditTrail(context, (uid) => reads.getWholeStudy(uid, ALL_SITES));
  return {
    db,
    newStudyPriority: newStudyPriority(options.prioritise),
    ...reads,
    ...calculations,
    ...readAudit,
    ...trail,

    /** Whether every audit record made is in the chain and the head is checkpointed: what health reads. */
    auditStatus() {
      const records = calculationAuditStatus();
      const checkpoints = trailStatus();
      return { state: records.state === 'ok' && checkpoints.state === 'ok' ? 'ok' as const : 'degraded' as const, records, checkpoints };
    },

    /** Writes what is waiting (spooling what cannot be), checkpoints the head, then closes the database. */
    async close(): Promise<void> {
      closeReads();
      await closeCalculations();
      await stopTrail();
      await db.close();
    },

    listAudit: (options: AuditFilter) => listAudit(db, options),
  };
}
