/**
 * Who may call what, over real HTTP against the API role: every operation the OpenAPI
 * document lists × no user and each role alone, read from the same declarations the server
 * enforces — a new route joins the matrix by existing. Then sessions: sign-in, the CSRF
 * token a cookie session must echo, idle and absolute expiry, sign-out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, type Role } from '../contract/identity.ts';
import { startTestApi, type TestApi } from '../test/support/api-role.ts';
import { connectEvents } from '../test/support/event-stream.ts';

type Operation = { operationId: string; 'x-roles'?: Role[]; security: unknown[] };
type Document = { paths: Record<string, Record<string, Operation>> };

/** Path parameters filled with values that name nothing: the route's own 404/422 comes after the access check. */
const concrete = (template: string) => template.replace('{asset}', 'swagger-ui.css').replace(/\{\w+\}/g, '1.2.3');

describe('the role matrix: every operation × no user and each role', () => {
  let api: TestApi;
  let operations: { method: string; path: string; op: Operation }[];
  const tokens = new Map<Role, string>();

  beforeAll(async () => {
    api = await startTestApi();
    const document = await (await fetch(`${api.url}/openapi.json`)).json() as Document;
    operations = Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), path, op })));
    for (const role of ROLES) tokens.set(role, (await api.signIn(`only-${role}`, [role])).token);
  });
  afterAll(() => api?.stop());

  /** The status of one call, with the stream of an event route closed at once. */
  async function call(method: string, path: string, token?: string): Promise<number> {
    const controller = new AbortController();
    const response = await fetch(`${api.url}${concrete(path)}`, {
      method,
      signal: controller.signal,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(method === 'GET' ? {} : { body: '{}' }),
    });
    controller.abort();
    return response.status;
  }

  it('then every operation is in the matrix, and only health, readiness, the API description and the ways of signing in are public', () => {
    const open = operations.filter((o) => o.op.security.length === 0).map((o) => `${o.method} ${o.path}`).sort();
    expect(open).toEqual(['GET /docs/api', 'GET /docs/api/{asset}', 'GET /fhir/metadata', 'GET /health', 'GET /health/event-loop', 'GET /health/live', 'GET /openapi.json', 'GET /ready', 'GET /v1/session/oidc/callback', 'GET /v1/session/oidc/start', 'GET /v1/session/options', 'POST /health/live', 'POST /v1/session']);
    expect(operations.length).toBeGreaterThan(25);
  });

  it('when nobody is signed in, then every protected operation answers 401', async () => {
    const answers = await Promise.all(operations.filter((o) => o.op['x-roles']).map(async (o) => [`${o.method} ${o.path}`, await call(o.method, o.path)]));
    expect(answers.filter(([, status]) => status !== 401)).toEqual([]);
  });

  it.each(ROLES)('when only a %s is signed in, then exactly the operations declaring that role let them past the door', async (role) => {
    const outcomes = await Promise.all(operations.filter((o) => o.op['x-roles']).map(async (o) => {
      const status = await call(o.method, o.path, tokens.get(role));
      const allowed = o.op['x-roles']!.includes(role);
      return { operation: `${o.method} ${o.path}`, allowed, status, ok: allowed ? status !== 401 && status !== 403 : status === 403 };
    }));
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    expect(outcomes.some((o) => o.allowed)).toBe(true);
  });

  it('then patient data is never for model teams or admins alone, de-identified studies are for model teams, and the audit trail is for admins only', () => {
    const rolesOf = (method: string, path: string) => operations.find((o) => o.method === method && o.path === path)!.op['x-roles'];
    for (const [method, path] of [['GET', '/v1/worklist'], ['GET', '/v1/studies/{studyInstanceUid}'], ['GET', '/v1/events'],
      ['GET', '/dicomweb/studies/{study}/series/{series}/instances/{instance}/frames/{frame}']]) {
      expect(rolesOf(method, path)).not.toContain('model-team');
      expect(rolesOf(method, path)).not.toContain('admin');
    }
    expect(rolesOf('GET', '/v1/audit')).toEqual(['admin']);
    for (const path of ['/v1/research/studies', '/v1/research/studies/{pseudonymousUid}', '/v1/research/studies/{pseudonymousUid}/instances/{pseudonymousInstanceUid}/frames/{frame}']) {
      expect(rolesOf('GET', path)).toEqual(['model-team']);
    }
  });
});

describe('browser sessions', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
    await api.client.json('/v1/users', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'dr-li', displayName: '李医生', roles: ['radiologist'], password: 'correct horse battery' }),
    });
  });
  afterAll(() => api?.stop());

  async function signIn(password = 'correct horse battery') {
    const response = await fetch(`${api.url}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'dr-li', password }) });
    const cookie = response.headers.get('set-cookie') ?? '';
    return { status: response.status, cookie: cookie.split(';')[0], setCookie: cookie, body: await response.json() as { csrfToken: string; user: { username: string } } };
  }
  const review = (cookie: string, headers: Record<string, string> = {}) => fetch(`${api.url}/v1/findings/no-such-finding/review`, {
    method: 'POST', headers: { cookie, 'content-type': 'application/json', ...headers }, body: JSON.stringify({ decision: 'accept' }),
  });

  it('when the password is wrong, then 401 and no cookie; when it is right, an HttpOnly SameSite=Strict cookie and a CSRF token', async () => {
    const wrong = await signIn('wrong password');
    expect(wrong.status).toBe(401);
    expect(wrong.setCookie).toBe('');
    const right = await signIn();
    expect(right.status).toBe(200);
    expect(right.setCookie).toMatch(/lantern_session=[^;]+;.*HttpOnly/i);
    expect(right.setCookie).toMatch(/SameSite=Strict/i);
    expect(right.body).toMatchObject({ user: { username: 'dr-li' }, csrfToken: expect.any(String) });
  });

  it('when a signed-in page changes something without the CSRF token, then 403; with it, the request goes through', async () => {
    const { cookie, body } = await signIn();
    const withoutToken = await review(cookie);
    expect(withoutToken.status).toBe(403);
    expect((await withoutToken.json() as { error: { code: string } }).error.code).toBe('CSRF_TOKEN_MISSING');
    expect((await review(cookie, { 'x-csrf-token': 'guessed' })).status).toBe(403);
    expect((await review(cookie, { 'x-csrf-token': body.csrfToken })).status).toBe(404);
  });

  it('when a session has been idle past its limit or lived past its maximum, then it no longer signs anyone in', async () => {
    const idle = await signIn();
    const old = await signIn();
    const headers = (cookie: string) => ({ headers: { cookie } });
    expect((await fetch(`${api.url}/v1/session`, headers(idle.cookie))).status).toBe(200);
    await api.store.db.query("update sessions set last_seen_at = now() - interval '31 minutes' where csrf_token = $1", [idle.body.csrfToken]);
    await api.store.db.query("update sessions set expires_at = now() - interval '1 second' where csrf_token = $1", [old.body.csrfToken]);
    expect((await fetch(`${api.url}/v1/session`, headers(idle.cookie))).status).toBe(401);
    expect((await fetch(`${api.url}/v1/session`, headers(old.cookie))).status).toBe(401);
  });

  it('when a session is used after a few minutes, then its idle clock restarts (written at most once a minute)', async () => {
    const { cookie, body } = await signIn();
    const seen = async () => (await api.store.db.query<{ idle: number }>('select extract(epoch from now() - last_seen_at)::int as idle from sessions where csrf_token = $1', [body.csrfToken])).rows[0].idle;
    await api.store.db.query("update sessions set last_seen_at = now() - interval '5 minutes' where csrf_token = $1", [body.csrfToken]);
    expect((await fetch(`${api.url}/v1/session`, { headers: { cookie } })).status).toBe(200);
    expect(await seen()).toBeLessThan(5);
  });

  it('when the user signs out with the live event stream open, then the stream says so and ends at once', async () => {
    const { cookie, body } = await signIn();
    const stream = await connectEvents(api.url, { cookie });
    expect(await stream.next()).toEqual({ comment: 'connected' });
    const signingOut = Date.now();
    expect((await fetch(`${api.url}/v1/session`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': body.csrfToken } })).status).toBe(204);
    expect((await stream.untilEnd(5000)).at(-1)).toEqual({ event: 'signed-out', data: JSON.stringify({ reason: 'signed-out' }) });
    // At once, not at the next periodic check (15 s).
    expect(Date.now() - signingOut).toBeLessThan(2000);
  });

  it('when an open event stream checks that its session still holds, then the check does not count as use (an unattended screen still times out)', async () => {
    const { cookie, body } = await signIn();
    await api.store.db.query("update sessions set last_seen_at = now() - interval '29 minutes' where csrf_token = $1", [body.csrfToken]);
    const lifetime = { idleMinutes: 30, absoluteHours: 12 };
    const value = cookie.slice(cookie.indexOf('=') + 1);
    expect(await api.store.sessionFor(value, lifetime, false)).toBeDefined();
    await api.store.db.query("update sessions set last_seen_at = last_seen_at - interval '2 minutes' where csrf_token = $1", [body.csrfToken]);
    expect(await api.store.sessionFor(value, lifetime, false)).toBeUndefined();
  });

  it('when the user signs out, then the cookie is cleared and the session is gone on the server', async () => {
    const { cookie, body } = await signIn();
    const out = await fetch(`${api.url}/v1/session`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': body.csrfToken } });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/lantern_session=;/);
    expect((await fetch(`${api.url}/v1/session`, { headers: { cookie } })).status).toBe(401);
    const audit = await api.client.audit('?entityId=dr-li');
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['session.ended', 'session.started', 'user.created']));
  });
});

describe('the audited actor', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api?.stop());

  it('when a request names someone else (the old X-Lantern-User header), then the audit records the signed-in user', async () => {
    const { token } = await api.signIn('dr-real', ['grassroots-doctor']);
    const answer = await fetch(new URL('/v1/risk/qsofa', api.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-lantern-user': 'dr-someone-else' },
      body: JSON.stringify({ respiratoryRate: 24, systolicBp: { value: 95, unit: 'mmHg' }, gcs: 14 }),
    });
    expect(answer.status).toBe(200);
    const records = await api.client.audit('?action=score.calculated');
    expect(records.map((r) => r.actor)).toContain('dr-real');
    expect(JSON.stringify(await api.client.audit('?limit=500'))).not.toContain('dr-someone-else');
  });
});
