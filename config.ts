import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResultsDestination } from './contract/ai-results-sr.ts';
import { ROLES, type Role } from './contract/identity.ts';
import { DEFAULT_DICOM_LIMITS, LIMIT_SETTINGS, type DicomLimits } from './dicom/limits.ts';

/**
 * Lantern's only reader of `process.env`. Everything else receives a typed
 * `LanternConfig` (or the slice it needs), so a test can build one by hand.
 * One file past 300 lines on purpose: every setting, its default and its check in one place.
 */
export interface LanternConfig {
  /** HTTP port of the API; 0 picks a free one. Env `PORT`, default 8080. */
  port: number;
  /**
   * Interface the API binds. Env `HOST`, default 127.0.0.1 (a clinic box should not expose it by
   * accident); beyond loopback only with TLS, or `LANTERN_PLAIN_HTTP=behind-tls-proxy`.
   */
  host: string;
  /** Redis for the queues. Env `REDIS_URL`; unset means `npm start` runs a private redis-server. */
  redisUrl?: string;
  /** PostgreSQL. Env `DATABASE_URL`; unset means embedded PGlite under `dataDir`. */
  databaseUrl?: string;
  /** Connections the API keeps to PostgreSQL. Env `LANTERN_DB_POOL_MAX`, default 10 (1 for the private PGlite server). */
  databasePoolMax: number;
  /**
   * Name each parameterised statement by its text, so the database parses and plans it once
   * per connection. Not from the environment: `npm start` turns it on for its private PGlite
   * server (one client, which migrates before it queries), where the finding's persist step
   * went from 14 to 10–11 ms (p50, in situ). Off for PostgreSQL: a plan cached across a schema
   * change made by another process fails once ("cached plan must not change result type").
   */
  databaseNamedStatements: boolean;
  /**
   * This API is its database's only writer, so it keeps token sign-ins between requests
   * (store/sign-in-cache.ts): one database round trip less per request. Not from the environment:
   * `npm start` turns it on for its private PGlite server, which serves this API alone; an in-process
   * PGlite has it always. Off for PostgreSQL, where other API processes may revoke a token.
   */
  databaseSoleWriter: boolean;
  /**
   * Minutes between passes that analyse and vacuum the tables that are due, as PostgreSQL's
   * autovacuum would (store/upkeep.ts), when the database runs no autovacuum of its own (the
   * embedded PGlite). Env `LANTERN_DB_UPKEEP_MINUTES`, default 10; 0 turns it off.
   */
  databaseUpkeepMinutes: number;
  /** Where PGlite, the private redis and stored DICOM live. Env `LANTERN_DATA_DIR`, default `<repo>/var`. */
  dataDir: string;
  /** Content-addressed DICOM store; must be shared by API and workers. Env `LANTERN_BLOB_DIR`, default `<dataDir>/blobs`. */
  blobDir: string;
  /** Folder of model folders. Env `LANTERN_MODELS_DIR`, default `<repo>/models`. */
  modelsDir: string;
  /** Built viewer served at `/`. Env `LANTERN_VIEWER_DIR`, default `<repo>/viewer/dist`. */
  viewerDir: string;
  /**
   * Worker processes `npm start` forks. Env `LANTERN_WORKERS`, default one per core: measured on
   * 2 cores, 2 workers read 1.4× the images/s of one while the API's lag p99 stayed ~13 ms.
   */
  workers: number;
  /** Jobs one worker process runs at once. Env `LANTERN_WORKER_CONCURRENCY`, default 1 (inference is CPU-bound). */
  workerConcurrency: number;
  /**
   * CPU priority (nice, 0–19) of worker processes, every thread of them. Env `LANTERN_WORKER_NICE`,
   * default 10: inference is batch work, while the API, the database and Redis answer people
   * in short bursts and should preempt it; with nobody else wanting the CPU, workers still get all of it.
   */
  workerNice: number;
  /** onnxruntime intra-op threads per session. Env `LANTERN_ORT_THREADS`, default 1. */
  ortThreads: number;
  /** libvips (sharp) threads per worker process. Env `LANTERN_VIPS_THREADS`, default `ortThreads`. */
  vipsThreads: number;
  /**
   * Workers decode JPEG 2000 with the machine's OpenJPEG (Debian's libopenjp2-7) in a sidecar
   * process where it is installed, ~1.7× faster than its WebAssembly build; `LANTERN_JPEG2000_NATIVE=0`
   * keeps every decode in the sandboxed WebAssembly build (dicom/decode/openjpeg-native). Default on.
   */
  jpeg2000Native: boolean;
  /**
   * Threads one native JPEG 2000 decode may use (OpenJPEG's code-block threads). Env
   * `LANTERN_DECODE_THREADS`, default 2 (1 on a one-core machine): on 2 cores a lone RG1 study's
   * decode went 19.3–20.0 → 15.1–17.0 ms and its end to end 51.7–59.9 → 48.6–51.8 ms (p50), while two
   * saturated workers did 30.4–33.8 img/s against 30.0–36.0 with one thread (4 alternating rounds
   * of tools/hot-path/cpu-split.mts; benchmarks/results/2026-12-05/serving-4).
   */
  decodeThreads: number;
  /** Largest accepted upload in bytes. Env `LANTERN_MAX_UPLOAD_BYTES`, default 512 MiB. */
  maxUploadBytes: number;
  /**
   * Largest body of any other request (JSON, or anything sent to a JSON route), refused with 413
   * before it is read past this. Env `LANTERN_MAX_JSON_BYTES`, default 1 MiB: the largest real
   * request (a triage with vitals and findings) is a few KiB.
   */
  maxJsonBodyBytes: number;
  /** The bounds DICOM is parsed within (elements, nesting, value length, inflation, decoded pixels, time); env `LANTERN_DICOM_*`, see dicom/limits.ts. */
  dicomLimits: DicomLimits;
  /** Prefix of BullMQ keys, so several Lanterns can share a Redis. Env `LANTERN_QUEUE_PREFIX`, default `lantern`. */
  queuePrefix: string;
  /** How long a worker's claim on a job lasts without renewal; a killed worker's job is re-run after about this long. Env `LANTERN_JOB_LOCK_MS`, default 30000. */
  jobLockMs: number;
  /**
   * A worker whose event loop has not turned for this long (stuck in synchronous code: a codec
   * looping on a hostile image) ends itself, and `lantern start` starts another (roles/event-loop-watchdog.ts).
   * Env `LANTERN_WORKER_STALL_SECONDS`, default 120 (RG1's slowest decode, WebAssembly at full
   * resolution, takes under a second); 0: no watch.
   */
  workerStallSeconds: number;
  /**
   * The latency promise's degradation ladder (queue/degradation.ts, docs/operations.md): `enabled`
   * (env `LANTERN_DEGRADATION`, `on` (default) or `off`: off, the queue is still measured for
   * `/ready` but no step is taken); `checkMs`, how often the API measures the queue and decides (env
   * `LANTERN_DEGRADATION_CHECK_MS`, default 2000; workers re-read the step as often); `holdSeconds`,
   * how long a step holds before the ladder steps down, and how long a deferred job waits before it is
   * looked at again (env `LANTERN_DEGRADATION_HOLD_S`, default 60).
   */
  degradation: { enabled: boolean; checkMs: number; holdSeconds: number };
  /** pino level. Env `LOG_LEVEL`, default `info`. */
  logLevel: string;
  /** Seconds `stop()` waits for active jobs before handing them back. Env `LANTERN_SHUTDOWN_GRACE_S`, default 10. */
  shutdownGraceSeconds: number;
  /**
   * The audit chain's Ed25519 signing key, kept outside the database (created 0600 when missing; its public half
   * beside it as `.pub`, what `lantern audit verify --key` reads). Env `LANTERN_AUDIT_KEY`, default (unset) `<dataDir>/audit/signing-key.pem`.
   */
  auditKeyFile?: string;
  /** Append-only file of signed chain heads; one per chain. Env `LANTERN_AUDIT_CHECKPOINTS`, default (unset) `<dataDir>/audit/checkpoints.jsonl`. */
  auditCheckpointFile?: string;
  /** Seconds between checkpoints of a head that moved (0: only on demand and at stop). Env `LANTERN_AUDIT_CHECKPOINT_S`, default 10. */
  auditCheckpointSeconds: number;
  /** How long a calculation waits for its audit record before answering 503. Env `LANTERN_AUDIT_WAIT_MS`, default 2000. */
  auditWaitMs: number;
  /**
   * A remote witness of the audit chain's signed heads (another Lantern, e.g. the county hospital's): each checkpoint is
   * also sent there, so a chain rewritten and re-signed on this box is caught against what the witness saw. Env
   * `LANTERN_AUDIT_WITNESS_URL` (HTTPS; plain HTTP only to a loopback address) and `LANTERN_AUDIT_WITNESS_TOKEN` (a bearer
   * token of this Lantern's `audit-witness` account there), set together; `LANTERN_AUDIT_WITNESS_LAG_S` (default 300): how long a head may stay
   * undelivered before health turns degraded. Unset: no witness.
   */
  auditWitness?: AuditWitnessSettings;
  /**
   * Where Lantern also sends its AI results as DICOM SR (pipeline/ai-results-sr.ts), retried with backoff for about
   * a day and a half; a destination that is down never holds findings or reviews. Env `LANTERN_RESULTS_DESTINATION`:
   * `dicomweb:<base URL>` (STOW-RS to `<base URL>/studies`; `LANTERN_RESULTS_DESTINATION_TOKEN` a bearer token, sent
   * only over https or to a loopback address) or `dimse:<AE title>@<host>:<port>` (C-STORE, calling AE title
   * `LANTERN_RESULTS_CALLING_AE`, default LANTERN). Unset: the SRs stay in Lantern (served by QIDO/WADO-RS).
   */
  resultsDestination?: ResultsDestination;
  /**
   * The de-identification key behind the model teams' views (`/v1/research/…`; created 0600 when missing): keep it to keep
   * their pseudonyms stable. Env `LANTERN_DEIDENTIFY_KEY`, default (unset) `<dataDir>/research/deidentify.key`.
   */
  deidentifyKeyFile?: string;
  /**
   * Seconds one record of reads of patient data stays open, counting the same user's reads of the same study or list
   * (store/read-audits.ts): longer makes fewer records; a crash loses at most this much of them. Env `LANTERN_READ_AUDIT_WINDOW_S`, default 300.
   */
  readAuditWindowSeconds: number;
  /**
   * PEM certificate chain and private key: with both, the API serves HTTPS (and sends HSTS).
   * Env `LANTERN_TLS_CERT` / `LANTERN_TLS_KEY` (file paths); default unset (plain HTTP, or TLS at a reverse proxy).
   */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /**
   * Host names the API answers to besides `localhost` and IP literals (DNS-rebinding defence: a
   * browser sends the attacker's name as Host). Env `LANTERN_ALLOWED_HOSTS`, comma-separated, e.g. `lantern.clinic.example`.
   */
  allowedHosts: string[];
  /** Other origins allowed to send state-changing requests (a page served elsewhere). Env `LANTERN_ALLOWED_ORIGINS`, comma-separated full origins. */
  allowedOrigins: string[];
  /**
   * The IANA time zone whose calendar days surveillance counts by (a study received at 23:30 local time counts on that
   * local day) and in which the daily detection runs (00:30). Env `LANTERN_TIMEZONE`, default `Asia/Shanghai`.
   */
  timeZone: string;
  /**
   * Requests per minute one client (its bearer token, else its IP) may make to an expensive route (STOW, risk, triage,
   * agreement CSV), also its burst. Env `LANTERN_RATE_LIMIT`, default 600; 0 turns it off.
   */
  rateLimitPerMinute: number;
  /** Login attempts per minute one client may make. Env `LANTERN_LOGIN_RATE_LIMIT`, default 10. */
  loginRateLimitPerMinute: number;
  /**
   * Count login attempts in Redis, across API processes, rather than in each one's memory. Not a setting
   * of its own: on when `REDIS_URL` is set (a shared Redis: the API may be one of several behind a load
   * balancer, each of which would otherwise allow the limit); `npm start`'s private redis serves one API process.
   */
  sharedRateLimits: boolean;
  /** A browser session ends after this many minutes unused. Env `LANTERN_SESSION_IDLE_MIN`, default 30. */
  sessionIdleMinutes: number;
  /** …and this many hours after sign-in at the latest. Env `LANTERN_SESSION_MAX_H`, default 12 (a shift). */
  sessionAbsoluteHours: number;
  /** Signing in with a hospital's OpenID Connect provider; unset (no `LANTERN_OIDC_ISSUER`) means local accounts only. */
  oidc?: OidcSettings;
  /**
   * The EHRs trusted to call the CDS Hooks services with a signed JWT: a JSON file of issuers, their public
   * JWK Sets and the Lantern account each acts as (api/cds-hooks/clients.ts). Env `LANTERN_CDS_CLIENTS`; unset means Lantern bearer tokens only.
   */
  cdsClientsFile?: string;
  /** The DIMSE SCP (C-ECHO, C-STORE, C-FIND; api/dimse): off unless `LANTERN_DIMSE_PORT` is set. */
  dimse?: DimseSettings;
}

/**
 * The DIMSE service class provider; every field from `LANTERN_DIMSE_*`. Nobody is anonymous: only
 * the calling AE titles listed in `peers` are accepted, each speaking for a Lantern user (its
 * roles and sites apply; it is the audited actor). An AE title is sent in clear and anyone can
 * claim it, so beyond loopback every peer must also name the address it calls from.
 */
export interface DimseSettings {
  /** Env `LANTERN_DIMSE_HOST`, default 127.0.0.1. */
  host: string;
  /** Env `LANTERN_DIMSE_PORT` (0: any free port; the banner prints it). */
  port: number;
  /** The called AE title peers must use. Env `LANTERN_DIMSE_AE_TITLE`, default `LANTERN`. */
  aeTitle: string;
  /** Env `LANTERN_DIMSE_PEERS`: `AE=user` or `AE=user@address`, comma-separated, e.g. `ORTHANC=orthanc-bot@127.0.0.1,CT1=ct-room-1@10.1.2.3`. */
  peers: DimsePeerSetting[];
  /** Max PDU length announced and enforced. Env `LANTERN_DIMSE_MAX_PDU`, default 65536 (4096–1048576). */
  maxPduLength: number;
  /**
   * Associations at once; more are rejected (transient, local limit exceeded). Env `LANTERN_DIMSE_MAX_ASSOCIATIONS`,
   * default 4: each may hold one object of up to `maxUploadBytes` in memory while it arrives.
   */
  maxAssociations: number;
  /** An association silent this long is aborted. Env `LANTERN_DIMSE_IDLE_S`, default 60. */
  idleTimeoutSeconds: number;
}

export interface DimsePeerSetting {
  aeTitle: string;
  username: string;
  /** The IP address the peer must call from; unset: any (loopback SCP only). */
  address?: string;
}

/** An OpenID Connect provider Lantern signs users in with (api/oidc.ts); every field from `LANTERN_OIDC_*`. */
export interface OidcSettings {
  /** Env `LANTERN_OIDC_ISSUER`: the provider's issuer URL, exactly as its discovery document and tokens state it. */
  issuer: string;
  /** Env `LANTERN_OIDC_CLIENT_ID`. */
  clientId: string;
  /** Env `LANTERN_OIDC_CLIENT_SECRET`; unset means a public client (PKCE alone protects the code). */
  clientSecret?: string;
  /** Env `LANTERN_OIDC_REDIRECT_URL`, e.g. `https://lantern.clinic.example/v1/session/oidc/callback`; default: derived from each request (right unless a proxy rewrites scheme or host). */
  redirectUrl?: string;
  /** What the sign-in button says. Env `LANTERN_OIDC_NAME`, default the issuer's host name. */
  name: string;
  /** Env `LANTERN_OIDC_SCOPES` (space-separated), default `openid profile email`; add what the provider needs to put roles in the ID token. */
  scopes: string[];
  /** The ID token claim naming the Lantern user. Env `LANTERN_OIDC_USERNAME_CLAIM`, default `preferred_username` (falls back to `email`, then `sub`). */
  usernameClaim: string;
  /** The claim listing the user's roles or groups. Env `LANTERN_OIDC_ROLES_CLAIM`, default `roles`. */
  rolesClaim: string;
  /**
   * Claim value → Lantern roles. Env `LANTERN_OIDC_ROLE_MAP`, a JSON object (group names may hold
   * commas and `=`), e.g. `{"cn=radiology,ou=groups": "radiologist", "lantern-admins": ["admin", "radiologist"]}`.
   * Unset: a claim value that is a Lantern role's name is that role.
   */
  roleMap?: Record<string, Role[]>;
  /** Whether a user the provider vouches for but Lantern has never seen gets an account at once. Env `LANTERN_OIDC_PROVISION`, default `true`. */
  provisionUsers: boolean;
  /**
   * The `aud` of the provider's JWT access tokens for this API: with it, programs may send them as
   * bearer tokens. Env `LANTERN_OIDC_API_AUDIENCE`; unset means no provider bearer tokens. Must differ
   * from the client id, whose audience ID tokens carry: an ID token is never an access token.
   */
  apiAudience?: string;
  /**
   * A token signed with a key Lantern has not seen refetches the provider's JWKS (key rotation), but
   * at most once per this many seconds, so forged key ids cannot make Lantern hammer the provider.
   * Env `LANTERN_OIDC_JWKS_COOLDOWN_S`, default 30.
   */
  jwksCooldownSeconds: number;
}

/** Where the audit chain's heads are witnessed (store/audit-witness.ts); every field from `LANTERN_AUDIT_WITNESS_*`. */
export interface AuditWitnessSettings {
  url: string;
  token: string;
  maxLagSeconds: number;
}

export const repoRoot = path.dirname(fileURLToPath(import.meta.url));

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}, got "${raw}"`);
  }
  return value;
}

/** `on` or `off` (unset: `fallback`); anything else is refused, naming the setting. */
function onOff(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw !== 'on' && raw !== 'off') throw new Error(`${name} must be on or off, got "${raw}"`);
  return raw === 'on';
}

const list = (raw: string | undefined) => (raw ?? '').split(',').map((item) => item.trim()).filter(Boolean);

/**
 * The interface to bind. Beyond loopback, plain HTTP would carry passwords and session cookies
 * readable on the wire: refused unless the API serves TLS itself or the operator states that a
 * TLS reverse proxy is the only way in (`LANTERN_PLAIN_HTTP=behind-tls-proxy`).
 */
function listenHost(env: NodeJS.ProcessEnv): string {
  const host = env.HOST || '127.0.0.1';
  const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);
  const plain = env.LANTERN_PLAIN_HTTP;
  if (plain !== undefined && plain !== 'behind-tls-proxy') throw new Error(`LANTERN_PLAIN_HTTP must be "behind-tls-proxy" or unset, got "${plain}"`);
  if (!loopback && !env.LANTERN_TLS_CERT && !plain) {
    throw new Error(`HOST=${host} serves beyond this machine over plain HTTP, where passwords and session cookies can be read on the wire: set LANTERN_TLS_CERT and LANTERN_TLS_KEY, or LANTERN_PLAIN_HTTP=behind-tls-proxy when a TLS reverse proxy is the only way in`);
  }
  return host;
}

function tlsFiles(env: NodeJS.ProcessEnv): Pick<LanternConfig, 'tlsCertFile' | 'tlsKeyFile'> {
  const cert = env.LANTERN_TLS_CERT || undefined;
  const key = env.LANTERN_TLS_KEY || undefined;
  if (Boolean(cert) !== Boolean(key)) throw new Error('LANTERN_TLS_CERT and LANTERN_TLS_KEY must be set together');
  return { tlsCertFile: cert && path.resolve(cert), tlsKeyFile: key && path.resolve(key) };
}

function oidcSettings(env: NodeJS.ProcessEnv): OidcSettings | undefined {
  const issuer = env.LANTERN_OIDC_ISSUER;
  if (!issuer) return undefined;
  const clientId = env.LANTERN_OIDC_CLIENT_ID;
  if (!clientId) throw new Error('LANTERN_OIDC_ISSUER needs LANTERN_OIDC_CLIENT_ID');
  const apiAudience = env.LANTERN_OIDC_API_AUDIENCE || undefined;
  if (apiAudience === clientId) throw new Error('LANTERN_OIDC_API_AUDIENCE must differ from LANTERN_OIDC_CLIENT_ID (ID tokens carry the client id as audience)');
  const provision = env.LANTERN_OIDC_PROVISION ?? 'true';
  if (!['true', 'false'].includes(provision)) throw new Error(`LANTERN_OIDC_PROVISION must be true or false, got "${provision}"`);
  return {
    issuer,
    clientId,
    clientSecret: env.LANTERN_OIDC_CLIENT_SECRET || undefined,
    redirectUrl: env.LANTERN_OIDC_REDIRECT_URL || undefined,
    name: env.LANTERN_OIDC_NAME || new URL(issuer).hostname,
    scopes: (env.LANTERN_OIDC_SCOPES || 'openid profile email').split(/\s+/).filter(Boolean),
    usernameClaim: env.LANTERN_OIDC_USERNAME_CLAIM || 'preferred_username',
    rolesClaim: env.LANTERN_OIDC_ROLES_CLAIM || 'roles',
    roleMap: env.LANTERN_OIDC_ROLE_MAP ? roleMap(env.LANTERN_OIDC_ROLE_MAP) : undefined,
    provisionUsers: provision === 'true',
    apiAudience,
    jwksCooldownSeconds: integer(env, 'LANTERN_OIDC_JWKS_COOLDOWN_S', 30, 0),
  };
}

function resultsDestination(env: NodeJS.ProcessEnv): ResultsDestination | undefined {
  const raw = env.LANTERN_RESULTS_DESTINATION || undefined;
  if (!raw) return undefined;
  const dimse = /^dimse:([^@\s\\]{1,16})@([^:\s]+):([0-9]{1,5})$/.exec(raw);
  if (dimse) {
    const port = Number(dimse[3]);
    if (port < 1 || port > 65535) throw new Error(`LANTERN_RESULTS_DESTINATION: port ${port} is not 1–65535`);
    const callingAe = env.LANTERN_RESULTS_CALLING_AE || 'LANTERN';
    if (callingAe.length > 16) throw new Error('LANTERN_RESULTS_CALLING_AE is an AE title: at most 16 characters');
    return { kind: 'dimse', calledAe: dimse[1], host: dimse[2], port, callingAe };
  }
  if (!raw.startsWith('dicomweb:')) throw new Error(`LANTERN_RESULTS_DESTINATION must be dicomweb:<base URL> or dimse:<AE>@<host>:<port>, got "${raw}"`);
  const url = raw.slice('dicomweb:'.length);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`LANTERN_RESULTS_DESTINATION: "${url}" is not a URL`);
  }
  const token = env.LANTERN_RESULTS_DESTINATION_TOKEN || undefined;
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
  if (token && parsed.protocol !== 'https:' && !loopback) throw new Error('LANTERN_RESULTS_DESTINATION_TOKEN is sent only over https (or to a loopback address)');
  return { kind: 'dicomweb', url, ...(token && { token }) };
}

function auditWitness(env: NodeJS.ProcessEnv): AuditWitnessSettings | undefined {
  const url = env.LANTERN_AUDIT_WITNESS_URL || undefined;
  const token = env.LANTERN_AUDIT_WITNESS_TOKEN || undefined;
  if (!url && !token) return undefined;
  if (!url || !token) throw new Error('LANTERN_AUDIT_WITNESS_URL and LANTERN_AUDIT_WITNESS_TOKEN must be set together');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`LANTERN_AUDIT_WITNESS_URL is not a URL: "${url}"`);
  }
  // The token opens an account at the witness: it must not cross a network in clear text.
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback)) {
    throw new Error(`LANTERN_AUDIT_WITNESS_URL must be https (plain http only to a loopback address), got "${url}"`);
  }
  return { url, token, maxLagSeconds: integer(env, 'LANTERN_AUDIT_WITNESS_LAG_S', 300, 1) };
}

/** An AE title (PS3.5 Table 6.2-1): 1–16 characters, no backslash or control characters, leading and trailing spaces not significant. */
const AE_TITLE = /^[^\\\x00-\x1f]{1,16}$/;

function dimseSettings(env: NodeJS.ProcessEnv): DimseSettings | undefined {
  if (!env.LANTERN_DIMSE_PORT) return undefined;
  const host = env.LANTERN_DIMSE_HOST || '127.0.0.1';
  const aeTitle = (env.LANTERN_DIMSE_AE_TITLE || 'LANTERN').trim();
  if (!AE_TITLE.test(aeTitle)) throw new Error(`LANTERN_DIMSE_AE_TITLE must be 1–16 characters without backslash, got "${aeTitle}"`);
  const peers = list(env.LANTERN_DIMSE_PEERS).map((entry) => {
    const match = /^([^=]+)=([^@]+)(?:@(.+))?$/.exec(entry);
    const peerAe = match?.[1].trim() ?? '';
    if (!match || !AE_TITLE.test(peerAe)) throw new Error(`LANTERN_DIMSE_PEERS: "${entry}" is not AE=user or AE=user@address`);
    return { aeTitle: peerAe, username: match[2].trim(), ...(match[3] && { address: match[3].trim() }) };
  });
  if (peers.length === 0) throw new Error('LANTERN_DIMSE_PORT needs LANTERN_DIMSE_PEERS (AE=user,…): nobody is anonymous, so with no peer nobody could use the SCP');
  const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);
  const unbound = peers.filter((peer) => !peer.address);
  if (!loopback && unbound.length) {
    throw new Error(`LANTERN_DIMSE_HOST=${host} serves beyond this machine, where anyone can claim an AE title: give ${unbound.map((p) => p.aeTitle).join(', ')} the address it calls from (AE=user@address)`);
  }
  return {
    host,
    port: integer(env, 'LANTERN_DIMSE_PORT', 11112, 0, 65535),
    aeTitle,
    peers,
    maxPduLength: integer(env, 'LANTERN_DIMSE_MAX_PDU', 65536, 4096, 1024 * 1024),
    maxAssociations: integer(env, 'LANTERN_DIMSE_MAX_ASSOCIATIONS', 4, 1, 64),
    idleTimeoutSeconds: integer(env, 'LANTERN_DIMSE_IDLE_S', 60, 1),
  };
}

/** `LANTERN_OIDC_ROLE_MAP`, checked at start: a typo in a role name would otherwise lock a whole department out. */
function roleMap(raw: string): Record<string, Role[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error('LANTERN_OIDC_ROLE_MAP must be a JSON object of claim value → role or [roles]');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('LANTERN_OIDC_ROLE_MAP must be a JSON object of claim value → role or [roles]');
  return Object.fromEntries(Object.entries(parsed).map(([value, roles]) => {
    const list = [roles].flat();
    const unknown = list.filter((r) => !(ROLES as readonly unknown[]).includes(r));
    if (unknown.length) throw new Error(`LANTERN_OIDC_ROLE_MAP: "${value}" maps to ${unknown.map((r) => JSON.stringify(r)).join(', ')}, not among ${ROLES.join(', ')}`);
    return [value, list as Role[]];
  }));
}

/** An IANA zone name Node knows (it carries the zone database), else the start fails naming it. */
function timeZone(name: string): string {
  try {
    return new Intl.DateTimeFormat('en', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    throw new Error(`LANTERN_TIMEZONE must be an IANA time zone such as Asia/Shanghai, got "${name}"`);
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<LanternConfig> = {}): LanternConfig {
  const dataDir = path.resolve(env.LANTERN_DATA_DIR || path.join(repoRoot, 'var'));
  const ortThreads = integer(env, 'LANTERN_ORT_THREADS', 1, 1);
  const config: LanternConfig = {
    port: integer(env, 'PORT', 8080),
    host: listenHost(env),
    redisUrl: env.REDIS_URL || undefined,
    databaseUrl: env.DATABASE_URL || undefined,
    databasePoolMax: integer(env, 'LANTERN_DB_POOL_MAX', 10, 1),
    databaseNamedStatements: false,
    databaseSoleWriter: false,
    databaseUpkeepMinutes: integer(env, 'LANTERN_DB_UPKEEP_MINUTES', 10, 0),
    dataDir,
    blobDir: path.resolve(env.LANTERN_BLOB_DIR || path.join(dataDir, 'blobs')),
    modelsDir: path.resolve(env.LANTERN_MODELS_DIR || path.join(repoRoot, 'models')),
    viewerDir: path.resolve(env.LANTERN_VIEWER_DIR || path.join(repoRoot, 'viewer', 'dist')),
    workers: integer(env, 'LANTERN_WORKERS', os.availableParallelism(), 0),
    workerConcurrency: integer(env, 'LANTERN_WORKER_CONCURRENCY', 1, 1),
    workerNice: integer(env, 'LANTERN_WORKER_NICE', 10, 0, 19),
    ortThreads,
    vipsThreads: integer(env, 'LANTERN_VIPS_THREADS', ortThreads, 1),
    jpeg2000Native: env.LANTERN_JPEG2000_NATIVE !== '0',
    decodeThreads: integer(env, 'LANTERN_DECODE_THREADS', Math.min(2, os.availableParallelism()), 1),
    maxUploadBytes: integer(env, 'LANTERN_MAX_UPLOAD_BYTES', 512 * 1024 * 1024, 1),
    maxJsonBodyBytes: integer(env, 'LANTERN_MAX_JSON_BYTES', 1024 * 1024, 1),
    dicomLimits: Object.fromEntries(Object.entries(LIMIT_SETTINGS).map(([key, name]) =>
      [key, integer(env, name, DEFAULT_DICOM_LIMITS[key as keyof DicomLimits], key === 'parseDeadlineMs' ? 0 : 1)])) as unknown as DicomLimits,
    queuePrefix: env.LANTERN_QUEUE_PREFIX || 'lantern',
    jobLockMs: integer(env, 'LANTERN_JOB_LOCK_MS', 30_000, 1000),
    workerStallSeconds: integer(env, 'LANTERN_WORKER_STALL_SECONDS', 120, 0),
    degradation: {
      enabled: onOff(env, 'LANTERN_DEGRADATION', true),
      checkMs: integer(env, 'LANTERN_DEGRADATION_CHECK_MS', 2000, 100),
      holdSeconds: integer(env, 'LANTERN_DEGRADATION_HOLD_S', 60, 1),
    },
    logLevel: env.LOG_LEVEL || 'info',
    shutdownGraceSeconds: integer(env, 'LANTERN_SHUTDOWN_GRACE_S', 10, 0),
    // Unset means under dataDir, resolved where the store opens: an overridden dataDir takes its audit files along.
    auditKeyFile: env.LANTERN_AUDIT_KEY ? path.resolve(env.LANTERN_AUDIT_KEY) : undefined,
    auditCheckpointFile: env.LANTERN_AUDIT_CHECKPOINTS ? path.resolve(env.LANTERN_AUDIT_CHECKPOINTS) : undefined,
    auditCheckpointSeconds: integer(env, 'LANTERN_AUDIT_CHECKPOINT_S', 10, 0),
    auditWaitMs: integer(env, 'LANTERN_AUDIT_WAIT_MS', 2000, 1),
    auditWitness: auditWitness(env),
    resultsDestination: resultsDestination(env),
    deidentifyKeyFile: env.LANTERN_DEIDENTIFY_KEY ? path.resolve(env.LANTERN_DEIDENTIFY_KEY) : undefined,
    readAuditWindowSeconds: integer(env, 'LANTERN_READ_AUDIT_WINDOW_S', 300, 1, 3600),
    ...tlsFiles(env),
    allowedHosts: list(env.LANTERN_ALLOWED_HOSTS),
    allowedOrigins: list(env.LANTERN_ALLOWED_ORIGINS),
    timeZone: timeZone(env.LANTERN_TIMEZONE || 'Asia/Shanghai'),
    rateLimitPerMinute: integer(env, 'LANTERN_RATE_LIMIT', 600, 0),
    loginRateLimitPerMinute: integer(env, 'LANTERN_LOGIN_RATE_LIMIT', 10, 0),
    sharedRateLimits: Boolean(env.REDIS_URL),
    sessionIdleMinutes: integer(env, 'LANTERN_SESSION_IDLE_MIN', 30, 1),
    sessionAbsoluteHours: integer(env, 'LANTERN_SESSION_MAX_H', 12, 1),
    oidc: oidcSettings(env),
    cdsClientsFile: env.LANTERN_CDS_CLIENTS ? path.resolve(env.LANTERN_CDS_CLIENTS) : undefined,
    dimse: dimseSettings(env),
  };
  return { ...config, ...overrides };
}
