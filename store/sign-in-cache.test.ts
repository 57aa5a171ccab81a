/**
 * Token sign-ins kept between requests (store/sign-in-cache.ts): on a store that is its
 * database's sole writer a token's user is read once, and every change of who may do what made
 * through the store is seen on the next lookup; a store that is not (PostgreSQL, shared by several
 * API processes) reads every time. The architecture test finds any store write to users,
 * api_tokens or site_reading made outside accessChangingTransaction, which would leave kept
 * sign-ins stale.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../config.ts';
import type { Database } from './db.ts';
import { signInCache } from './sign-in-cache.ts';
import { createStore, type Store } from './store.ts';
import { databaseBackends, openMigratedStore } from './test-backends.ts';
import { unranked } from './test-fixtures.ts';

describe.each(databaseBackends({ inMemory: false }))('token sign-ins on $name', (backend) => {
  let db: Database;
  let store: Store;
  let close: (() => Promise<void>) | undefined;
  let n = 0;
  const newUser = async (sites = ['main']) => {
    const username = `u${++n}`;
    expect(await store.createUser({ username, displayName: username, roles: ['radiologist'], sites, password: 'a long enough password' }, 'test')).toBe(true);
    const { token } = await store.createApiToken({ username, displayName: username, roles: ['radiologist'], sites }, 'test', 1);
    return { username, token };
  };
  /** A write another process would make, behind the store's back. */
  const elsewhere = (username: string) => db.query(`update users set roles = '{admin}' where username = $1`, [username]);

  beforeAll(async () => {
    ({ db, store, close } = await openMigratedStore(backend, { prioritise: unranked }));
  });
  afterAll(() => close?.());

  it(backend.soleWriter
    ? 'when the store is the sole writer, then a token\'s user is read once: a change behind its back is not seen'
    : 'when the store shares its database, then every lookup reads it: another process\'s change is seen at once', async () => {
    const { username, token } = await newUser();
    expect((await store.userForToken(token))?.user.roles).toEqual(['radiologist']);
    await elsewhere(username);
    expect((await store.userForToken(token))?.user.roles).toEqual(backend.soleWriter ? ['radiologist'] : ['admin']);
  });

  it('when a token is revoked, or its user disabled or given other roles, through the store, then the next lookup sees it', async () => {
    const revoked = await newUser();
    const disabled = await newUser();
    const promoted = await newUser();
    for (const { token } of [revoked, disabled, promoted]) expect(await store.userForToken(token)).toBeDefined();
    const [{ id }] = await store.listApiTokens(revoked.username);
    expect(await store.revokeApiToken(revoked.username, id)).toBe(true);
    await store.updateUser(disabled.username, { disabled: true }, 'admin');
    await store.updateUser(promoted.username, { roles: ['radiologist', 'consultant'] }, 'admin');
    expect(await store.userForToken(revoked.token)).toBeUndefined();
    expect(await store.userForToken(disabled.token)).toBeUndefined();
    expect((await store.userForToken(promoted.token))?.user.roles).toEqual(['radiologist', 'consultant']);
  });

  it('when the sites a user\'s site reads for change, then the next lookup has the new scope', async () => {
    await store.createSite({ id: 'county-c', name: 'County C', level: 'county' }, 'admin');
    await store.createSite({ id: 'village-d', name: 'Village D', level: 'village' }, 'admin');
    const reader = await newUser(['county-c']);
    expect((await store.userForToken(reader.token))?.readsFor).toEqual([]);
    await store.setSitesReadFor('county-c', ['village-d'], 'admin');
    expect((await store.userForToken(reader.token))?.readsFor).toEqual(['village-d']);
  });

  it('when a kept token expires, then it signs nobody in', async () => {
    const { username } = await newUser();
    const { token } = await store.createApiToken({ username, displayName: username, roles: ['radiologist'], sites: ['main'] }, 'short', 0.4 / 86_400);
    expect(await store.userForToken(token)).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await store.userForToken(token)).toBeUndefined();
  });

  it('when a second store on the same database is not the sole writer, then it keeps nothing', async () => {
    const shared = createStore(db, { prioritise: unranked, soleWriter: false });
    const { username, token } = await newUser();
    expect((await shared.userForToken(token))?.user.roles).toEqual(['radiologist']);
    await elsewhere(username);
    expect((await shared.userForToken(token))?.user.roles).toEqual(['admin']);
  });
});

describe('the kept sign-ins', () => {
  const signedIn = (role: string) => ({ signedIn: { user: { username: 'u', displayName: 'u', roles: [role], sites: ['main'] }, readsFor: [] }, expiresAt: Date.now() + 60_000 }) as never;

  it('when a change commits while a lookup is reading, then that read is answered but not kept', async () => {
    const cache = signInCache(true);
    let reads = 0;
    const firstRead = cache.lookup('h', async () => {
      reads += 1;
      cache.changed();
      return signedIn('radiologist');
    });
    expect((await firstRead)?.user.roles).toEqual(['radiologist']);
    expect((await cache.lookup('h', async () => { reads += 1; return signedIn('admin'); }))?.user.roles).toEqual(['admin']);
    expect(reads).toBe(2);
    expect((await cache.lookup('h', async () => { reads += 1; return signedIn('other'); }))?.user.roles).toEqual(['admin']);
    expect(reads).toBe(2);
  });

  it('when a kept sign-in is answered, then no request can change it for the next', async () => {
    const cache = signInCache(true);
    const first = await cache.lookup('h', async () => signedIn('radiologist'));
    expect(() => (first!.user.roles as string[]).push('admin')).toThrow();
    expect((await cache.lookup('h', async () => signedIn('other')))?.user.roles).toEqual(['radiologist']);
  });
});

describe('store architecture', () => {
  it('when a store function writes users, api_tokens or site_reading, then it does so in accessChangingTransaction', () => {
    const storeDir = path.join(repoRoot, 'store');
    const writes = /\b(insert into|update|delete from)\s+(users|api_tokens|site_reading)\b/g;
    const offenders: string[] = [];
    let found = 0;
    for (const file of fs.readdirSync(storeDir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !['sign-in-cache.ts', 'test-backends.ts'].includes(f))) {
      const text = fs.readFileSync(path.join(storeDir, file), 'utf8');
      // A store function is a method of an aggregate's object literal: `  async name(` at two spaces.
      const starts = [...text.matchAll(/^ {2}async (\w+)\(/gm)].map((m) => ({ name: m[1], at: m.index }));
      for (const write of text.matchAll(writes)) {
        if (/migrat/.test(file)) continue;
        found += 1;
        const index = starts.findLastIndex((s) => s.at < write.index);
        const body = text.slice(starts[index]?.at ?? 0, starts[index + 1]?.at ?? text.length);
        if (!body.includes('accessChangingTransaction(')) offenders.push(`${file} ${starts[index]?.name ?? '(top level)'}: ${write[0]}`);
      }
    }
    expect(found).toBeGreaterThanOrEqual(8);
    expect(offenders).toEqual([]);
  });
});
