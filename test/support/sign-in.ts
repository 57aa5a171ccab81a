import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { BrowserContext } from 'playwright-core';
import type { Role } from '../../contract/identity.ts';
import { firstAdminPasswordFile } from '../../roles/first-admin.ts';

/** A signed-in user of a running Lantern: a bearer token for API calls, the browser session for pages. */
export interface SignedIn {
  token: string;
  authorization: { authorization: string };
  /** Puts the user's session cookie into a browser context, as signing in on the page would. */
  signInBrowser(context: BrowserContext): Promise<void>;
}

/**
 * Signs in as the `admin` a first start creates (its password is in the data folder, as
 * a newcomer would find it) and takes a bearer token for the test's API calls.
 */
export async function signInAsFirstAdmin(baseUrl: string, dataDir: string): Promise<SignedIn> {
  return signInAs(baseUrl, 'admin', fs.readFileSync(firstAdminPasswordFile(dataDir), 'utf8').trim());
}

/**
 * A new account made by the admin (`adminToken`) and signed in: a reader, a doctor, a nurse
 * of the story a test tells; their user name is what the audit trail records.
 */
export async function newUser(baseUrl: string, adminToken: string, user: { username: string; displayName: string; roles: Role[]; sites?: string[] }): Promise<SignedIn> {
  const password = randomBytes(18).toString('base64url');
  const created = await fetch(new URL('/v1/users', baseUrl), {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` }, body: JSON.stringify({ ...user, password }),
  });
  if (created.status !== 201) throw new Error(`creating ${user.username} failed: ${created.status} ${await created.text()}`);
  return signInAs(baseUrl, user.username, password);
}

async function signInAs(baseUrl: string, username: string, password: string): Promise<SignedIn> {
  const session = await fetch(new URL('/v1/session', baseUrl), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (session.status !== 200) throw new Error(`signing in as ${username} failed: ${session.status} ${await session.text()}`);
  const cookie = (session.headers.get('set-cookie') ?? '').split(';')[0];
  const { csrfToken } = await session.json() as { csrfToken: string };
  const tokenAnswer = await fetch(new URL('/v1/tokens', baseUrl), {
    method: 'POST', headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken }, body: JSON.stringify({ name: 'test', days: 1 }),
  });
  const { token } = await tokenAnswer.json() as { token: string };
  const [name, value] = [cookie.slice(0, cookie.indexOf('=')), cookie.slice(cookie.indexOf('=') + 1)];
  return {
    token,
    authorization: { authorization: `Bearer ${token}` },
    signInBrowser: (context) => context.addCookies([{ name, value, url: baseUrl, httpOnly: true, sameSite: 'Strict' }]),
  };
}
