/**
 * Looking after accounts: an admin changes a user's roles and sites or disables the account;
 * a user changes their own password and lists and revokes their own tokens. Each takes
 * effect on the very next request, and each is audited with the right actor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../test/support/api-role.ts';

describe('account care', () => {
  let api: TestApi;
  const send = (token: string, method: string, path: string, body?: unknown) => fetch(new URL(path, api.url), {
    method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const admin = (method: string, path: string, body?: unknown) => send(api.token, method, path, body);

  beforeAll(async () => {
    api = await startTestApi();
    expect((await admin('POST', '/v1/sites', { id: 'township-b', name: 'Township B', level: 'township' })).status).toBe(201);
  });
  afterAll(() => api?.stop());

  it('when an admin changes a user\'s roles and sites, then the user\'s next request has them, audited with the admin as actor', async () => {
    const { token } = await api.signIn('dr-zhao', ['radiologist']);
    expect((await send(token, 'GET', '/v1/audit')).status).toBe(403);
    const changed = await admin('PATCH', '/v1/users/dr-zhao', { roles: ['radiologist', 'admin'], sites: ['main', 'township-b'] });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toMatchObject({ username: 'dr-zhao', roles: ['radiologist', 'admin'], sites: ['main', 'township-b'] });
    expect((await send(token, 'GET', '/v1/audit')).status).toBe(200);
    expect(await api.client.audit('?entityId=dr-zhao')).toEqual(expect.arrayContaining([
      expect.objectContaining({ action: 'user.updated', actor: 'tester', payload: { roles: ['radiologist', 'admin'], sites: ['main', 'township-b'] } }),
    ]));
  });

  it('when an admin disables a user, then their tokens and sessions stop at once and stay stopped after re-enabling', async () => {
    const { token } = await api.signIn('dr-qian', ['radiologist']);
    expect((await send(token, 'GET', '/v1/worklist')).status).toBe(200);
    expect((await admin('PATCH', '/v1/users/dr-qian', { disabled: true })).status).toBe(200);
    expect((await send(token, 'GET', '/v1/worklist')).status).toBe(401);
    expect((await admin('PATCH', '/v1/users/dr-qian', { disabled: false })).status).toBe(200);
    expect((await send(token, 'GET', '/v1/worklist')).status).toBe(401);
    expect((await api.client.audit('?entityId=dr-qian')).map((a) => a.action)).toEqual(expect.arrayContaining(['user.disabled', 'user.enabled']));
  });

  it('when the change is impossible, then a specific 4xx and nothing changes', async () => {
    expect((await admin('PATCH', '/v1/users/nobody-here', { displayName: 'X' })).status).toBe(404);
    const unknownSite = await admin('PATCH', '/v1/users/dr-zhao', { sites: ['atlantis'] });
    expect(unknownSite.status).toBe(422);
    expect((await admin('PATCH', '/v1/users/dr-zhao', {})).status).toBe(422);
    const self = await admin('PATCH', '/v1/users/tester', { disabled: true });
    expect(self.status).toBe(409);
    expect((await self.json() as { error: { code: string } }).error.code).toBe('OWN_ACCOUNT');
    expect((await admin('GET', '/v1/users')).status).toBe(200);
    const users = (await (await admin('GET', '/v1/users')).json() as { items: { username: string; sites: string[] }[] }).items;
    expect(users.find((u) => u.username === 'dr-zhao')?.sites).toEqual(['main', 'township-b']);
  });

  it('when a user revokes one of their tokens, then it signs nobody in and their other token still works; another user\'s token id is not theirs to revoke', async () => {
    const first = await api.signIn('dr-sun', ['radiologist']);
    const second = await (await send(first.token, 'POST', '/v1/tokens', { name: 'second', days: 1 })).json() as { token: string };
    const listed = await (await send(first.token, 'GET', '/v1/tokens')).json() as { items: { id: string; name: string }[] };
    expect(listed.items.map((t) => t.name)).toEqual(['test', 'second']);
    expect(JSON.stringify(listed)).not.toContain(second.token);
    const secondId = listed.items[1].id;
    // Used once before it is revoked: the sign-in the API keeps between requests must not outlive it.
    expect((await send(second.token, 'GET', '/v1/session')).status).toBe(200);
    expect((await api.client.json(`/v1/tokens/${secondId}`, { method: 'DELETE' })).status).toBe(404);
    expect((await send(first.token, 'DELETE', `/v1/tokens/${secondId}`)).status).toBe(204);
    expect((await send(second.token, 'GET', '/v1/session')).status).toBe(401);
    expect((await send(first.token, 'GET', '/v1/session')).status).toBe(200);
    expect((await api.client.audit('?entityId=dr-sun')).find((a) => a.action === 'token.revoked')).toMatchObject({ actor: 'dr-sun', payload: { tokenId: secondId, name: 'second' } });
  });

  it('when a user changes their password, then the old one stops working and their other sessions end, this one stays', async () => {
    expect((await admin('POST', '/v1/users', { username: 'dr-li', displayName: 'Dr Li', roles: ['radiologist'], password: 'first password here' })).status).toBe(201);
    const signIn = async (password: string) => {
      const response = await fetch(new URL('/v1/session', api.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'dr-li', password }) });
      return { status: response.status, cookie: (response.headers.get('set-cookie') ?? '').split(';')[0], csrf: response.status === 200 ? (await response.json() as { csrfToken: string }).csrfToken : '' };
    };
    const here = await signIn('first password here');
    const elsewhere = await signIn('first password here');
    const change = (current: string) => fetch(new URL('/v1/session/password', api.url), {
      method: 'PUT', headers: { cookie: here.cookie, 'x-csrf-token': here.csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ currentPassword: current, newPassword: 'second password here' }),
    });
    expect((await change('a wrong guess')).status).toBe(403);
    expect((await change('first password here')).status).toBe(204);
    expect((await fetch(new URL('/v1/session', api.url), { headers: { cookie: here.cookie } })).status).toBe(200);
    expect((await fetch(new URL('/v1/session', api.url), { headers: { cookie: elsewhere.cookie } })).status).toBe(401);
    expect((await signIn('first password here')).status).toBe(401);
    expect((await signIn('second password here')).status).toBe(200);
    expect((await api.client.audit('?entityId=dr-li')).map((a) => a.action)).toContain('user.password-changed');
  });
});
