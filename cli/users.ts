import fs from 'node:fs';
import { newUserRequest, type Role } from '../contract/identity.ts';
import { loadConfig } from '../config.ts';
import { openStore } from '../store/open.ts';

/**
 * `lantern user-add <username> --roles …`: a local account, straight into the database
 * (the way to make the first real accounts, or to recover when no admin can sign in). The
 * password comes on stdin, never on the command line where `ps` would show it. The embedded
 * PGlite has one owner: with it, run this while Lantern is stopped; with DATABASE_URL, any time.
 */
export async function addUser(username: string, options: { roles: string; sites?: string; displayName?: string }): Promise<void> {
  const password = fs.readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  const parsed = newUserRequest.safeParse({ username, displayName: options.displayName ?? username, roles: options.roles.split(',').map((r) => r.trim()),
    sites: options.sites?.split(',').map((s) => s.trim()), password });
  if (!parsed.success) {
    console.error(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'));
    process.exitCode = 2;
    return;
  }
  const config = loadConfig();
  // Creating an account changes no study, so nothing here is ever prioritised.
  const store = await openStore({ ...config, prioritise: () => ({ priority: 0, why: '', whyZh: '' }) });
  try {
    const { roles, sites, displayName } = parsed.data;
    const created = await store.createUser({ username, displayName, roles: roles as Role[], sites, password }, 'lantern user-add');
    console.log(created ? `created ${username} (${roles.join(', ')})` : `there is already a user ${username}`);
    process.exitCode = created ? 0 : 1;
  } finally {
    await store.close();
  }
}
