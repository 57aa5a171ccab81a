import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The installation's de-identification key (32 random bytes): what makes the de-identified
 * views model teams read (`/v1/research/…`) stable — the same study always gets the same
 * pseudonymous UIDs, patient pseudonym and date offset — and, passed to
 * `lantern export --deidentify --key-file`, what makes an export link up with them. Whoever
 * holds it can test a guessed identity against a pseudonym: it is created 0600 in a 0700
 * folder, and a key file others can read is refused.
 */
export function openDeidentifyKey(file: string): Uint8Array {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    try {
      fs.writeFileSync(file, randomBytes(32), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // Another process of the same installation created it first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  if ((fs.statSync(file).mode & 0o077) !== 0) throw new Error(`${file} can be read by other users: chmod 600 it (it links pseudonyms to patients)`);
  const key = new Uint8Array(fs.readFileSync(file));
  if (key.length < 32) throw new Error(`${file} holds ${key.length} bytes; a de-identification key needs at least 32`);
  return key;
}
