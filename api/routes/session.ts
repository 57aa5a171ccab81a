import { Hono } from 'hono';
import { deleteCookie } from 'hono/cookie';
import { loginRequest, passwordChange, session, tokenAnswer, tokenList, tokenParams, tokenRequest, type Session } from '../../contract/identity.ts';
import { ACCESS } from '../access.ts';
import { announceSignOut, isTls, SESSION_COOKIE, setSessionCookie } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { mount } from '../route.ts';
import { oidcSignInRoutes } from './oidc.ts';

/**
 * Signing in and out with a local account (or the hospital's identity provider: ./oidc.ts), and bearer tokens for programs. The session
 * cookie is HttpOnly and SameSite=Strict; the answer carries the CSRF token the page must
 * echo on every state-changing request.
 */
export function sessionRoutes(deps: ApiDeps) {
  const app = new Hono();
  const lifetime = { idleMinutes: deps.config.sessionIdleMinutes, absoluteHours: deps.config.sessionAbsoluteHours };

  mount(app, {
    method: 'post', path: '/v1/session', operationId: 'signIn', access: 'public', tag: 'identity',
    summary: 'Sign in with a local account: sets the session cookie, answers the user and the CSRF token',
    body: loginRequest,
    responses: { 200: { description: 'Signed in.', json: session } },
    errors: { 401: 'UNAUTHENTICATED: unknown user or wrong password (not told apart).' },
  }, async (c, { body }) => {
    const signedIn = await deps.store.checkPassword(body.username, body.password);
    if (!signedIn) throw new ApiError(401, 'UNAUTHENTICATED', 'unknown user or wrong password');
    const started = await deps.store.startSession(signedIn.user, lifetime);
    setSessionCookie(c, started.token, started.expiresAt);
    return c.json({ user: { ...signedIn.user, readsFor: signedIn.readsFor }, csrfToken: started.csrfToken, expiresAt: started.expiresAt } satisfies Session);
  });

  mount(app, {
    method: 'get', path: '/v1/session', operationId: 'getSession', access: ACCESS.anyone, tag: 'identity',
    summary: 'Who is signed in (and, for a browser session, its CSRF token)',
    responses: { 200: { description: 'The signed-in user.', json: session } },
    errors: { 401: 'UNAUTHENTICATED: nobody is signed in, or the session ended.' },
  }, (c, { auth }) => c.json({ user: { ...auth.user, readsFor: [...auth.readsFor] }, csrfToken: auth.csrfToken, expiresAt: auth.expiresAt } satisfies Session));

  mount(app, {
    method: 'delete', path: '/v1/session', operationId: 'signOut', access: ACCESS.anyone, tag: 'identity',
    summary: 'Sign out: the session ends on the server and the cookie is cleared',
    responses: { 204: { description: 'Signed out.' } },
  }, async (c, { auth }) => {
    if (auth.sessionToken) {
      await deps.store.endSession(auth.sessionToken);
      announceSignOut(auth.sessionToken);
    }
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure: isTls(c) });
    return c.body(null, 204);
  });

  mount(app, {
    method: 'post', path: '/v1/tokens', operationId: 'createToken', access: ACCESS.anyone, tag: 'identity',
    summary: 'A bearer token for a program (an API or DICOMweb client) acting as the signed-in user',
    description: 'Shown once; only its hash is kept. Send it as `Authorization: Bearer <token>`.',
    body: tokenRequest,
    responses: { 201: { description: 'The token.', json: tokenAnswer } },
  }, async (c, { body, auth }) => {
    const { token, expiresAt } = await deps.store.createApiToken(auth.user, body.name, body.days);
    return c.json({ token, name: body.name, expiresAt }, 201);
  });

  mount(app, {
    method: 'get', path: '/v1/tokens', operationId: 'listTokens', access: ACCESS.anyone, tag: 'identity',
    summary: 'The signed-in user\'s bearer tokens that have not expired (names and dates, never values)',
    responses: { 200: { description: 'The tokens.', json: tokenList } },
  }, async (c, { auth }) => c.json({ items: await deps.store.listApiTokens(auth.user.username) }));

  mount(app, {
    method: 'delete', path: '/v1/tokens/{tokenId}', operationId: 'revokeToken', access: ACCESS.anyone, tag: 'identity',
    summary: 'Revoke one of the signed-in user\'s bearer tokens',
    params: tokenParams,
    responses: { 204: { description: 'Revoked: the token signs nobody in any more.' } },
    errors: { 404: 'The user has no token with that id.' },
  }, async (c, { params, auth }) => {
    if (!(await deps.store.revokeApiToken(auth.user.username, params.tokenId))) throw new ApiError(404, 'NOT_FOUND', `you have no token ${params.tokenId}`);
    return c.body(null, 204);
  });

  mount(app, {
    method: 'put', path: '/v1/session/password', operationId: 'changePassword', access: ACCESS.anyone, tag: 'identity',
    summary: 'Change the signed-in user\'s own password; every other session of the user ends',
    body: passwordChange,
    responses: { 204: { description: 'Changed.' } },
    errors: { 403: 'WRONG_PASSWORD: the current password is wrong, or the account signs in through the identity provider.' },
  }, async (c, { body, auth }) => {
    if (!(await deps.store.changePassword(auth.user.username, body.currentPassword, body.newPassword, auth.sessionToken))) {
      throw new ApiError(403, 'WRONG_PASSWORD', 'the current password is wrong (or this account signs in through the identity provider)');
    }
    return c.body(null, 204);
  });

  oidcSignInRoutes(app, deps);
  return app;
}
