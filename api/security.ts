import { createHash } from 'node:crypto';
import net from 'node:net';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import { NONCE, secureHeaders } from 'hono/secure-headers';
import type { LanternConfig } from '../config.ts';
import { ApiError, errorResponse } from './errors.ts';
import type { Redis } from 'ioredis';
import { redisTokenBuckets, tokenBuckets, type TokenBuckets } from './rate-limit.ts';

/**
 * What every request passes before a route sees it: the browser-facing defences of a
 * service that holds patient data.
 *
 * - Security headers on every answer: a CSP that allows no inline script and no framing
 *   (the viewer and the Swagger UI page load only their own files), nosniff, no referrer
 *   (URLs carry study UIDs), HSTS when this process serves TLS.
 * - Host check (DNS rebinding): a page on `evil.example` whose name an attacker re-points at
 *   127.0.0.1 reaches us with `Host: evil.example`; only `localhost`, IP literals and the
 *   configured names are answered (421 otherwise).
 * - Origin check (cross-site request forgery): a POST/PUT/PATCH/DELETE whose `Origin` (or,
 *   absent, `Referer`) is another origin is refused with 403 — whatever its content type, so
 *   a `text/plain` "simple" request from another site cannot write. Requests with neither
 *   header are not from a browser page (curl, DICOMweb clients) and pass.
 * - Rate limits: a token bucket per client (bearer token, else IP) on the expensive routes and on login (429 + Retry-After);
 *   with `sharedLogin`, login's buckets are kept in Redis and hold across every API process using it.
 *
 * Defaults: everything on; `LANTERN_ALLOWED_HOSTS`, `LANTERN_ALLOWED_ORIGINS`,
 * `LANTERN_RATE_LIMIT`, `LANTERN_LOGIN_RATE_LIMIT` and the TLS files adjust it (config.ts).
 */
export type SecurityOptions = Pick<LanternConfig, 'allowedHosts' | 'allowedOrigins' | 'rateLimitPerMinute' | 'loginRateLimitPerMinute'> & {
  tls: boolean;
  /** Count sign-in attempts in this Redis, under `keyPrefix`, across API processes (config `sharedRateLimits`); unset: in this process's memory. */
  sharedLogin?: { redis: Redis; keyPrefix: string };
};

const DEFAULTS: SecurityOptions = { allowedHosts: [], allowedOrigins: [], rateLimitPerMinute: 600, loginRateLimitPerMinute: 10, tls: false };

/** Routes whose one request costs far more than a read: decoding, storing, a model run, a whole-table scan. */
const EXPENSIVE: readonly [method: string, path: RegExp][] = [
  ['POST', /^\/dicomweb\/studies(\/[^/]+)?\/?$/],
  ['GET', /^\/dicomweb\/studies\/.+\/rendered$/],
  ['POST', /^\/v1\/risk\/[^/]+$/],
  ['POST', /^\/v1\/triage$/],
  ['POST', /^\/cds-services\/[^/]+$/],
  ['GET', /^\/v1\/agreement\.csv$/],
];
/**
 * Password guessing: whatever the identity routes call their login; and the identity provider's
 * callback, each of which makes Lantern call the provider (a code to redeem).
 */
const LOGIN: readonly [method: string, path: RegExp][] = [['POST', /^\/v1\/(auth\/)?(login|sessions?)$/], ['GET', /^\/v1\/session\/oidc\/callback$/]];

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The middleware in the order it must run (headers first, so that refusals carry them too): `app.use('*', ...security(options))`. */
export function security(options: Partial<SecurityOptions> = {}): MiddlewareHandler[] {
  const o: SecurityOptions = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
  return [
    headers(o.tls),
    hostCheck(o.allowedHosts),
    originCheck(o.allowedOrigins),
    rateLimit(EXPENSIVE, o.rateLimitPerMinute, 'expensive route', tokenBuckets),
    rateLimit(LOGIN, o.loginRateLimitPerMinute, 'login', (perMinute) => (o.sharedLogin
      ? redisTokenBuckets(o.sharedLogin.redis, `${o.sharedLogin.keyPrefix}:rate:login`, perMinute)
      : tokenBuckets(perMinute))),
  ];
}

function headers(tls: boolean): MiddlewareHandler {
  return secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      // No 'unsafe-inline': the viewer sets element styles through the CSSOM, which CSP does not govern. The nonce
      // (new per answer) lets a document Lantern renders itself carry its own <style> (the printable consultation report).
      styleSrc: ["'self'", NONCE],
      // Swagger UI's icons are data: SVGs; heatmaps and downloads may be blob: URLs.
      imgSrc: ["'self'", 'data:', 'blob:'],
      fontSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
    xFrameOptions: 'DENY',
    referrerPolicy: 'no-referrer',
    xContentTypeOptions: 'nosniff',
    crossOriginResourcePolicy: 'same-origin',
    crossOriginOpenerPolicy: 'same-origin',
    // Only meaningful over TLS; a browser ignores it over HTTP, but sending it there would mislead a reader of the headers.
    strictTransportSecurity: tls ? 'max-age=31536000' : false,
  });
}

/** `Host` without its port, lower-case; `[::1]:8080` → `::1`. */
function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']'));
  const colon = h.lastIndexOf(':');
  return colon >= 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

/**
 * IP literals are safe to answer: rebinding needs a name the attacker controls, and a page
 * opened at an address has that address as its origin.
 */
function hostCheck(allowed: readonly string[]): MiddlewareHandler {
  const names = new Set(['localhost', ...allowed.map((a) => a.toLowerCase())]);
  return async (c, next) => {
    const host = c.req.header('host');
    if (host !== undefined) {
      const name = hostName(host).replace(/\.$/, '');
      if (!names.has(name) && !net.isIP(name)) {
        return errorResponse(c, new ApiError(421, 'HOST_NOT_ALLOWED', `this server does not answer to "${name}"; add it to LANTERN_ALLOWED_HOSTS if it should`));
      }
    }
    await next();
  };
}

function originOf(value: string | undefined): string | null | undefined {
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    return url.origin === 'null' ? null : url.origin;
  } catch {
    return null;
  }
}

function originCheck(allowed: readonly string[]): MiddlewareHandler {
  const origins = new Set(allowed.map((a) => a.replace(/\/$/, '').toLowerCase()));
  return async (c, next) => {
    if (!UNSAFE_METHODS.has(c.req.method)) return next();
    const header = c.req.header('origin');
    // `Origin: null` (sandboxed frames, some redirects) is never this server's page.
    const origin = header !== undefined ? (header === 'null' ? null : originOf(header)) : originOf(c.req.header('referer'));
    const crossSite = c.req.header('sec-fetch-site') === 'cross-site';
    if (origin === undefined && !crossSite) return next();
    const host = c.req.header('host')?.toLowerCase();
    const sameOrigin = origin !== null && origin !== undefined && (new URL(origin).host === host || origins.has(origin.toLowerCase()));
    if (!sameOrigin) {
      return errorResponse(c, new ApiError(403, 'CROSS_ORIGIN_REQUEST', `a ${c.req.method} from ${origin ?? 'an unknown origin'} is refused: only this server's own pages may change data`));
    }
    await next();
  };
}

/**
 * Whose bucket a request draws from: an API client's bearer token when it sends one (each
 * client behind one proxy or NAT address gets its own budget; a made-up token is refused by
 * authentication before any expensive work, so inventing tokens buys nothing), else its IP.
 */
function clientKey(c: Context): string {
  const bearer = /^bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')?.[1];
  return bearer ? `token:${createHash('sha256').update(bearer).digest('base64url')}` : `ip:${clientIp(c)}`;
}

function clientIp(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // app.request() in tests: no socket
  }
}

function rateLimit(routes: readonly [string, RegExp][], perMinute: number, what: string, bucketsOf: (perMinute: number) => TokenBuckets): MiddlewareHandler {
  if (perMinute === 0) return (_c, next) => next();
  const buckets = bucketsOf(perMinute);
  return async (c, next) => {
    const limited = routes.some(([method, path]) => method === c.req.method && path.test(c.req.path));
    if (!limited) return next();
    const taken = await buckets.take(clientKey(c));
    if (!taken.allowed) {
      c.header('Retry-After', String(taken.retryAfterSeconds));
      return errorResponse(c, new ApiError(429, 'RATE_LIMITED', `too many requests to this ${what}; retry after ${taken.retryAfterSeconds} s`));
    }
    await next();
  };
}
