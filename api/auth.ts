import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { Role, User } from '../contract/identity.ts';
import type { SessionLifetime, SignedInUser } from '../store/users.ts';
import { audiencesFor, type CdsClientClaims } from './cds-hooks/clients.ts';
import type { ApiDeps } from './deps.ts';
import { ApiError } from './errors.ts';
import { refusal } from './oidc.ts';

/**
 * Who is asking, resolved once per request and only when a route needs it: a bearer token
 * (API and DICOMweb clients: one Lantern issued, or a JWT access token of the hospital's
 * OpenID Connect provider, verified against its JWKS) or the browser's session cookie. A cookie session must also
 * prove, on every state-changing request, that the page knows its CSRF token — a page on
 * another origin can make the browser send the cookie, but cannot read the token.
 */

export const SESSION_COOKIE = 'lantern_session';

export interface Authenticated {
  user: User;
  /**
   * The sites whose patient data this caller reads and decides on: the user's own `sites` and
   * every site one of them reads for (site_reading, direct only). What the user sends in is
   * filed under `user.sites[0]`, never under a site it only reads for.
   */
  scope: readonly string[];
  /** The sites in `scope` that are not the user's own: those its sites read for. */
  readsFor: readonly string[];
  via: 'token' | 'provider-token' | 'session' | 'cds-client';
  /** A CDS client's JWT only (CDS Hooks): what it claims, for the audit record beside the account it acts as. */
  cdsClient?: CdsClientClaims;
  /** Cookie sessions only. */
  csrfToken?: string;
  /** Cookie sessions only: the cookie's value (to end the session). */
  sessionToken?: string;
  expiresAt?: string;
  /**
   * Whether this sign-in still holds (session not ended or expired, token not revoked or
   * expired, user not disabled): for an answer that outlives its request, the event stream.
   */
  stillValid(): Promise<boolean>;
}

type Resolve = () => Promise<Authenticated | undefined>;

const RESOLVER = 'lantern.auth';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Registers, for each request, how to find its user; nothing is looked up until a route asks. */
export function authentication(deps: Pick<ApiDeps, 'store' | 'oidc' | 'config' | 'cdsClients'>, lifetime: SessionLifetime): MiddlewareHandler {
  return async (c, next) => {
    let resolved: Promise<Authenticated | undefined> | undefined;
    c.set(RESOLVER as never, (() => (resolved ??= resolve(c, deps, lifetime))) as never);
    await next();
  };
}

/**
 * The site scope of a user the store found signing in (see Authenticated.scope). Every way of
 * signing in (a token, a session, a provider's or CDS client's JWT, a DIMSE peer's AE title, a
 * password) reads the user and the sites they read for in one statement (store/users.ts): a
 * request makes at most one round trip before its handler (none for a Lantern token whose sign-in the
 * store keeps: store/sign-in-cache.ts).
 */
export const siteScope = ({ user, readsFor }: SignedInUser): Pick<Authenticated, 'user' | 'scope' | 'readsFor'> =>
  ({ user, scope: [...user.sites, ...readsFor], readsFor });

/** Who is asking, by the first credential the request carries: a CDS client's or the provider's JWT, Lantern's token, the session cookie. */
async function resolve(c: Context, deps: Pick<ApiDeps, 'store' | 'oidc' | 'config' | 'cdsClients'>, lifetime: SessionLifetime): Promise<Authenticated | undefined> {
  const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
  // A JWT of a configured CDS client, or any JWT sent to /cds-services when no provider takes access tokens.
  if (bearer && deps.cdsClients && bearer.split('.').length === 3 && (deps.cdsClients.claims(bearer) || (!deps.oidc?.acceptsAccessTokens && CDS_PATH.test(c.req.path)))) {
    return cdsClient(c, deps, bearer);
  }
  // Lantern's own tokens are one base64url word; a JWT has three, joined by dots.
  if (bearer && deps.oidc?.acceptsAccessTokens && bearer.split('.').length === 3) return providerToken(deps, bearer);
  if (bearer) {
    const signedIn = await deps.store.userForToken(bearer);
    if (!signedIn) throw new ApiError(401, 'UNAUTHENTICATED', 'the bearer token is unknown or expired');
    return { ...siteScope(signedIn), via: 'token', stillValid: async () => Boolean(await deps.store.userForToken(bearer)) };
  }
  const cookie = getCookie(c, SESSION_COOKIE);
  if (!cookie) return undefined;
  const session = await deps.store.sessionFor(cookie, lifetime);
  return session && {
    ...siteScope(session), via: 'session', csrfToken: session.csrfToken, sessionToken: cookie, expiresAt: session.expiresAt,
    // Asked by an open stream, not by the user: it must not renew the idle timeout.
    stillValid: async () => Boolean(await deps.store.sessionFor(cookie, lifetime, false)),
  };
}

/** The user a provider's access token speaks for, with the roles it carries (else those of their last sign-in). */
async function providerToken(deps: Pick<ApiDeps, 'store' | 'oidc' | 'config'>, token: string): Promise<Authenticated> {
  const { identity, expiresAt } = await deps.oidc!.verifyAccessToken(token);
  const outcome = await deps.store.userFromProvider(identity, deps.config.oidc?.provisionUsers ?? false);
  if ('refused' in outcome) throw refusal(outcome.refused, identity.username);
  return {
    ...siteScope(outcome), via: 'provider-token', expiresAt: expiresAt.toISOString(),
    stillValid: async () => Date.now() < expiresAt.getTime() && !('refused' in await deps.store.userFromProvider({ ...identity, roles: undefined }, false)),
  };
}

const CDS_PATH = /^\/cds-services(\/|$)/;

/**
 * The account a CDS client acts as, once its JWT verifies for the URL called (api/cds-hooks/clients.ts).
 * Only on the CDS Hooks routes: an EHR signs its own tokens, so its key must open nothing else.
 */
async function cdsClient(c: Context, deps: Pick<ApiDeps, 'store' | 'cdsClients'>, token: string): Promise<Authenticated> {
  if (!CDS_PATH.test(c.req.path)) throw new ApiError(401, 'CDS_CLIENT_TOKEN_OUT_OF_SCOPE', 'a CDS client\'s JWT is accepted on /cds-services only');
  const { username, claims, expiresAt } = await deps.cdsClients!.verify(token, audiencesFor(c.req.url));
  const account = await deps.store.activeUser(username);
  if (!account) throw new ApiError(401, 'CDS_CLIENT_USER_UNKNOWN', `the CDS client ${claims.iss} acts as account ${username}, which does not exist or is disabled`);
  return {
    ...siteScope(account), via: 'cds-client', cdsClient: claims, expiresAt: expiresAt.toISOString(),
    stillValid: async () => Date.now() < expiresAt.getTime() && Boolean(await deps.store.activeUser(username)),
  };
}

/** Over HTTPS cookies are Secure; on plain loopback HTTP (the embedded default) they cannot be. */
export const isTls = (c: Context) => new URL(c.req.url).protocol === 'https:';

/** The browser session's cookie, HttpOnly and SameSite=Strict, kept by the browser exactly as long as the session lives. */
export function setSessionCookie(c: Context, token: string, expiresAt: string): void {
  const maxAge = Math.max(0, Math.floor((Date.parse(expiresAt) - Date.now()) / 1000));
  setCookie(c, SESSION_COOKIE, token, { httpOnly: true, sameSite: 'Strict', path: '/', secure: isTls(c), maxAge });
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

/** setTimeout's longest delay (about 24.8 days); a later expiry is caught by the periodic check. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Who waits on a session of this process ending (its cookie value → callbacks): a sign-out here ends them at once. */
const sessionWatchers = new Map<string, Set<() => void>>();

/** Called when a session is signed out in this process; a sign-out in another API process is found by the periodic check. */
export function announceSignOut(sessionToken: string): void {
  for (const ended of sessionWatchers.get(sessionToken) ?? []) ended();
}

/**
 * For an answer that outlives its request (the event stream): resolves with why the sign-in
 * behind it ended — at its expiry to the millisecond, at a sign-out in this process at once,
 * or when a check every `checkEveryMs` finds it signed out elsewhere, idle past its limit,
 * revoked or its user disabled. `stop()` when the answer ends first.
 */
export function whenSignInEnds(auth: Authenticated, checkEveryMs: number): { ended: Promise<'expired' | 'signed-out'>; stop(): void } {
  let expiry: ReturnType<typeof setTimeout> | undefined;
  let check: ReturnType<typeof setInterval> | undefined;
  let signedOut: (() => void) | undefined;
  const ended = new Promise<'expired' | 'signed-out'>((resolve) => {
    if (auth.sessionToken) {
      signedOut = () => resolve('signed-out');
      sessionWatchers.set(auth.sessionToken, (sessionWatchers.get(auth.sessionToken) ?? new Set()).add(signedOut));
    }
    if (auth.expiresAt) expiry = setTimeout(() => resolve('expired'), Math.min(MAX_TIMER_MS, Math.max(0, Date.parse(auth.expiresAt) - Date.now())));
    check = setInterval(() => {
      // A check that cannot reach the database says nothing about the sign-in; the next one will.
      auth.stillValid().then((valid) => valid || resolve('signed-out'), () => undefined);
    }, checkEveryMs);
  });
  return {
    ended,
    stop() {
      clearTimeout(expiry);
      clearInterval(check);
      const watchers = auth.sessionToken ? sessionWatchers.get(auth.sessionToken) : undefined;
      if (watchers && signedOut) {
        watchers.delete(signedOut);
        if (watchers.size === 0) sessionWatchers.delete(auth.sessionToken!);
      }
    },
  };
}
