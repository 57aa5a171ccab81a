import { z } from 'zod';

/** `GET /v1/audit`: newest first, a page at a time (`before` = the last `seq` seen). */
export const auditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before: z.coerce.number().int().min(1).optional(),
  entityId: z.string().max(200).optional(),
  /** Only records of this action, e.g. `study.viewed` (who opened which study). */
  action: z.string().regex(/^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*$/, 'an action name, e.g. study.viewed').max(100).optional(),
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

/** A chain head (seq, hash) signed with the audit's Ed25519 key (kept outside the database); `signature` is over the canonical JSON of the other fields. */
export const signedHead = z.object({
  seq: z.number().int(),
  hash: z.string(),
  at: z.string(),
  keyId: z.string(),
  signature: z.string(),
}).meta({ id: 'SignedAuditHead' });

/**
 * The whole chain re-hashed and compared with every signed checkpoint. Without `reason`,
 * `firstBrokenSeq` names the first row that does not follow from the one before (edited,
 * deleted, moved); `reason` names what only the checkpoints reveal: `truncated` (the first
 * removed row), `rewritten` (the signed seq whose hash a re-hashing changed), `checkpoint`
 * (a checkpoint line not validly signed).
 */
export const auditVerification = z.object({
  intact: z.boolean(),
  checked: z.number().int(),
  firstBrokenSeq: z.number().int().optional(),
  reason: z.enum(['truncated', 'rewritten', 'checkpoint']).optional(),
  detail: z.string().optional(),
  anchor: z.object({
    checkpoints: z.number().int(),
    latest: z.object({ seq: z.number().int(), hash: z.string(), at: z.string() }).optional(),
    /** Records newer than the latest checkpoint: not yet protected against truncation or re-hashing. */
    unanchored: z.number().int(),
  }).optional(),
  /** With `witness=true`: how many of the compared heads came from the witness, and the newest of them. */
  witness: z.object({
    url: z.string(),
    heads: z.number().int(),
    latest: z.object({ seq: z.number().int(), hash: z.string(), at: z.string() }).optional(),
  }).optional(),
}).meta({ id: 'AuditVerification' });

/** `GET /v1/audit/verify`: `witness=true` also compares the chain with the heads this Lantern's witness holds. */
export const auditVerifyQuery = z.object({
  witness: z.enum(['true', 'false']).optional(),
});

/**
 * `POST /v1/audit/witness`: another Lantern's signed head, to be remembered outside its box.
 * `publicKey` (SPKI PEM) introduces its key on first contact; the witness trusts the key a
 * keyId was first introduced with (the keyId is a hash of that key, so no other key can
 * claim it later).
 */
export const witnessHeadSubmission = z.object({
  seq: z.number().int().min(0),
  hash: z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in lower-case hex'),
  at: z.string().max(40),
  keyId: z.string().regex(/^[0-9a-f]{16}$/, 'a key id: 16 lower-case hex'),
  signature: z.string().max(200),
  publicKey: z.string().max(1000).optional(),
});

/** What the witness did with a head: `new` (appended) or `already` (it held this very head). */
export const witnessReceipt = z.object({
  keyId: z.string(),
  seq: z.number().int(),
  witnessed: z.enum(['new', 'already']),
}).meta({ id: 'WitnessReceipt' });

export const witnessKeyParams = z.object({ keyId: z.string().regex(/^[0-9a-f]{16}$/, 'a key id: 16 lower-case hex') });

/** `GET /v1/audit/witness/{keyId}`: every head witnessed for one chain's key, oldest first. */
export const witnessedHeads = z.object({
  keyId: z.string(),
  publicKey: z.string(),
  introducedBy: z.string(),
  introducedAt: z.string(),
  heads: z.array(signedHead.extend({ receivedAt: z.string(), receivedBy: z.string() })),
}).meta({ id: 'WitnessedHeads' });

/** `GET /v1/audit/export`: records `from`–`to` (default: the whole chain, at most 50,000). */
export const auditExportQuery = z.object({
  from: z.coerce.number().int().min(1).optional(),
  to: z.coerce.number().int().min(1).optional(),
});

const storedRecord = auditRecord.extend({ payload: z.string().meta({ description: 'The payload exactly as stored: the text the hash covers.' }) });

/** A contiguous segment of the chain with the signed heads covering it; `lantern audit verify` checks it offline. */
export const auditSegment = z.object({
  format: z.literal('lantern-audit-segment/1'),
  exportedAt: z.string(),
  keyId: z.string(),
  publicKey: z.string(),
  from: z.number().int(),
  to: z.number().int(),
  records: z.array(storedRecord),
  heads: z.array(signedHead),
}).meta({ id: 'AuditSegment' });

/** A study's accountability bundle, signed as a whole; `lantern audit verify` checks it offline. */
export const accountabilityBundle = z.object({
  format: z.literal('lantern-accountability-bundle/1'),
  keyId: z.string(),
  publicKey: z.string(),
  body: z.object({
    studyInstanceUid: z.string(),
    issuedAt: z.string(),
    images: z.array(z.object({ sopInstanceUid: z.string(), seriesInstanceUid: z.string(), sha256: z.string() })),
    findings: z.array(z.unknown()),
    decisions: z.object({ reviews: z.array(z.unknown()), readerFindings: z.array(z.unknown()) }),
    audit: z.array(storedRecord),
    head: signedHead,
    chain: z.object({ intact: z.literal(true), checked: z.number().int() }),
  }),
  signature: z.string(),
}).meta({ id: 'AccountabilityBundle' });

export type AuditQuery = z.input<typeof auditQuery>;
export type AuditRecord = z.infer<typeof auditRecord>;
export type AuditVerification = z.infer<typeof auditVerification>;
