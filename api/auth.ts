import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { Role, User } from '../contract/identity.ts';
import type { SessionLifetime } from '../store/users.ts';
import type { ApiDeps } from './deps.ts';
import { ApiError } from './errors.ts';

/**
 * Who is asking, resolved once per request and only when a route needs it: a bearer token
 * (API and DICOMweb clients) or the browser's session cookie. A cookie session must also
 * prove, on every state-changing request, that the page knows its CSRF token — a page on
 * another origin can make the browser send the cookie, but cannot read the token.
 */

export const SESSION_COOKIE = 'lantern_session';

export interface Authenticated {
  user: User;
  via: 'token' | 'session';
  /** Cookie sessions only. */
  csrfToken?: string;
  /** Cookie sessions only: the cookie's value (to end the session). */
  sessionToken?: string;
  expiresAt?: string;
}

type Resolve = () => Promise<Authenticated | undefined>;

const RESOLVER = 'lantern.auth';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Registers, for each request, how to find its user; nothing is looked up until a route asks. */
export function authentication(deps: Pick<ApiDeps, 'store'>, lifetime: SessionLifetime): MiddlewareHandler {
  return async (c, next) => {
    let resolved: Promise<Authenticated | undefined> | undefined;
    c.set(RESOLVER as never, (() => (resolved ??= resolve(c, deps, lifetime))) as never);
    await next();
  };
}

async function resolve(c: Context, deps: Pick<ApiDeps, 'store'>, lifetime: SessionLifetime): Promise<Authenticated | undefined> {
  const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
  if (bearer) {
    const user = await deps.store.userForToken(bearer);
    if (!user) throw new ApiError(401, 'UNAUTHENTICATED', 'the bearer token is unknown or expired');
    return { user, via: 'token' };
  }
  const cookie = getCookie(c, SESSION_COOKIE);
  if (!cookie) return undefined;
  const session = await deps.store.sessionFor(cookie, lifetime);
  return session && { user: session.user, via: 'session', csrfToken: session.csrfToken, sessionToken: cookie, expiresAt: session.expiresAt };
}

/** The request's user, if any. */
async function authOf(c: Context): Promise<Authenticated | undefined> {
  const find = c.get(RESOLVER as never) as Resolve | undefined;
  return find?.();
}

/**
 * The signed-in user holding one of `roles`: 401 without a user, 403 without the role, 403
 * for a cookie session's state-changing request without its CSRF token.
 */
export async function requireRole(c: Context, roles: readonly Role[]): Promise<Authenticated> {
  const auth = await authOf(c);
  if (!auth) throw new ApiError(401, 'UNAUTHENTICATED', 'sign in first (POST /v1/session), or send a bearer token');
  if (!auth.user.roles.some((r) => roles.includes(r))) {
    throw new ApiError(403, 'FORBIDDEN', `this needs one of the roles ${roles.join(', ')}; ${auth.user.username} has ${auth.user.roles.join(', ')}`);
  }
  if (auth.via === 'session' && !SAFE_METHODS.has(c.req.method) && c.req.header('x-csrf-token') !== auth.csrfToken) {
    throw new ApiError(403, 'CSRF_TOKEN_MISSING', 'a signed-in browser request that changes something must send the X-CSRF-Token of its session');
  }
  return auth;
}
