import { z } from 'zod';

/** `GET /v1/audit`: newest first, a page at a time (`before` = the last `seq` seen). */
export const auditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before: z.coerce.number().int().min(1).optional(),
  entityId: z.string().max(200).optional(),
});

/** One link of the hash-chained audit trail: who did what to which entity, and when. */
export const auditRecord = z.object({
  seq: z.number().int(),
  at: z.string(),
  /** Who acted: a person, or a component (`worker:…`, `stow-rs`). */
  actor: z.string(),
  /** e.g. `instance.received`, `finding.created`, `finding.reviewed`, `calculation.risk`. */
  action: z.string(),
  entityType: z.string(),
  entityId: z.string(),
  payload: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
}).meta({ id: 'AuditRecord' });

export const auditPage = z.object({ items: z.array(auditRecord) }).meta({ id: 'AuditPage' });

/** The whole chain re-hashed: `firstBrokenSeq` names the first row that does not follow from the one before. */
export const auditVerification = z.object({
  intact: z.boolean(),
  checked: z.number().int(),
  firstBrokenSeq: z.number().int().optional(),
}).meta({ id: 'AuditVerification' });

export type AuditQuery = z.input<typeof auditQuery>;
export type AuditRecord = z.infer<typeof auditRecord>;
export type AuditVerification = z.infer<typeof auditVerification>;
