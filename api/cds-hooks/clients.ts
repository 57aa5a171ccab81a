import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createLocalJWKSet, decodeJwt, errors, jwtVerify, type JSONWebKeySet } from 'jose';
import { z } from 'zod';
import { username } from '../../contract/identity.ts';
import { ApiError } from '../errors.ts';

/**
 * CDS Clients (EHRs) that Lantern trusts, and how their calls are authenticated: CDS Hooks 2.0
 * "Trusting CDS Clients" — every call carries `Authorization: Bearer <JWT>` signed with the
 * client's private key (asymmetric only: never `none`, never HMAC), `iss` one of the configured
 * issuers, `aud` the exact URL called, `exp`, `iat`, a `jti` never seen before, and a `kid`
 * naming a key of the issuer's JWK Set. The keys come from configuration only: a `jku` header
 * is not followed (the specification asks services to allow-list it; Lantern allows none).
 * Each issuer acts as one Lantern account, whose roles and sites decide what it may do and see;
 * that account is the audited actor, and the claims go into the audit record beside it.
 */

/** `LANTERN_CDS_CLIENTS`: a JSON file listing the trusted clients. */
const clientsFile = z.object({
  clients: z.array(z.object({
    /** The `iss` its JWTs carry, exactly. */
    issuer: z.string().min(1),
    /** Its public JWK Set, inline or in a file (relative to this file). */
    jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1) }).optional(),
    jwksFile: z.string().min(1).optional(),
    /** The Lantern account it acts as (it must exist and hold a clinical role). */
    username,
  }).strict().refine((c) => Boolean(c.jwks) !== Boolean(c.jwksFile), 'give exactly one of jwks and jwksFile')).min(1),
}).strict();

/** Signature algorithms accepted: asymmetric only, as the specification requires (ES384 and RS384 recommended). */
const ALGORITHMS = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA'];
/** A CDS client signs a fresh JWT per call: one older than this, whatever its `exp`, is refused. */
const MAX_TOKEN_AGE_S = 300;
const CLOCK_TOLERANCE_S = 30;

/** What a verified client JWT says, recorded with every audit record of the call. */
export interface CdsClientClaims {
  iss: string;
  jti: string;
  sub?: string;
  tenant?: string;
  kid: string;
}

export interface CdsClients {
  /** Whether this JWT claims to come from a configured CDS client (read before any verification, to route it). */
  claims(token: string): boolean;
  /**
   * The client's account name and claims, or a 401 naming why the token is refused. `audiences`
   * are the URLs this call may be addressed to.
   */
  verify(token: string, audiences: string[]): Promise<{ username: string; claims: CdsClientClaims; expiresAt: Date }>;
}

/**
 * Reads and checks the clients file at start (a typo must stop the start, not every call).
 * `firstUse(key, ttlSeconds)` resolves true the first time a `jti` is seen within its lifetime,
 * across API processes (Redis SET NX).
 */
export function loadCdsClients(file: string, firstUse: (key: string, ttlSeconds: number) => Promise<boolean>): CdsClients {
  let parsed: z.infer<typeof clientsFile>;
  try {
    parsed = clientsFile.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
  } catch (error) {
    throw new Error(`LANTERN_CDS_CLIENTS ${file}: ${error instanceof z.ZodError ? error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : (error as Error).message}`);
  }
  const byIssuer = new Map(parsed.clients.map((c) => {
    const jwks = (c.jwks ?? JSON.parse(fs.readFileSync(path.resolve(path.dirname(file), c.jwksFile!), 'utf8'))) as JSONWebKeySet;
    if (jwks.keys.some((k) => k.kty === 'oct' || 'd' in k)) throw new Error(`LANTERN_CDS_CLIENTS ${file}: ${c.issuer}'s JWK Set holds a secret or private key; it must hold public keys only`);
    return [c.issuer, { username: c.username, keys: createLocalJWKSet(jwks) }];
  }));
  const issuerOf = (token: string) => {
    try {
      return decodeJwt(token).iss;
    } catch {
      return undefined;
    }
  };
  return {
    claims: (token) => byIssuer.has(issuerOf(token) ?? ''),
    async verify(token, audiences) {
      const iss = issuerOf(token);
      const client = iss === undefined ? undefined : byIssuer.get(iss);
      if (!client) throw refused('CDS_CLIENT_UNKNOWN', `the JWT's issuer ${JSON.stringify(iss)} is not a CDS client Lantern trusts (LANTERN_CDS_CLIENTS)`);
      let result;
      try {
        result = await jwtVerify(token, client.keys, {
          issuer: iss, audience: audiences, algorithms: ALGORITHMS, typ: 'JWT',
          requiredClaims: ['iss', 'aud', 'exp', 'iat', 'jti'], maxTokenAge: MAX_TOKEN_AGE_S, clockTolerance: CLOCK_TOLERANCE_S,
        });
      } catch (error) {
        throw refused('CDS_CLIENT_TOKEN_INVALID', `the CDS client's JWT is refused: ${reasonOf(error, audiences)}`);
      }
      const { payload, protectedHeader } = result;
      if (!protectedHeader.kid) throw refused('CDS_CLIENT_TOKEN_INVALID', 'the CDS client\'s JWT is refused: its header has no "kid" (REQUIRED by CDS Hooks)');
      const jti = String(payload.jti);
      const ttl = Math.max(1, payload.exp! - Math.floor(Date.now() / 1000) + CLOCK_TOLERANCE_S);
      const key = createHash('sha256').update(`${iss}\n${jti}`).digest('hex');
      if (!(await withinReplayWait(firstUse(key, ttl)))) throw refused('CDS_CLIENT_TOKEN_REPLAYED', `the CDS client's JWT is refused: its jti ${JSON.stringify(jti)} was already used (a replayed token); sign a new JWT per call`);
      return {
        username: client.username,
        expiresAt: new Date(payload.exp! * 1000),
        claims: {
          iss: iss!, jti, kid: protectedHeader.kid,
          ...(typeof payload.sub === 'string' ? { sub: payload.sub } : {}),
          ...(typeof payload.tenant === 'string' ? { tenant: payload.tenant } : {}),
        },
      };
    },
  };
}

const refused = (code: string, message: string) => new ApiError(401, code, message);

/** How long the replay check may wait on Redis: a call is refused (503), never let through unchecked, while it is away. */
const REPLAY_WAIT_MS = 1000;

async function withinReplayWait(check: Promise<boolean>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ApiError(503, 'CDS_REPLAY_CHECK_UNAVAILABLE', 'the CDS client\'s JWT cannot be checked against replay right now (Redis is away); retry shortly')), REPLAY_WAIT_MS);
  });
  try {
    return await Promise.race([check, late]);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(503, 'CDS_REPLAY_CHECK_UNAVAILABLE', 'the CDS client\'s JWT cannot be checked against replay right now; retry shortly');
  } finally {
    clearTimeout(timer);
  }
}

function reasonOf(error: unknown, audiences: string[]): string {
  if (error instanceof errors.JWTExpired) return 'it has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    return error.claim === 'aud' ? `its "aud" is not the URL called (${audiences.join(' or ')})` : `its "${error.claim}" claim is not acceptable (${error.reason})`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'its signature does not verify';
  if (error instanceof errors.JWKSNoMatchingKey) return 'it is signed with a key (kid) the client\'s configured JWK Set does not hold';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'its algorithm is not an asymmetric one CDS Hooks allows';
  if (error instanceof errors.JOSEError) return `it is malformed (${error.code})`;
  return 'it could not be verified';
}

/**
 * The URLs a call may be addressed to (`aud`): the endpoint called; for feedback, also its
 * service's URL (clients differ on which "CDS Service endpoint" feedback names).
 */
export function audiencesFor(url: string): string[] {
  const called = new URL(url);
  const endpoint = `${called.origin}${called.pathname.replace(/\/$/, '')}`;
  return endpoint.endsWith('/feedback') ? [endpoint, endpoint.slice(0, -'/feedback'.length)] : [endpoint];
}
