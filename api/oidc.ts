import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import type { OidcSettings } from '../config.ts';
import { ROLES, username as usernameSchema, type Role } from '../contract/identity.ts';
import type { ProviderIdentity } from '../store/users.ts';
import { ApiError } from './errors.ts';

/**
 * Lantern as an OpenID Connect relying party: the provider's discovery document and JWKS,
 * the authorisation request (code flow, PKCE S256, state, nonce), the code exchange, and
 * verification of the tokens the provider signs — ID tokens at sign-in, JWT access tokens
 * sent by programs as bearer tokens. Lantern keeps no provider token after sign-in: the
 * session it starts is its own (api/routes/oidc.ts), bounded by what the provider granted.
 *
 * Discovery is fetched at first use, not at start, so Lantern starts while the provider is
 * down (local accounts still work) and a failed fetch is retried by the next sign-in. The
 * JWKS is cached by jose and fetched again when a token names a key id it has not seen (key
 * rotation), at most once per `jwksCooldownSeconds`.
 */

/** Asymmetric signatures only: a JWKS publishes public keys, and an HMAC keyed with a public key would be forgeable. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** Clocks of provider and Lantern may differ this much; more would keep an expired token alive longer. */
const CLOCK_TOLERANCE_S = 5;
/** A provider slower than this is treated as down (502), so a sign-in never hangs. */
const PROVIDER_TIMEOUT_MS = 10_000;
/** A discovery document this old is fetched again (endpoints and the JWKS address rarely move). */
const DISCOVERY_MAX_AGE_MS = 3600_000;

interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
}

/** What the start of a sign-in must remember until the provider sends the browser back. */
export interface PendingSignIn {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** What a finished sign-in yields: who the provider says it is, and when its grant ends. */
export interface ProviderSignInResult {
  identity: ProviderIdentity & { roles: Role[] };
  notAfter: Date;
}

export type OidcClient = ReturnType<typeof oidcClient>;

const random = () => randomBytes(32).toString('base64url');

function providerUnavailable(what: string, error: unknown): ApiError {
  return new ApiError(502, 'OIDC_PROVIDER_UNAVAILABLE', `the identity provider did not answer ${what}: ${(error as Error).message}`);
}

/** One closure of about 110 lines: discovery and the JWKS cache are state its methods share. */
export function oidcClient(settings: OidcSettings) {
  let discovered: { at: number; document: Promise<Discovery>; jwks: Promise<ReturnType<typeof createRemoteJWKSet>> } | undefined;

  function discovery() {
    if (!discovered || Date.now() - discovered.at > DISCOVERY_MAX_AGE_MS) {
      const document = fetchDiscovery(settings.issuer);
      const entry = {
        at: Date.now(),
        document,
        jwks: document.then((d) => createRemoteJWKSet(new URL(d.jwks_uri), {
          cooldownDuration: settings.jwksCooldownSeconds * 1000, timeoutDuration: PROVIDER_TIMEOUT_MS,
        })),
      };
      // A failed fetch is forgotten, so the next sign-in tries again rather than failing for an hour.
      // (Handled here for both promises: the caller awaiting one of them reports it, and an
      // unawaited rejection would take the API process down.)
      document.catch(() => {
        if (discovered === entry) discovered = undefined;
      });
      entry.jwks.catch(() => undefined);
      discovered = entry;
    }
    return discovered;
  }

  async function verify(token: string, audience: string): Promise<JWTPayload> {
    const { document, jwks } = discovery();
    const { issuer } = await document;
    try {
      // OpenID Connect Core §2 and RFC 9068 §2.2: both kinds of token carry these; without them there is no user and no end.
      const { payload } = await jwtVerify(token, await jwks, { issuer, audience, algorithms: ALGORITHMS, clockTolerance: CLOCK_TOLERANCE_S, requiredClaims: ['sub', 'exp'] });
      return payload;
    } catch (error) {
      throw tokenRefused(error);
    }
  }

  /** Lantern's roles for the claim values the provider sent (unknown values grant nothing). */
  function rolesOf(claims: JWTPayload): Role[] | undefined {
    // A claim named with dots is taken whole if present (Entra ID's are URLs), else as a path (Keycloak's `realm_access.roles`).
    const raw = claims[settings.rolesClaim] ?? settings.rolesClaim.split('.').reduce<unknown>((o, key) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[key] : undefined), claims);
    if (raw === undefined) return undefined;
    const values = [raw].flat().filter((v): v is string => typeof v === 'string');
    const mapped = values.flatMap((v) => settings.roleMap ? settings.roleMap[v] ?? [] : (ROLES as readonly string[]).includes(v) ? [v as Role] : []);
    return [...new Set(mapped)];
  }

  function identityOf(claims: JWTPayload): ProviderIdentity {
    const named = [claims[settings.usernameClaim], claims.email, claims.sub].find((v): v is string => typeof v === 'string' && v.length > 0)!;
    return {
      issuer: settings.issuer,
      subject: claims.sub!,
      username: lanternUsername(named),
      // Control characters (a NUL above all) are never stored, whoever signed the token.
      displayName: [claims.name, named].find((v): v is string => typeof v === 'string' && v.trim().length > 0)!.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 100) || named,
      roles: rolesOf(claims),
    };
  }

  return {
    name: settings.name,

    /** Where to send the browser to sign in, and what the callback must find again. */
    async authorizationUrl(redirectUri: string): Promise<{ url: string; pending: PendingSignIn }> {
      const { authorization_endpoint } = await discovery().document;
      const pending = { state: random(), nonce: random(), codeVerifier: random() };
      const url = new URL(authorization_endpoint);
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: settings.clientId,
        redirect_uri: redirectUri,
        scope: settings.scopes.join(' '),
        state: pending.state,
        nonce: pending.nonce,
        code_challenge: createHash('sha256').update(pending.codeVerifier).digest('base64url'),
        code_challenge_method: 'S256',
      }).toString();
      return { url: url.toString(), pending };
    },

    /**
     * Redeems the code (with the PKCE verifier) and verifies the ID token it brings:
     * signature by the provider's JWKS, issuer, audience (this client; `azp` when several),
     * expiry, and the nonce this sign-in sent.
     */
    async finishSignIn(code: string, pending: PendingSignIn, redirectUri: string): Promise<ProviderSignInResult> {
      const { token_endpoint } = await discovery().document;
      const tokens = await redeem(token_endpoint, settings, { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: pending.codeVerifier });
      const claims = await verify(tokens.id_token, settings.clientId);
      if (claims.nonce !== pending.nonce) throw new ApiError(401, 'OIDC_TOKEN_INVALID', 'the ID token\'s nonce is not the one this sign-in sent (a replayed or injected token)');
      if (Array.isArray(claims.aud) && claims.aud.length > 1 && claims.azp !== settings.clientId) {
        throw new ApiError(401, 'OIDC_TOKEN_INVALID', 'the ID token names several audiences but was not issued to this client (azp)');
      }
      const identity = identityOf(claims);
      if (!identity.roles?.length) {
        throw new ApiError(403, 'OIDC_NO_ROLE', `the identity provider grants ${identity.username} no Lantern role (claim "${settings.rolesClaim}")`);
      }
      const granted = Math.min(claims.exp! * 1000, typeof tokens.expires_in === 'number' ? Date.now() + tokens.expires_in * 1000 : Infinity);
      return { identity: { ...identity, roles: identity.roles }, notAfter: new Date(granted) };
    },

    /** Whether provider access tokens are accepted as bearer tokens (an API audience is configured). */
    acceptsAccessTokens: Boolean(settings.apiAudience),

    /** A provider-signed JWT access token for this API (audience `apiAudience`): who it speaks for and until when. */
    async verifyAccessToken(token: string): Promise<{ identity: ProviderIdentity; expiresAt: Date }> {
      const claims = await verify(token, settings.apiAudience!);
      const identity = identityOf(claims);
      if (identity.roles?.length === 0) throw new ApiError(403, 'OIDC_NO_ROLE', `the identity provider grants ${identity.username} no Lantern role (claim "${settings.rolesClaim}")`);
      return { identity, expiresAt: new Date(claims.exp! * 1000) };
    },
  };
}

async function fetchDiscovery(issuer: string): Promise<Discovery> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let document: Discovery;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    document = await response.json() as Discovery;
  } catch (error) {
    throw providerUnavailable('its discovery document', error);
  }
  // OpenID Connect Discovery 1.0 §4.3: a document claiming another issuer is an impostor's (or a misconfiguration).
  if (document.issuer !== issuer) {
    throw new ApiError(502, 'OIDC_PROVIDER_MISCONFIGURED', `the discovery document names the issuer "${document.issuer}", not the configured "${issuer}" (LANTERN_OIDC_ISSUER)`);
  }
  for (const field of ['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const) {
    if (typeof document[field] !== 'string') throw new ApiError(502, 'OIDC_PROVIDER_MISCONFIGURED', `the discovery document has no ${field}`);
  }
  return document;
}

/** The token endpoint's answer to a code: a provider that refuses it (used, expired, wrong verifier) is a 401, one that does not answer a 502. */
async function redeem(endpoint: string, settings: OidcSettings, form: Record<string, string>): Promise<{ id_token: string; expires_in?: number }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  const body = new URLSearchParams(form);
  if (settings.clientSecret) {
    // RFC 6749 §2.3.1: both halves form-encoded before they are joined.
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(settings.clientId)}:${encodeURIComponent(settings.clientSecret)}`).toString('base64')}`;
  } else {
    body.set('client_id', settings.clientId);
  }
  let response: Response;
  try {
    response = await fetch(endpoint, { method: 'POST', headers, body, signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS) });
  } catch (error) {
    throw providerUnavailable('at its token endpoint', error);
  }
  const answer = await response.json().catch(() => ({})) as { id_token?: unknown; expires_in?: unknown; error?: string; error_description?: string };
  if (response.status >= 500) throw providerUnavailable('at its token endpoint', new Error(`status ${response.status}`));
  if (!response.ok) throw new ApiError(401, 'OIDC_CODE_REJECTED', `the identity provider refused the sign-in code: ${answer.error ?? response.status}${answer.error_description ? ` (${answer.error_description})` : ''}`);
  if (typeof answer.id_token !== 'string') throw new ApiError(502, 'OIDC_PROVIDER_MISCONFIGURED', 'the token endpoint answered without an ID token (is "openid" among LANTERN_OIDC_SCOPES?)');
  return { id_token: answer.id_token, expires_in: typeof answer.expires_in === 'number' ? answer.expires_in : undefined };
}

/** A token jose refused, as the 401 that names why (expired, bad signature, wrong audience...). */
function tokenRefused(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) return providerUnavailable('with its signing keys', error);
  const reason = error instanceof errors.JWTExpired ? 'it has expired'
    : error instanceof errors.JWTClaimValidationFailed ? `its "${error.claim}" claim is not acceptable (${error.reason})`
    : error instanceof errors.JWSSignatureVerificationFailed ? 'its signature does not verify'
    : error instanceof errors.JWKSNoMatchingKey ? 'it is signed with a key the provider does not publish'
    : error instanceof errors.JOSEError ? `it is malformed (${error.code})`
    : undefined;
  if (!reason) return providerUnavailable('with its signing keys', error);
  return new ApiError(401, 'OIDC_TOKEN_INVALID', `the identity provider's token was refused: ${reason}`);
}

/**
 * A provider's user name made into a Lantern one (the audited actor): lower case, characters
 * Lantern does not allow become `-` (`Li.Wei@Hospital.cn` → `li.wei-hospital.cn`).
 */
function lanternUsername(name: string): string {
  const candidate = name.toLowerCase().replace(/[^a-z0-9._-]/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 63);
  if (usernameSchema.safeParse(candidate).success) return candidate;
  return `user-${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;
}

/** Why a user the provider vouched for still gets no session. */
export function refusal(reason: 'USER_UNKNOWN' | 'USER_DISABLED' | 'USERNAME_TAKEN', username: string): ApiError {
  switch (reason) {
    case 'USER_UNKNOWN': return new ApiError(403, reason, `${username} has no Lantern account, and accounts are not created on first sign-in here (LANTERN_OIDC_PROVISION=false)`);
    case 'USER_DISABLED': return new ApiError(403, reason, `${username}'s Lantern account is disabled`);
    case 'USERNAME_TAKEN': return new ApiError(409, reason, `the user name ${username} belongs to another Lantern account; an admin must resolve it`);
  }
}
