import { appendAudit, auditedTransaction } from './audit.ts';
import type { StoreContext } from './shared.ts';

/** One change of the degradation step (queue/degradation.ts), as the API role's controller made it. */
export interface DegradationChange {
  /** The shared step's change number (queue/latency.ts) and when the new step began: together they key the record. */
  change: number;
  since: number;
  from: string;
  to: string;
  reason: string;
  pressure: { all: number; urgent: number };
  breaching: string[];
}

/** The audit side of the latency promise: no table, the trail is the history of the ladder's steps. */
export const degradationAudit = {
  /** Appends `queue.degradation` (actor: lantern, the system decided); a second append of the same change is a no-op. */
  async recordDegradationStep({ db }: StoreContext, change: DegradationChange): Promise<void> {
    await auditedTransaction(db, (tx) => appendAudit(tx, {
      actor: 'lantern',
      action: 'queue.degradation',
      entityType: 'queue',
      entityId: 'read-assist',
      payload: { from: change.from, to: change.to, reason: change.reason, pressure: change.pressure, breaching: change.breaching, since: new Date(change.since).toISOString() },
      idempotencyKey: `queue.degradation:${change.change}:${change.since}`,
    }));
  },
};
