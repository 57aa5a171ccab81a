import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ROLES } from '../contract/identity.ts';
import { DEFAULT_SITE } from '../contract/sites.ts';
import { logger } from '../log.ts';
import type { Store } from '../store/store.ts';

/** Where the first start leaves the first account's password (0600), as Jenkins does. */
export const firstAdminPasswordFile = (dataDir: string) => path.join(dataDir, 'initial-admin-password');

/**
 * A new Lantern has no accounts and nobody can sign in to create one. The first start
 * creates `admin` (every role, so one person can try everything) with a random password
 * written to `<data dir>/initial-admin-password`, readable by the owner only, and says so.
 * Several API processes starting together create it once (the insert is conflict-free).
 */
export async function ensureFirstAdmin(store: Store, dataDir: string): Promise<void> {
  if ((await store.countUsers()) > 0) return;
  const password = randomBytes(18).toString('base64url');
  const created = await store.createUser({ username: 'admin', displayName: 'Administrator', roles: [...ROLES], sites: [DEFAULT_SITE], password }, 'lantern');
  if (!created) return;
  const file = firstAdminPasswordFile(dataDir);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${password}\n`, { mode: 0o600 });
  logger.warn({ file }, 'no accounts yet: created "admin"; its password is in this file. Sign in, create real accounts (POST /v1/users), then delete the file');
}
