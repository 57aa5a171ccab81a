/**
 * Users, browser sessions and API tokens. Passwords are kept as scrypt hashes (memory-hard:
 * 32 MiB per guess), session and token values only as SHA-256 (they are 256 random bits,
 * so a fast hash is enough); a database dump signs nobody in.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Role, User } from '../contract/identity.ts';
import { appendAudit, auditedTransaction } from './audit.ts';
import { accessChangingTransaction } from './sign-in-cache.ts';
import { iso, type StoreContext } from './shared.ts';
import { requireSites } from './sites.ts';

/** N=2^15, r=8 → 32 MiB and ~50–100 ms per hash on this class of CPU: slow for an attacker, bearable at sign-in. */
const SCRYPT: ScryptOptions & { N: number; r: number; p: number } = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LENGTH = 32;
/** A session's last use is written at most this often (see sessionFor). */
const RENEW_AFTER_SECONDS = 60;
/** Hashed on the first unknown user name, so that a miss costs what a hit costs. */
let dummyHash: Promise<string> | undefined;

function scryptHash(password: string, salt: Buffer, options = SCRYPT): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, KEY_LENGTH, options, (error, key) => (error ? reject(error) : resolve(key))));
}

/** `scrypt$N$r$p$salt$hash` (base64): the parameters travel with the hash, so they can be raised later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptHash(password, salt);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function passwordMatches(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt') return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await scryptHash(password, Buffer.from(salt, 'base64'), { N: Number(n), r: Number(r), p: Number(p), maxmem: SCRYPT.maxmem });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A fresh secret (session, token, CSRF) and the hash under which it is stored. */
export function newSecret(): { value: string; hash: string } {
  const value = randomBytes(32).toString('base64url');
  return { value, hash: secretHash(value) };
}

export const secretHash = (value: string) => createHash('sha256').update(value).digest('hex');

export interface UserRow {
  username: string;
  display_name: string;
  roles: Role[];
  sites: string[];
  password_hash: string | null;
}

export const userFromRow = (row: UserRow): User => ({ username: row.username, displayName: row.display_name, roles: row.roles, sites: row.sites });

/**
 * A user as signing in finds them, with the sites their own sites read for (site_reading, direct
 * only, in id order, without their own): with `user.sites`, the scope of what they read.
 */
export interface SignedInUser {
  user: User;
  readsFor: string[];
}

/**
 * Select-list columns of a signed-in user: every column of the users row `u` and its `reads_for`.
 * Every sign-in reads the user and their scope in this one statement, so a request pays one
 * round trip before its handler (a token's, where the store keeps it, only the first time:
 * store/sign-in-cache.ts); a disabled user or a changed site_reading is seen on the next one.
 */
const SIGNED_IN_COLUMNS = `u.*, array(
  select distinct r.read_site_id from site_reading r
   where r.reader_site_id = any(u.sites) and not (r.read_site_id = any(u.sites)) order by 1) as reads_for`;

type SignedInRow = UserRow & { reads_for: string[] };

const signedInFromRow = (row: SignedInRow): SignedInUser => ({ user: userFromRow(row), readsFor: row.reads_for });

/** How long a browser session lives: renewed by use up to `idleMinutes`, never past `absoluteHours`. */
export interface SessionLifetime {
  idleMinutes: number;
  absoluteHours: number;
}

export interface SessionRecord {
  user: User;
  csrfToken: string;
  expiresAt: string;
}

export type LiveSession = SessionRecord & SignedInUser;

/** The identity writes and reads, each given the store's context first (bindContext). */
export const userAccess = {
  /**
   * Contract: one transaction; the user row and its audit record (`user.created`, actor = who
   * created it). A taken name → false, nothing written; a site that does not exist → InvalidReferenceError.
   */
  async createUser(context: StoreContext, user: User & { password: string }, actor: string): Promise<boolean> {
    const passwordHash = await hashPassword(user.password);
    return accessChangingTransaction(context, async (tx) => {
      await requireSites(tx, user.sites);
      const inserted = await tx.query('insert into users (username, display_name, roles, sites, password_hash) values ($1, $2, $3, $4, $5) on conflict do nothing returning username',
        [user.username, user.displayName, user.roles, user.sites, passwordHash]);
      if (inserted.rows.length === 0) return false;
      await appendAudit(tx, { actor, action: 'user.created', entityType: 'user', entityId: user.username, payload: { displayName: user.displayName, roles: user.roles, sites: user.sites } });
      return true;
    });
  },

  /** The user of this name unless disabled: whom a DIMSE peer's calling AE title (api/dimse) or a CDS client's JWT speaks for. */
  async activeUser({ db }: StoreContext, username: string): Promise<SignedInUser | undefined> {
    const { rows: [row] } = await db.query<SignedInRow>(`select ${SIGNED_IN_COLUMNS} from users u where u.username = $1 and u.disabled_at is null`, [username]);
    return row && signedInFromRow(row);
  },

  async countUsers({ db }: StoreContext): Promise<number> {
    const { rows: [row] } = await db.query<{ n: number }>('select count(*)::int as n from users');
    return row.n;
  },

  async listUsers({ db }: StoreContext): Promise<User[]> {
    const { rows } = await db.query<UserRow>('select * from users where disabled_at is null order by username');
    return rows.map(userFromRow);
  },

  /** The user whose password this is, or undefined (unknown user, disabled, wrong password: not told apart). */
  async checkPassword({ db }: StoreContext, username: string, password: string): Promise<SignedInUser | undefined> {
    const { rows: [row] } = await db.query<SignedInRow>(`select ${SIGNED_IN_COLUMNS} from users u where u.username = $1 and u.disabled_at is null`, [username]);
    // An unknown name costs a hash too, so timing does not tell which names exist.
    const stored = row?.password_hash ?? (await (dummyHash ??= hashPassword(randomBytes(16).toString('hex'))));
    const matches = await passwordMatches(password, stored);
    return row && matches ? signedInFromRow(row) : undefined;
  },

  /**
   * Contract: one transaction; the session row and `session.started`. The cookie value is returned once.
   * `notAfter`: what the identity provider granted; the session never outlives it.
   */
  async startSession({ db }: StoreContext, user: User, lifetime: SessionLifetime, notAfter?: Date): Promise<SessionRecord & { token: string }> {
    const { value, hash } = newSecret();
    const csrfToken = newSecret().value;
    const expiresAt = new Date(Math.min(Date.now() + lifetime.absoluteHours * 3600_000, notAfter?.getTime() ?? Infinity));
    await auditedTransaction(db, async (tx) => {
      await tx.query('insert into sessions (token_hash, username, csrf_token, expires_at) values ($1, $2, $3, $4)', [hash, user.username, csrfToken, expiresAt]);
      await appendAudit(tx, { actor: user.username, action: 'session.started', entityType: 'user', entityId: user.username, payload: {} });
    });
    return { token: value, user, csrfToken, expiresAt: iso(expiresAt) };
  },

  /**
   * The live session with this cookie value; undefined when unknown, past its idle or
   * absolute limit, or its user disabled. Use renews it, but at most once a minute: a
   * viewer makes a request per frame and per poll, and a write for each would load the
   * database for nothing (the idle limit is then kept to within that minute). `renew: false`
   * for a check that is not the user's doing (an open event stream asking whether its session
   * still holds), which must not keep an unattended screen signed in.
   */
  async sessionFor({ db }: StoreContext, token: string, lifetime: SessionLifetime, renew = true): Promise<LiveSession | undefined> {
    const { rows: [row] } = await db.query<SignedInRow & { csrf_token: string; expires_at: Date }>(
      `with live as (
         select ${SIGNED_IN_COLUMNS}, s.token_hash, s.csrf_token, s.expires_at, s.last_seen_at as seen from sessions s join users u on u.username = s.username
          where s.token_hash = $1 and u.disabled_at is null
            and s.expires_at > now() and s.last_seen_at > now() - make_interval(mins => $2)),
       renewed as (
         update sessions set last_seen_at = now()
          where $3::boolean and token_hash in (select token_hash from live where seen < now() - interval '${RENEW_AFTER_SECONDS} seconds'))
       select * from live`, [secretHash(token), lifetime.idleMinutes, renew]);
    return row && { ...signedInFromRow(row), csrfToken: row.csrf_token, expiresAt: iso(row.expires_at) };
  },

  /** Contract: the session row goes and `session.ended` is audited, in one transaction; an unknown cookie changes nothing. */
  async endSession({ db }: StoreContext, token: string): Promise<void> {
    await auditedTransaction(db, async (tx) => {
      const { rows: [ended] } = await tx.query<{ username: string }>('delete from sessions where token_hash = $1 returning username', [secretHash(token)]);
      if (ended) await appendAudit(tx, { actor: ended.username, action: 'session.ended', entityType: 'user', entityId: ended.username, payload: {} });
    });
  },

  /** Contract: one transaction; the token's hash and `token.created` (its name, never its value). */
  async createApiToken(context: StoreContext, user: User, name: string, days: number): Promise<{ token: string; expiresAt: string }> {
    const { value, hash } = newSecret();
    const expiresAt = new Date(Date.now() + days * 86_400_000);
    await accessChangingTransaction(context, async (tx) => {
      await tx.query('insert into api_tokens (token_hash, username, name, expires_at) values ($1, $2, $3, $4)', [hash, user.username, name, expiresAt]);
      await appendAudit(tx, { actor: user.username, action: 'token.created', entityType: 'user', entityId: user.username, payload: { name, expiresAt: iso(expiresAt) } });
    });
    return { token: value, expiresAt: iso(expiresAt) };
  },

  /** The user of a live API token (not revoked, not expired, user not disabled); kept between requests where the store may (store/sign-in-cache.ts). */
  async userForToken({ db, signIns }: StoreContext, token: string): Promise<SignedInUser | undefined> {
    const hash = secretHash(token);
    return signIns.lookup(hash, async () => {
      const { rows: [row] } = await db.query<SignedInRow & { token_expires_at: Date }>(
        `select ${SIGNED_IN_COLUMNS}, t.expires_at as token_expires_at from api_tokens t join users u on u.username = t.username
          where t.token_hash = $1 and t.expires_at > now() and u.disabled_at is null`, [hash]);
      return row && { signedIn: signedInFromRow(row), expiresAt: new Date(row.token_expires_at).getTime() };
    });
  },

  /**
   * The account of a user an OpenID Connect provider vouches for, found by (issuer, subject).
   * The provider is authoritative: roles and display name it states replace the stored ones
   * (written and audited as `user.updated` only when they differ, so a bearer token used per
   * request costs one read). Contract for an unknown subject: with `provision`, one transaction
   * inserts the user and audits `user.created` (actor: the user, vouched for by the issuer);
   * a user name another account holds is refused, nothing written. Without `identity.roles`
   * (a token that does not carry them) the stored roles stand and an unknown subject is refused.
   */
  async userFromProvider(context: StoreContext, identity: ProviderIdentity, provision: boolean): Promise<ProviderSignIn> {
    const { db } = context;
    const { rows: [known] } = await db.query<SignedInRow & { disabled_at: Date | null }>(
      `select ${SIGNED_IN_COLUMNS} from users u where u.oidc_issuer = $1 and u.oidc_subject = $2`, [identity.issuer, identity.subject]);
    if (known?.disabled_at) return { refused: 'USER_DISABLED' };
    if (known) {
      const roles = identity.roles ?? known.roles;
      if (sameSet(roles, known.roles) && identity.displayName === known.display_name) return signedInFromRow(known);
      return accessChangingTransaction(context, async (tx) => {
        const { rows: [row] } = await tx.query<SignedInRow>(
          `update users u set roles = $2, display_name = $3 where u.username = $1 returning ${SIGNED_IN_COLUMNS}`, [known.username, roles, identity.displayName]);
        await appendAudit(tx, { actor: row.username, action: 'user.updated', entityType: 'user', entityId: row.username, payload: { displayName: row.display_name, roles, issuer: identity.issuer } });
        return signedInFromRow(row);
      });
    }
    if (!provision || !identity.roles) return { refused: 'USER_UNKNOWN' };
    const roles = identity.roles;
    return accessChangingTransaction(context, async (tx): Promise<ProviderSignIn> => {
      const { rows: [row] } = await tx.query<SignedInRow>(
        `insert into users as u (username, display_name, roles, oidc_issuer, oidc_subject) values ($1, $2, $3, $4, $5) on conflict do nothing returning ${SIGNED_IN_COLUMNS}`,
        [identity.username, identity.displayName, roles, identity.issuer, identity.subject]);
      if (!row) {
        // Either the name is another account's, or a second sign-in of the same person has just created it.
        const { rows: [raced] } = await tx.query<SignedInRow>(`select ${SIGNED_IN_COLUMNS} from users u where u.oidc_issuer = $1 and u.oidc_subject = $2`, [identity.issuer, identity.subject]);
        return raced ? signedInFromRow(raced) : { refused: 'USERNAME_TAKEN' };
      }
      await appendAudit(tx, {
        actor: row.username, action: 'user.created', entityType: 'user', entityId: row.username,
        payload: { displayName: row.display_name, roles, issuer: identity.issuer, subject: identity.subject },
      });
      return signedInFromRow(row);
    });
  },
};

/** What an OpenID Connect provider states about a user, read from a token Lantern has verified. */
export interface ProviderIdentity {
  issuer: string;
  subject: string;
  username: string;
  displayName: string;
  /** Undefined when the token does not carry the roles claim. */
  roles?: Role[];
}

export type ProviderSignIn = SignedInUser | { refused: 'USER_UNKNOWN' | 'USER_DISABLED' | 'USERNAME_TAKEN' };

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));

