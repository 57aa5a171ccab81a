/**
 * `lantern audit export | bundle | checkpoint` fetch from a running Lantern (an admin's
 * token); `lantern audit verify` needs nothing but the file and the public key: no
 * database, no network, so whoever receives a segment or a bundle can check it. With
 * `--witness`, it also asks the chain's witness (another Lantern) for the heads it holds.
 */
import fs from 'node:fs';
import { verifyAuditDocument, type DocumentVerification } from '../store/audit-offline.ts';
import { parsePublicKey } from '../store/audit-seal.ts';
import { fetchWitnessedHeads } from '../store/audit-witness.ts';

export interface RemoteOptions {
  url: string;
  token?: string;
}

/** GETs (or POSTs) one audit resource as JSON; a refusal is an Error carrying the API's code and message. */
export async function fetchAudit(options: RemoteOptions, resource: string, method: 'GET' | 'POST' = 'GET'): Promise<unknown> {
  const response = await fetch(new URL(resource, options.url), {
    method,
    headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
  });
  const json = await response.json().catch(() => undefined) as { error?: { code: string; message: string } } | undefined;
  if (!response.ok) throw new Error(json?.error ? `${json.error.code}: ${json.error.message}` : `HTTP ${response.status} from ${resource}`);
  return json;
}

/** Writes `document` to `file` (0600: a bundle holds patient data) and returns the file name. */
export function writeDocument(file: string, document: unknown): string {
  fs.writeFileSync(file, `${JSON.stringify(document, null, 1)}\n`, { mode: 0o600 });
  return file;
}

/**
 * Verifies a segment or bundle file. `keyFile` is the trusted public key (PEM); without
 * one, the key inside the file is used, which proves the file is unaltered since signing
 * but not who signed it. With `witness`, also against every head the witness holds for
 * that key (a witness that cannot be asked is an Error: nothing was verified against it).
 */
export async function verifyFile(file: string, keyFile?: string, witness?: RemoteOptions & { token: string }): Promise<DocumentVerification> {
  let document: unknown;
  try {
    document = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    return { ok: false, kind: 'unknown', checked: 0, key: keyFile ? 'given' : 'embedded', problems: [`${file} is not JSON: ${(error as Error).message}`] };
  }
  const keyPem = keyFile ? fs.readFileSync(keyFile, 'utf8') : undefined;
  const keyId = keyPem ? parsePublicKey(keyPem).keyId : String((document as { keyId?: unknown } | null)?.keyId);
  const witnessed = witness ? await fetchWitnessedHeads(witness, keyId) : undefined;
  return verifyAuditDocument(document, keyPem, witnessed);
}

/** The lines `lantern audit verify` prints. */
export function describeVerification(file: string, result: DocumentVerification): string[] {
  const head = result.head ? `, anchored to the head signed at seq ${result.head.seq} (${result.head.at})` : '';
  const lines = [`${file}: ${result.kind}, ${result.checked} records checked${head}`];
  if (result.key === 'embedded') lines.push('warning: no --key given; checked against the key inside the file (proves it is unaltered, not who signed it)');
  if (result.witnessHeads !== undefined) lines.push(`compared with ${result.witnessHeads} heads the witness received`);
  lines.push(result.ok ? 'VERIFIED' : `NOT VERIFIED (${result.problems.length} problems)`, ...result.problems.map((p) => `  - ${p}`));
  return lines;
}
