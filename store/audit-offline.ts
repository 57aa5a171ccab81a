/**
 * Verifies an exported segment or an accountability bundle with nothing but the file and
 * the public key: no database, no network. What `lantern audit verify <file>` runs; with
 * `--witness`, the heads a remote witness holds (fetched by the CLI) are compared too.
 */
import { auditHash, GENESIS_HASH, type StoredAuditRecord } from './audit.ts';
import { BUNDLE_FORMAT, SEGMENT_FORMAT, type AccountabilityBundle, type AuditSegment } from './audit-export.ts';
import { canonicalJson } from './canonical-json.ts';
import { headSignatureValid, parsePublicKey, signatureValid, type AuditPublicKey, type SignedHead } from './audit-seal.ts';

export interface DocumentVerification {
  ok: boolean;
  kind: 'segment' | 'bundle' | 'unknown';
  /** Records whose hash was recomputed. */
  checked: number;
  /** The newest signed head the document is anchored to. */
  head?: { seq: number; hash: string; at: string };
  /** Where the key came from: given by the verifier, or only the document's own (integrity, not origin). */
  key: 'given' | 'embedded';
  /** Heads a witness holds that were compared with the document, when some were given. */
  witnessHeads?: number;
  problems: string[];
}

/**
 * Checks `document` (parsed JSON) against `trustedKeyPem`, or the document's own key when
 * none is given; and against `witnessed`, the heads a witness holds for that key, when given.
 */
export function verifyAuditDocument(document: unknown, trustedKeyPem?: string, witnessed?: SignedHead[]): DocumentVerification {
  const doc = (document ?? {}) as { format?: unknown; publicKey?: unknown; keyId?: unknown };
  const kind = doc.format === SEGMENT_FORMAT ? 'segment' : doc.format === BUNDLE_FORMAT ? 'bundle' : 'unknown';
  const base = { kind, key: trustedKeyPem ? 'given' : 'embedded', checked: 0 } as const;
  if (kind === 'unknown') return { ...base, ok: false, problems: [`not a Lantern audit segment or bundle (format ${JSON.stringify(doc.format)})`] };
  let key: AuditPublicKey;
  try {
    key = parsePublicKey(trustedKeyPem ?? String(doc.publicKey));
  } catch (error) {
    return { ...base, ok: false, problems: [`no usable public key: ${(error as Error).message}`] };
  }
  const problems: string[] = [];
  if (doc.keyId !== key.keyId) problems.push(`signed by key ${doc.keyId}, not by the key given (${key.keyId})`);
  const { end, hashAt, ...result } = kind === 'segment' ? checkSegment(doc as unknown as AuditSegment, key, problems) : checkBundle(doc as unknown as AccountabilityBundle, key, problems);
  if (witnessed) checkAgainstWitness(witnessed, key, hashAt, end, problems);
  return { ...base, ...result, ...(witnessed ? { witnessHeads: witnessed.length } : {}), ok: problems.length === 0, problems };
}

/**
 * The document against what a witness saw: at every seq both know, the witness's hash; and,
 * for a segment (`end`), no witnessed head beyond its last record — the chain was longer
 * than the segment says. No time in the document decides that: whoever holds the key can
 * write any time there. A witnessed head not signed by the key is the witness's store altered.
 */
function checkAgainstWitness(witnessed: SignedHead[], key: AuditPublicKey, hashAt: Map<number, string>, end: number | undefined, problems: string[]) {
  for (const head of witnessed) {
    if (!headSignatureValid(key, head)) {
      problems.push(`the witness holds a head at seq ${head.seq} not signed by this key: the witness's store was altered`);
      continue;
    }
    const stored = hashAt.get(head.seq);
    if (stored !== undefined && stored !== head.hash) {
      problems.push(`the hash at seq ${head.seq} differs from the head the witness received (signed at ${head.at}): the chain was rewritten and re-signed`);
    }
  }
  const beyond = witnessed.filter((h) => end !== undefined && h.seq > end && headSignatureValid(key, h)).sort((a, b) => b.seq - a.seq)[0];
  if (end !== undefined && beyond) {
    problems.push(`the witness received a head at seq ${beyond.seq} (signed at ${beyond.at}) but the segment ends at ${end}: `
      + `records ${end + 1}–${beyond.seq} were removed from the chain (or the segment was exported with --to, or before that head: export to the head to compare with the witness)`);
  }
}

function checkSegment(segment: AuditSegment, key: AuditPublicKey, problems: string[]) {
  const records = Array.isArray(segment.records) ? segment.records : [];
  if (records.length === 0) problems.push('the segment has no records');
  let prevHash = records[0]?.seq === 1 ? GENESIS_HASH : records[0]?.prevHash;
  const hashAt = new Map<number, string>();
  records.forEach((record, i) => {
    const expectedSeq = records[0].seq + i;
    if (record.seq !== expectedSeq) problems.push(`record ${i + 1} has seq ${record.seq}, expected ${expectedSeq}: a record was removed, added or moved`);
    else if (record.prevHash !== prevHash) problems.push(`record ${record.seq} does not follow from the one before it`);
    else if (!recordHashValid(record)) problems.push(`record ${record.seq} was altered: its hash does not match its content`);
    hashAt.set(record.seq, record.hash);
    prevHash = record.hash;
  });
  const heads = Array.isArray(segment.heads) ? segment.heads : [];
  const signed = heads.filter((h) => {
    const valid = headSignatureValid(key, h);
    if (!valid) problems.push(`the head at seq ${h?.seq} is not validly signed`);
    return valid;
  });
  for (const head of signed) {
    const stored = hashAt.get(head.seq);
    if (stored !== undefined && stored !== head.hash) problems.push(`the hash at seq ${head.seq} differs from the head signed at ${head.at}: the chain was rewritten`);
  }
  const last = records.at(-1);
  const newest = signed.reduce<SignedHead | undefined>((a, h) => (!a || h.seq > a.seq ? h : a), undefined);
  if (last && newest && newest.seq > last.seq) problems.push(`a head at seq ${newest.seq} was signed but the segment ends at ${last.seq}: records were removed from its end`);
  if (last && !signed.some((h) => h.seq === last.seq && h.hash === last.hash)) problems.push(`no signed head covers the newest record (${last.seq}): the end of the segment is not anchored`);
  return {
    checked: records.length,
    ...(newest ? { head: { seq: newest.seq, hash: newest.hash, at: newest.at } } : {}),
    hashAt,
    end: last?.seq,
  };
}

function checkBundle(bundle: AccountabilityBundle, key: AuditPublicKey, problems: string[]) {
  const body = bundle.body;
  if (!signatureValid(key, canonicalJson(body ?? null), bundle.signature)) problems.push('the bundle\'s signature does not match its content: the file was altered');
  if (!body || !Array.isArray(body.audit)) return { checked: 0, hashAt: new Map<number, string>(), end: undefined as number | undefined };
  const head = body.head;
  if (!head || !headSignatureValid(key, head)) problems.push('the bundle\'s head is not validly signed');
  for (const record of body.audit) {
    if (!recordHashValid(record)) problems.push(`audit record ${record.seq} was altered: its hash does not match its content`);
    if (head && record.seq > head.seq) problems.push(`audit record ${record.seq} is newer than the signed head (${head.seq})`);
  }
  // Each image must be the one whose receipt the trail recorded.
  const received = new Map(body.audit.filter((r) => r.action === 'instance.received').map((r) => [r.entityId, (parse(r.payload) as { blobSha256?: string }).blobSha256]));
  for (const image of body.images ?? []) {
    if (received.get(image.sopInstanceUid) !== image.sha256) problems.push(`image ${image.sopInstanceUid}: its SHA-256 is not the one its receipt recorded`);
  }
  const audited = new Set(body.audit.map((r) => r.entityId));
  for (const finding of (body.findings ?? []) as { id: string }[]) {
    if (!audited.has(finding.id)) problems.push(`finding ${finding.id} has no audit record`);
  }
  const hashAt = new Map(body.audit.map((r) => [r.seq, r.hash]));
  if (head) hashAt.set(head.seq, head.hash);
  return {
    checked: body.audit.length,
    ...(head ? { head: { seq: head.seq, hash: head.hash, at: head.at } } : {}),
    hashAt,
    // A bundle holds one study's records up to the head of its day: later heads are expected.
    end: undefined as number | undefined,
  };
}

function recordHashValid(record: StoredAuditRecord): boolean {
  return typeof record.payload === 'string' && auditHash(record.prevHash, record, record.payload) === record.hash;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}
