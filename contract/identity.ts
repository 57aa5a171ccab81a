import { z } from 'zod';
import { DEFAULT_SITE, siteId } from './sites.ts';

/**
 * Who may use Lantern and as what. Every route but the public few (health probes, the
 * API's own description, signing in) needs a signed-in user holding one of the roles the
 * route declares; the audited actor is always that user, never a name the client sends.
 */

/**
 * A user may hold several; they apply at every site the user acts for (`sites`).
 * `audit-witness` is another Lantern's account here: it may hand in and read the signed heads
 * of its audit chain, nothing else (an admin token would give that Lantern's owner this one's accounts).
 */
export const ROLES = ['radiologist', 'grassroots-doctor', 'consultant', 'model-team', 'admin', 'audit-witness'] as const;
export const role = z.enum(ROLES);

export const username = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'lower-case letters, digits, dot, dash or underscore; 1–63 characters');

export const user = z.object({
  username,
  displayName: z.string(),
  roles: z.array(role),
  /**
   * The sites whose studies the user reads and writes (a study of any other site does not
   * exist for them: 404); what the user sends in is filed under the first.
   */
  sites: z.array(siteId).min(1),
}).meta({ id: 'User' });

/** `POST /v1/session`: sign in with a local account. */
export const loginRequest = z.object({
  username: z.string().min(1).max(63),
  password: z.string().min(1).max(1024),
}).strict();

/**
 * The signed-in user. A browser session also gets its CSRF token: every state-changing
 * request made with the session cookie must send it as `X-CSRF-Token`.
 */
export const session = z.object({
  user: user.extend({
    /**
     * The sites the user's sites read for (a county hospital reading for its township clinics):
     * their studies are in the user's scope as well as those of `sites`. Direct only.
     */
    readsFor: z.array(siteId),
  }),
  csrfToken: z.string().optional(),
  /** When the session ends at the latest (absolute timeout); each request also renews an idle timeout. */
  expiresAt: z.string().optional(),
}).meta({ id: 'Session' });

/** `POST /v1/users` (admins): a local account. */
export const newUserRequest = z.object({
  username,
  displayName: z.string().trim().min(1).max(100),
  roles: z.array(role).min(1),
  /** Default: the one site of a single-clinic installation. */
  sites: z.array(siteId).min(1).default([DEFAULT_SITE]),
  password: z.string().min(12, 'at least 12 characters').max(1024),
}).strict();

export const userList = z.object({ items: z.array(user) }).meta({ id: 'UserList' });

/** `PATCH /v1/users/{username}` (admins): what changes; a disabled user's sessions and tokens stop at once. */
export const userChange = z.object({
  displayName: z.string().trim().min(1).max(100).optional(),
  roles: z.array(role).min(1).optional(),
  sites: z.array(siteId).min(1).optional(),
  disabled: z.boolean().optional(),
}).strict().refine((c) => Object.keys(c).length > 0, { message: 'name at least one of displayName, roles, sites, disabled' });

export const usernameParams = z.object({ username });

/** `PUT /v1/session/password`: a local account's own password; every other session of the user ends. */
export const passwordChange = z.object({
  currentPassword: z.string().min(1).max(1024),
  newPassword: z.string().min(12, 'at least 12 characters').max(1024),
}).strict();

/** One of the signed-in user's bearer tokens, as listed (never its value). */
export const tokenInfo = z.object({
  /** Stable, not secret: the start of the token's hash. */
  id: z.string(),
  name: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
}).meta({ id: 'TokenInfo' });

export const tokenList = z.object({ items: z.array(tokenInfo) }).meta({ id: 'TokenList' });

export const tokenParams = z.object({ tokenId: z.string().regex(/^[0-9a-f]{16}$/, 'a token id as listed') });

/** `POST /v1/tokens`: a bearer token for an API or DICOMweb client, acting as the signed-in user. */
export const tokenRequest = z.object({
  name: z.string().trim().min(1).max(100),
  /** Days until it expires (default 90). */
  days: z.number().int().min(1).max(365).default(90),
}).strict();

/** The token is shown once; only its hash is kept. */
export const tokenAnswer = z.object({ token: z.string(), name: z.string(), expiresAt: z.string() }).meta({ id: 'TokenAnswer' });

export type Role = z.infer<typeof role>;
export type User = z.infer<typeof user>;
export type LoginRequest = z.infer<typeof loginRequest>;
export type Session = z.infer<typeof session>;
export type NewUserRequest = z.infer<typeof newUserRequest>;
export type TokenAnswer = z.infer<typeof tokenAnswer>;
export type UserChange = z.infer<typeof userChange>;
export type TokenInfo = z.infer<typeof tokenInfo>;

/** `GET /v1/session/options`, asked before anyone signs in: which ways of signing in this Lantern offers. */
export const signInOptions = z.object({
  /** Local accounts (`POST /v1/session`) always work. */
  local: z.literal(true),
  /** The hospital's OpenID Connect provider, when one is configured: what the button says and where it goes. */
  oidc: z.object({ name: z.string(), start: z.string() }).optional(),
}).meta({ id: 'SignInOptions' });

/** `GET /v1/session/oidc/start`: where the viewer wants to be once signed in (a path of this site, never another site). */
export const oidcStartQuery = z.object({
  returnTo: z.string().max(2000).regex(/^\/(?![/\\])/, 'a path on this site, starting with a single /').optional(),
});

/** `GET /v1/session/oidc/callback`: what the provider sends the browser back with (OAuth 2.0 §4.1.2, RFC 9207 `iss`). */
export const oidcCallbackQuery = z.object({
  code: z.string().max(4096).optional(),
  state: z.string().max(512).optional(),
  iss: z.string().max(2048).optional(),
  error: z.string().max(256).optional(),
  error_description: z.string().max(2048).optional(),
});

export type SignInOptions = z.infer<typeof signInOptions>;
