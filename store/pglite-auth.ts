import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Password authentication for the private PGlite server (store/pglite-server.ts). PGlite
 * itself trusts whoever speaks to it, and its port is on loopback, where every local user
 * and process can reach it; so the server asks for a password before it hands a client's
 * startup packet to PGlite.
 *
 * The password is 32 random bytes, made once per database and kept beside its files in
 * `<dir>/lantern-password` (0600), so a restarted server keeps the URL its clients know. The
 * exchange is PostgreSQL's cleartext password message: it travels only over loopback to the
 * port the client was given; SCRAM would also keep it from a process that took the port over.
 */
const PASSWORD_FILE = 'lantern-password';

/** How long a connected client has to send its password: the server takes one client at a time. */
export const AUTH_TIMEOUT_MS = 5_000;

/** Where the password of the database in `dir` is kept: what `lantern db` names instead of printing it. */
export const pglitePasswordFile = (dir: string) => path.join(dir, PASSWORD_FILE);

export function pglitePassword(dir: string): string {
  const file = pglitePasswordFile(dir);
  try {
    const kept = fs.readFileSync(file, 'utf8').trim();
    if (/^[0-9a-f]{64}$/.test(kept)) return kept;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const password = randomBytes(32).toString('hex');
  fs.writeFileSync(file, `${password}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return password;
}

/** AuthenticationCleartextPassword: `R`, length 8, code 3. */
export function passwordRequest(): Buffer {
  const message = Buffer.alloc(9);
  message.write('R', 0);
  message.writeInt32BE(8, 1);
  message.writeInt32BE(3, 5);
  return message;
}

/** The client's PasswordMessage (`p`, length, text NUL) at the start of `buffer`, or undefined while incomplete. Throws on anything else. */
export function readPassword(buffer: Buffer): { password: string; size: number } | undefined {
  if (buffer.length < 5) return undefined;
  if (buffer[0] !== 0x70) throw new Error(`expected a password message, got type 0x${buffer[0].toString(16)}`);
  const length = buffer.readInt32BE(1);
  if (length < 5 || length > 1024) throw new Error(`malformed password message: length ${length}`);
  if (buffer.length < 1 + length) return undefined;
  return { password: buffer.subarray(5, length).toString('utf8').replace(/\0$/, ''), size: 1 + length };
}

export function passwordMatches(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** ErrorResponse FATAL 28P01, as PostgreSQL answers a wrong password. */
export function authenticationFailed(): Buffer {
  const fields = ['SFATAL', 'VFATAL', 'C28P01', 'Mpassword authentication failed for user "postgres"'].map((f) => `${f}\0`).join('') + '\0';
  const body = Buffer.from(fields, 'utf8');
  const message = Buffer.alloc(5 + body.length);
  message.write('E', 0);
  message.writeInt32BE(4 + body.length, 1);
  body.copy(message, 5);
  return message;
}

/**
 * Drops group and world access under `dir` (folders 0700, files keep only their owner's bits).
 * PGlite writes its initial database 0666 whatever the umask; the process umask (bin/lantern.mjs)
 * covers what it creates later, and this covers what was made before, at every start.
 */
export function restrictToOwner(dir: string): void {
  fs.chmodSync(dir, 0o700);
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    if (entry.isDirectory()) fs.chmodSync(full, 0o700);
    else if (entry.isFile()) {
      const { mode } = fs.statSync(full);
      if (mode & 0o077) fs.chmodSync(full, mode & 0o700);
    }
  }
}
