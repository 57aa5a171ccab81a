/**
 * Signing in with a hospital's OpenID Connect provider, against a real one: oidc-provider
 * (certified code flow, PKCE, discovery, JWKS) on loopback, its login and consent screens
 * clicked through over real HTTP with a cookie jar. Lantern's side runs as `lantern api`
 * does. Stories: a first sign-in provisions the user with the mapped roles; every way an ID
 * token can be wrong is refused with a specific 4xx and no session; a program's provider
 * access token works as a bearer token until it expires, also across a key rotation; a
 * session ends with the provider's grant, closing the live event stream with it. One file
 * of about 300 lines: every story shares one provider and one Lantern, which take seconds to start.
 */
import { createHash, randomBytes } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OidcSettings } from '../../config.ts';
import { startTestApi, type TestApi } from '../../test/support/api-role.ts';
import { apiClient } from '../../test/support/api-client.ts';
import { connectEvents } from '../../test/support/event-stream.ts';
import { API_AUDIENCE, API_SCOPE, browse, CookieJar, resigned, startTestProvider, type TestProvider } from '../../test/support/oidc-provider.ts';
import { conformanceChecker, type ConformanceChecker } from '../../test/support/openapi-conformance.ts';

/** A program registered at the provider (a ward's reporting tool) that calls Lantern's API with its users' access tokens. */
const WARD_TOOL = { client_id: 'ward-tool', redirect_uris: ['http://127.0.0.1:9/ward-tool/callback'] };

const ACCOUNTS = {
  wei: { preferred_username: 'Wei.Zhang', name: '张伟', roles: ['Radiology'] },
  li: { preferred_username: 'li.na', name: '李娜', roles: ['Nursing'] },
  // A provider account whose name a local Lantern account already holds.
  impostor: { preferred_username: 'tester', name: 'Someone Else', roles: ['Radiology'] },
};

const settings = (issuer: string): OidcSettings => ({
  issuer,
  clientId: 'lantern',
  clientSecret: 'lantern-secret-for-tests',
  name: 'Test Hospital',
  scopes: ['openid', 'profile', 'roles', API_SCOPE],
  usernameClaim: 'preferred_username',
  rolesClaim: 'roles',
  roleMap: { Radiology: ['radiologist'], 'Lantern-Admins': ['admin', 'radiologist'] },
  provisionUsers: true,
  apiAudience: API_AUDIENCE,
  // Every unknown key id refetches the JWKS at once, so rotation needs no wait here.
  jwksCooldownSeconds: 0,
});

interface ErrorBody { error: { code: string; message: string } }

describe('signing in with the hospital\'s OpenID Connect provider', () => {
  let idp: TestProvider;
  let api: TestApi;
  let checker: ConformanceChecker;
  let lantern: URL;
  const callbackPath = '/v1/session/oidc/callback';

  beforeAll(async () => {
    idp = await startTestProvider();
    // Sign-ins here come by the dozen from one address, past the default 10 a minute.
    api = await startTestApi({ oidc: settings(idp.issuer), loginRateLimitPerMinute: 1000 });
    lantern = new URL(api.url);
    await idp.configure([
      { client_id: 'lantern', client_secret: 'lantern-secret-for-tests', redirect_uris: [new URL(callbackPath, lantern).toString()] },
      WARD_TOOL,
    ], ACCOUNTS);
    checker = conformanceChecker(await (await fetch(new URL('/openapi.json', lantern))).json());
  });
  afterAll(async () => {
    await api?.stop();
    await idp?.stop();
  });

  /** The browser's whole trip: Lantern's start, the provider's screens as `account`, Lantern's callback. Stops at Lantern's answer to the callback. */
  async function signIn(account: string, start = '/v1/session/oidc/start') {
    const jar = new CookieJar();
    const { url, response } = await browse(new URL(start, lantern), jar, account, (u) => u.origin === lantern.origin && !u.pathname.startsWith('/v1/session/oidc'));
    return { jar, url, response, cookie: jar.header(new URL('/', lantern)) };
  }

  /** Lantern's JSON answer, checked against its OpenAPI document. */
  async function answer<T>(response: Response, method: string, path: string): Promise<T> {
    const body = await response.json() as T;
    checker.check(method, path, response.status, body);
    return body;
  }

  const sessionOf = (cookie: string) => apiClient(api.url).json<{ user: { username: string; displayName: string; roles: string[] }; expiresAt: string }>('/v1/session', { headers: { cookie } });
  const count = async (table: 'sessions' | 'users') => (await api.store.db.query<{ n: number }>(`select count(*)::int as n from ${table}`)).rows[0].n;

  it('when asked before sign-in, then Lantern offers the provider by name beside local accounts', async () => {
    const { status, body } = await apiClient(api.url).json('/v1/session/options');
    expect(status).toBe(200);
    expect(body).toEqual({ local: true, oidc: { name: 'Test Hospital', start: '/v1/session/oidc/start' } });
  });

  it('when sign-in starts, then the browser goes to the provider with a code request, PKCE (S256), state and nonce, and the flow waits in a Lax cookie of its own', async () => {
    const response = await fetch(new URL('/v1/session/oidc/start?returnTo=/%23/studies', lantern), { redirect: 'manual' });
    expect(response.status).toBe(302);
    const to = new URL(response.headers.get('location')!);
    expect(to.origin).toBe(idp.issuer);
    expect(Object.fromEntries(to.searchParams)).toMatchObject({
      response_type: 'code', client_id: 'lantern', redirect_uri: new URL(callbackPath, lantern).toString(), code_challenge_method: 'S256',
      scope: `openid profile roles ${API_SCOPE}`, state: expect.stringMatching(/^[\w-]{43}$/), nonce: expect.stringMatching(/^[\w-]{43}$/), code_challenge: expect.stringMatching(/^[\w-]{43}$/),
    });
    const flow = response.headers.getSetCookie().join('\n');
    expect(flow).toMatch(/lantern_oidc=[^;]+;.*Path=\/v1\/session\/oidc/);
    expect(flow).toMatch(/HttpOnly/i);
    expect(flow).toMatch(/SameSite=Lax/i);
  });

  it.each(['//evil.example/', 'https://evil.example/', '/\\evil.example'])('when the place to return to is %s (another site), then 422 and the browser goes nowhere', async (returnTo) => {
    const response = await fetch(new URL(`/v1/session/oidc/start?${new URLSearchParams({ returnTo })}`, lantern), { redirect: 'manual' });
    expect(response.status).toBe(422);
    expect(response.headers.get('location')).toBeNull();
    expect((await answer<ErrorBody>(response, 'GET', '/v1/session/oidc/start')).error.code).toBe('VALIDATION_FAILED');
  });

  it('when a radiologist signs in for the first time, then Lantern creates their account with the mapped role, starts its own session and returns to where they were', async () => {
    const { response, cookie, url } = await signIn('wei', '/v1/session/oidc/start?returnTo=/%23/studies');
    expect(response.status).toBe(302);
    expect(url.toString()).toBe(new URL('/#/studies', lantern).toString());
    expect(response.headers.getSetCookie().find((c) => c.startsWith('lantern_session='))).toMatch(/HttpOnly.*SameSite=Strict|SameSite=Strict.*HttpOnly/i);
    const session = await sessionOf(cookie);
    expect(session.status).toBe(200);
    expect(session.body.user).toMatchObject({ username: 'wei.zhang', displayName: '张伟', roles: ['radiologist'] });
    // The session does not outlive what the provider granted (its tokens live 300 s here).
    expect(Date.parse(session.body.expiresAt)).toBeLessThanOrEqual(Date.now() + 300_000);
    expect((await apiClient(api.url).json('/v1/worklist', { headers: { cookie } })).status).toBe(200);
    const audit = await api.client.audit('?entityId=wei.zhang');
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['user.created', 'session.started']));
    expect(audit.find((a) => a.action === 'user.created')).toMatchObject({ actor: 'wei.zhang', payload: { issuer: idp.issuer, subject: 'wei', roles: ['radiologist'] } });
  });

  it('when the same person signs in again, then it is the same account, and nothing about it is written again', async () => {
    await signIn('wei');
    const users = await count('users');
    const { cookie } = await signIn('wei');
    expect((await sessionOf(cookie)).body.user.username).toBe('wei.zhang');
    expect(await count('users')).toBe(users);
    expect((await api.client.audit('?entityId=wei.zhang')).filter((a) => a.action === 'user.created')).toHaveLength(1);
  });

  const stranger = generateKeyPair('RS256');
  const tamperings: [string, (idToken: string) => Promise<string>, RegExp][] = [
    ['its payload is changed after signing (roles raised to admin)', async (t) => {
      const [header, payload, signature] = t.split('.');
      const raised = { ...JSON.parse(Buffer.from(payload, 'base64url').toString()), roles: ['Lantern-Admins'] };
      return [header, Buffer.from(JSON.stringify(raised)).toString('base64url'), signature].join('.');
    }, /signature does not verify/],
    ['it has expired', (t) => resigned(idp, { iat: Math.floor(Date.now() / 1000) - 600, exp: Math.floor(Date.now() / 1000) - 60 })(t), /expired/],
    ['it never expires (no "exp")', (t) => resigned(idp, { exp: undefined })(t), /"exp" claim is not acceptable \(missing\)/],
    ['it was issued to another client (audience)', (t) => resigned(idp, { aud: 'ward-tool' })(t), /"aud" claim/],
    ['it comes from another issuer', (t) => resigned(idp, { iss: 'https://evil.example' })(t), /"iss" claim/],
    ['its nonce is not this sign-in\'s (a replayed token)', (t) => resigned(idp, { nonce: 'a-nonce-of-another-sign-in' })(t), /nonce/],
    ['it is signed with a key the provider does not publish', async (t) => new SignJWT(decodeJwt(t)).setProtectedHeader({ alg: 'RS256', kid: 'stranger' }).sign((await stranger).privateKey), /key the provider does not publish/],
  ];

  it.each(tamperings)('when the ID token is wrong because %s, then 401 OIDC_TOKEN_INVALID naming why, and no session', async (_story, tamper, reason) => {
    const [sessions, users] = [await count('sessions'), await count('users')];
    idp.tamper = tamper;
    try {
      const { response, url } = await signIn('wei');
      expect(response.status).toBe(401);
      expect(url.pathname).toBe(callbackPath);
      const { error } = await answer<ErrorBody>(response, 'GET', callbackPath);
      expect(error.code).toBe('OIDC_TOKEN_INVALID');
      expect(error.message).toMatch(reason);
      expect(response.headers.getSetCookie().some((c) => /^lantern_session=[^;]/.test(c))).toBe(false);
    } finally {
      idp.tamper = undefined;
    }
    expect([await count('sessions'), await count('users')]).toEqual([sessions, users]);
  });

  it('when the provider\'s answer arrives without this browser\'s sign-in, or with another sign-in\'s state, then 400 before the code is used, and no session', async () => {
    const sessions = await count('sessions');
    // Browser A starts a sign-in; an attacker's sign-in (B) is completed at the provider and its answer delivered to A (login CSRF).
    const a = new CookieJar();
    await fetch(new URL('/v1/session/oidc/start', lantern), { redirect: 'manual' }).then((r) => a.store(new URL('/v1/session/oidc/start', lantern), r));
    const b = new CookieJar();
    const { url: callback } = await browse(new URL('/v1/session/oidc/start', lantern), b, 'wei', (u) => u.pathname === callbackPath);
    const mismatch = await fetch(callback, { headers: { cookie: a.header(callback) }, redirect: 'manual' });
    expect(mismatch.status).toBe(400);
    expect((await answer<ErrorBody>(mismatch, 'GET', callbackPath)).error.code).toBe('OIDC_STATE_MISMATCH');
    // RFC 9207: an answer naming another issuer is a mix-up, whatever else it carries.
    const mixedUp = new URL(callback);
    mixedUp.searchParams.set('iss', 'https://evil.example');
    const mixUp = await fetch(mixedUp, { headers: { cookie: b.header(callback) }, redirect: 'manual' });
    expect(mixUp.status).toBe(400);
    expect((await answer<ErrorBody>(mixUp, 'GET', callbackPath)).error.code).toBe('OIDC_ISSUER_MISMATCH');
    const none = await fetch(callback, { redirect: 'manual' });
    expect(none.status).toBe(400);
    expect((await answer<ErrorBody>(none, 'GET', callbackPath)).error.code).toBe('OIDC_FLOW_MISSING');
    // B's own browser can still finish: the code was never redeemed.
    const own = await fetch(callback, { headers: { cookie: b.header(callback) }, redirect: 'manual' });
    expect(own.status).toBe(302);
    expect(await count('sessions')).toBe(sessions + 1);
    // The same answer replayed with the same flow cookie: the provider refuses a used code.
    const replay = await fetch(callback, { headers: { cookie: b.header(callback) }, redirect: 'manual' });
    expect(replay.status).toBe(401);
    expect((await answer<ErrorBody>(replay, 'GET', callbackPath)).error.code).toBe('OIDC_CODE_REJECTED');
    expect(await count('sessions')).toBe(sessions + 1);
  });

  it('when the provider vouches for someone it grants no Lantern role, then 403 OIDC_NO_ROLE and no account', async () => {
    const users = await count('users');
    const { response } = await signIn('li');
    expect(response.status).toBe(403);
    expect((await answer<ErrorBody>(response, 'GET', callbackPath)).error.code).toBe('OIDC_NO_ROLE');
    expect(await count('users')).toBe(users);
  });

  it('when the provider\'s user name is a local account\'s, then 409 USERNAME_TAKEN: the provider cannot take over a local account', async () => {
    const { response } = await signIn('impostor');
    expect(response.status).toBe(409);
    expect((await answer<ErrorBody>(response, 'GET', callbackPath)).error.code).toBe('USERNAME_TAKEN');
    expect((await api.client.audit('?entityId=tester')).map((a) => a.action)).not.toContain('session.started');
  });

  /** What a program does: the code flow with PKCE as its own client, for `account`; the provider's token answer. */
  async function programTokens(account: string): Promise<{ access_token: string; id_token: string }> {
    const discovery = await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json() as { authorization_endpoint: string; token_endpoint: string };
    const verifier = randomBytes(32).toString('base64url');
    const authorize = new URL(discovery.authorization_endpoint);
    authorize.search = new URLSearchParams({
      response_type: 'code', client_id: WARD_TOOL.client_id, redirect_uri: WARD_TOOL.redirect_uris[0], scope: `openid profile roles ${API_SCOPE}`,
      state: 'ward', nonce: 'ward', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    }).toString();
    const { url } = await browse(authorize, new CookieJar(), account, (u) => u.toString().startsWith(WARD_TOOL.redirect_uris[0]));
    const tokens = await fetch(discovery.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: url.searchParams.get('code')!, redirect_uri: WARD_TOOL.redirect_uris[0], code_verifier: verifier, client_id: WARD_TOOL.client_id }),
    });
    expect(tokens.status).toBe(200);
    return tokens.json() as Promise<{ access_token: string; id_token: string }>;
  }

  it('when a program sends a user\'s provider access token, then it acts as that user with the roles the token carries; expired, or an ID token instead, is 401', async () => {
    const { access_token, id_token } = await programTokens('wei');
    expect(decodeJwt(access_token).aud).toBe(API_AUDIENCE);
    const worklist = await apiClient(api.url, access_token).json('/v1/worklist');
    expect(worklist.status).toBe(200);
    const who = await apiClient(api.url, access_token).json<{ user: { username: string; roles: string[] } }>('/v1/session');
    expect(who.body.user).toMatchObject({ username: 'wei.zhang', roles: ['radiologist'] });

    const now = Math.floor(Date.now() / 1000);
    const expired = await idp.sign({ ...decodeJwt(access_token), iat: now - 600, exp: now - 60 }, { typ: 'at+jwt' });
    const late = await apiClient(api.url, expired).json<ErrorBody>('/v1/worklist');
    expect(late.status).toBe(401);
    expect(late.body.error.message).toMatch(/expired/);
    // An ID token names the client as its audience, never the API: it is not an access token.
    const idAsBearer = await apiClient(api.url, id_token).json<ErrorBody>('/v1/worklist');
    expect(idAsBearer.status).toBe(401);
    expect(idAsBearer.body.error.message).toMatch(/"aud" claim/);
  });

  it('when Lantern\'s account of a provider user is disabled, then neither a new sign-in nor their provider token gets in (403 USER_DISABLED), whatever the provider says', async () => {
    const { access_token } = await programTokens('wei');
    await api.store.db.query("update users set disabled_at = now() where username = 'wei.zhang'");
    try {
      const { response } = await signIn('wei');
      expect(response.status).toBe(403);
      expect((await answer<ErrorBody>(response, 'GET', callbackPath)).error.code).toBe('USER_DISABLED');
      const bearer = await apiClient(api.url, access_token).json<ErrorBody>('/v1/worklist');
      expect([bearer.status, bearer.body.error.code]).toEqual([403, 'USER_DISABLED']);
    } finally {
      await api.store.db.query("update users set disabled_at = null where username = 'wei.zhang'");
    }
  });

  it('when the provider rotates its signing key, then a token signed with the new key works at once (the JWKS is fetched again), and one with the old key still does', async () => {
    const before = (await programTokens('wei')).access_token;
    expect((await apiClient(api.url, before).json('/v1/worklist')).status).toBe(200);
    await idp.rotateKey();
    const after = (await programTokens('wei')).access_token;
    expect(decodeProtectedHeader(after).kid).not.toBe(decodeProtectedHeader(before).kid);
    expect((await apiClient(api.url, after).json('/v1/worklist')).status).toBe(200);
    expect((await apiClient(api.url, before).json('/v1/worklist')).status).toBe(200);
  });

  it('when the provider\'s grant runs out mid-session with the event stream open, then the stream says so and ends, and the next request is 401', async () => {
    idp.ttlSeconds = 3;
    try {
      const { cookie } = await signIn('wei');
      const { body: session } = await sessionOf(cookie);
      expect(Date.parse(session.expiresAt) - Date.now()).toBeLessThanOrEqual(3000);
      const stream = await connectEvents(api.url, { cookie });
      expect(stream.response.status).toBe(200);
      const opened = Date.now();
      const messages = await stream.untilEnd(10_000);
      const lasted = Date.now() - opened;
      expect(messages.at(-1)).toEqual({ event: 'signed-out', data: JSON.stringify({ reason: 'expired' }) });
      expect(lasted).toBeGreaterThan(1000);
      expect(lasted).toBeLessThan(4000);
      const after = await apiClient(api.url).json<ErrorBody>('/v1/worklist', { headers: { cookie } });
      expect(after.status).toBe(401);
    } finally {
      idp.ttlSeconds = 300;
    }
  });
});

describe('without a provider configured', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api?.stop());

  it('then only local accounts are offered, the provider routes answer 404, and a JWT-shaped bearer token is just an unknown token', async () => {
    const client = apiClient(api.url);
    expect((await client.json('/v1/session/options')).body).toEqual({ local: true });
    const start = await client.json<ErrorBody>('/v1/session/oidc/start');
    expect([start.status, start.body.error.code]).toEqual([404, 'OIDC_NOT_CONFIGURED']);
    const jwt = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'RS256' }).sign((await generateKeyPair('RS256')).privateKey);
    const bearer = await apiClient(api.url, jwt).json<ErrorBody>('/v1/worklist');
    expect([bearer.status, bearer.body.error.code]).toEqual([401, 'UNAUTHENTICATED']);
  });
});
