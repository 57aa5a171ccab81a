/**
 * What leaves Lantern for someone who does not trust it: a segment of the chain with the
 * signed heads that cover it, and a study's accountability bundle. Both are checked by
 * `verifyAuditDocument` (audit-offline.ts) with nothing but the public key.
 */
import { canonicalJson } from './canonical-json.ts';
import type { StoredAuditRecord } from './audit.ts';
import { publicKeyPem, signText, type AuditKey, type SignedHead } from './audit-seal.ts';
import type { StudyDetail } from './types.ts';

export const SEGMENT_FORMAT = 'lantern-audit-segment/1';
export const BUNDLE_FORMAT = 'lantern-accountability-bundle/1';

/**
 * Records `from`–`to` (contiguous, payloads as stored), and every signed head inside
 * that range; the newest head is the one at `to`, taken when the segment was made, so
 * every record is covered. `publicKey` is informational: a verifier should be given the
 * key separately, or it proves integrity but not origin.
 */
export interface AuditSegment {
  format: typeof SEGMENT_FORMAT;
  exportedAt: string;
  keyId: string;
  publicKey: string;
  from: number;
  to: number;
  records: StoredAuditRecord[];
  heads: SignedHead[];
}

export function buildSegment(key: AuditKey, records: StoredAuditRecord[], heads: SignedHead[], range: { from: number; to: number }): AuditSegment {
  return { format: SEGMENT_FORMAT, exportedAt: new Date().toISOString(), keyId: key.keyId, publicKey: publicKeyPem(key), ...range, records, heads };
}

/** What a study's bundle states, all under one signature. */
export interface BundleBody {
  studyInstanceUid: string;
  issuedAt: string;
  /** Each stored image by the SHA-256 of its DICOM bytes (the blob's name). */
  images: { sopInstanceUid: string; seriesInstanceUid: string; sha256: string }[];
  /** AI findings with their model provenance, and each finding's reviews. */
  findings: unknown[];
  /** Every decision: reviews of findings and findings the reader added. */
  decisions: { reviews: unknown[]; readerFindings: unknown[] };
  /** The study's audit records (its own, its instances', findings' and reader findings'), payloads as stored. */
  audit: StoredAuditRecord[];
  /** A head signed when the bundle was issued, at or after every record above. */
  head: SignedHead;
  /** The whole chain was verified against its checkpoints before the bundle was signed. */
  chain: { intact: true; checked: number };
}

export interface AccountabilityBundle {
  format: typeof BUNDLE_FORMAT;
  keyId: string;
  publicKey: string;
  body: BundleBody;
  /** Ed25519 over canonicalJson(body). */
  signature: string;
}

/** The entity ids whose audit records belong to a study. */
export function studyEntityIds(detail: StudyDetail): string[] {
  return [
    detail.study.studyInstanceUid,
    ...detail.instances.map((i) => i.sopInstanceUid),
    ...detail.findings.map((f) => f.id),
    ...detail.readerFindings.map((f) => String(f.id)),
  ];
}

export function buildBundle(key: AuditKey, detail: StudyDetail, audit: StoredAuditRecord[], head: SignedHead, checked: number): AccountabilityBundle {
  // Through JSON once, so the signed form is exactly what a reader of the file will re-serialise.
  const body = JSON.parse(JSON.stringify({
    studyInstanceUid: detail.study.studyInstanceUid,
    issuedAt: new Date().toISOString(),
    images: detail.instances.map((i) => ({ sopInstanceUid: i.sopInstanceUid, seriesInstanceUid: i.seriesInstanceUid, sha256: i.blobSha256 })),
    findings: detail.findings,
    decisions: { reviews: detail.reviews, readerFindings: detail.readerFindings },
    audit,
    head,
    chain: { intact: true, checked },
  } satisfies BundleBody)) as BundleBody;
  return { format: BUNDLE_FORMAT, keyId: key.keyId, publicKey: publicKeyPem(key), body, signature: signText(key, canonicalJson(body)) };
}
