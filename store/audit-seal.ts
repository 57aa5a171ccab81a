/**
 * The audit chain's seal: an Ed25519 key kept outside the database, heads (seq, hash)
 * signed with it, and an append-only file of signed heads (checkpoints), also outside the
 * database. Whoever can rewrite the database cannot make a rewritten chain match a head
 * signed before, nor sign a new one without the key. No database access here: the
 * offline verifier (`lantern audit verify`) uses the same functions.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson } from './canonical-json.ts';

export interface AuditPublicKey {
  publicKey: KeyObject;
  /** First 16 hex of the SHA-256 of the public key (SPKI DER): which key signed a head. */
  keyId: string;
}

export interface AuditKey extends AuditPublicKey {
  privateKey: KeyObject;
}

/** The chain's head at a moment, signed: `signature` is Ed25519 over the canonical JSON of the other fields. */
export interface SignedHead {
  seq: number;
  hash: string;
  at: string;
  keyId: string;
  signature: string;
}

const keyIdOf = (publicKey: KeyObject) =>
  createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);

/** The public key as PEM (SPKI): what an export carries and what `--key` reads. */
export const publicKeyPem = (key: AuditPublicKey) => key.publicKey.export({ type: 'spki', format: 'pem' }).toString();

/**
 * Reads the signing key (PKCS#8 PEM) from `file`, creating it (mode 0600, folder 0700)
 * with its public half beside it (`<file>.pub`) when missing. Refuses a key file that
 * others can read: a leaked key lets them sign a rewritten chain.
 */
export function openAuditKey(file: string): AuditKey {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    try {
      fs.writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // Another process of the same installation created it first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  const mode = fs.statSync(file).mode & 0o077;
  if (mode !== 0) throw new Error(`the audit signing key ${file} is readable by others (mode ${(fs.statSync(file).mode & 0o777).toString(8)}); chmod 600 it`);
  const privateKey = createPrivateKey(fs.readFileSync(file));
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`the audit signing key ${file} is not an Ed25519 key`);
  const publicKey = createPublicKey(privateKey);
  const key = { privateKey, publicKey, keyId: keyIdOf(publicKey) };
  const pub = `${file}.pub`;
  if (!fs.existsSync(pub)) fs.writeFileSync(pub, publicKeyPem(key), { mode: 0o644 });
  return key;
}

/** A public key from PEM text (SPKI, or a private key's PEM, whose public half is taken). */
export function parsePublicKey(pem: string): AuditPublicKey {
  const publicKey = createPublicKey(pem);
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new Error('the audit key is not an Ed25519 key');
  return { publicKey, keyId: keyIdOf(publicKey) };
}

const headText = (head: Omit<SignedHead, 'signature'>) =>
  canonicalJson({ seq: head.seq, hash: head.hash, at: head.at, keyId: head.keyId });

export function signHead(key: AuditKey, head: { seq: number; hash: string }, at = new Date().toISOString()): SignedHead {
  const unsigned = { seq: head.seq, hash: head.hash, at, keyId: key.keyId };
  return { ...unsigned, signature: sign(null, Buffer.from(headText(unsigned)), key.privateKey).toString('base64') };
}

export function headSignatureValid(key: AuditPublicKey, head: SignedHead): boolean {
  return head.keyId === key.keyId && signatureValid(key, headText(head), head.signature);
}

/** Ed25519 over `text` (UTF-8), base64; any malformed input is simply not valid. */
export function signText(key: AuditKey, text: string): string {
  return sign(null, Buffer.from(text), key.privateKey).toString('base64');
}

export function signatureValid(key: AuditPublicKey, text: string, signature: string): boolean {
  try {
    return verify(null, Buffer.from(text), key.publicKey, Buffer.from(String(signature), 'base64'));
  } catch {
    return false;
  }
}

/** Appends one signed head as a line, synced to disk before returning; the file is created 0600. */
export function appendCheckpoint(file: string, head: SignedHead): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const fd = fs.openSync(file, 'a', 0o600);
  try {
    fs.writeSync(fd, `${JSON.stringify(head)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Every checkpoint line, oldest first; a line that is not a signed head is returned as `null` (and fails verification). */
export function readCheckpoints(file: string): (SignedHead | null)[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => {
    try {
      const head = JSON.parse(line) as SignedHead;
      return Number.isSafeInteger(head.seq) && typeof head.hash === 'string' && typeof head.signature === 'string' ? head : null;
    } catch {
      return null;
    }
  });
}
