/**
 * Looking after accounts once they exist: an admin changes a user's roles, sites or name, or
 * disables the user; a user changes their own password and lists or revokes their tokens.
 * Each change is one audited transaction. (Creating users, signing in, sessions and tokens
 * are in users.ts.)
 */
import type { TokenInfo, User, UserChange } from '../contract/identity.ts';
import { appendAudit } from './audit.ts';
import { accessChangingTransaction } from './sign-in-cache.ts';
import { iso, NotFoundError, type StoreContext } from './shared.ts';
import { requireSites } from './sites.ts';
import { hashPassword, passwordMatches, secretHash, userFromRow, type UserRow } from './users.ts';

/** Characters of the token hash shown as its id: enough to tell a user's tokens apart, useless to sign in. */
const TOKEN_ID_LENGTH = 16;

export const accountCare = {
  /**
   * Contract: one transaction; the user's row changes as named and `user.updated` (or
   * `user.disabled` / `user.enabled`) is audited with the admin as actor. Disabling also
   * ends the user's sessions and tokens (sessionFor and userForToken already refuse a
   * disabled user; deleting them makes re-enabling not revive them). NotFoundError for an
   * unknown user; InvalidReferenceError for an unknown site.
   */
  async updateUser(context: StoreContext, username: string, change: UserChange, actor: string): Promise<User> {
    return accessChangingTransaction(context, async (tx) => {
      if (change.sites) await requireSites(tx, change.sites);
      const { rows: [row] } = await tx.query<UserRow>(
        `update users set display_name = coalesce($2, display_name), roles = coalesce($3, roles), sites = coalesce($4, sites),
                disabled_at = case when $5::boolean is null then disabled_at when $5 then coalesce(disabled_at, now()) else null end
          where username = $1 returning *`,
        [username, change.displayName ?? null, change.roles ?? null, change.sites ?? null, change.disabled ?? null]);
      if (!row) throw new NotFoundError(`no user ${username}`);
      if (change.disabled) {
        await tx.query('delete from sessions where username = $1', [username]);
        await tx.query('delete from api_tokens where username = $1', [username]);
      }
      const action = change.disabled === true ? 'user.disabled' : change.disabled === false ? 'user.enabled' : 'user.updated';
      await appendAudit(tx, { actor, action, entityType: 'user', entityId: username, payload: { ...change } });
      return userFromRow(row);
    });
  },

  /**
   * Contract: one transaction; the new hash, every other session of the user ended, and
   * `user.password-changed`. False (nothing written) when the current password is wrong or
   * the account has none (signs in through the identity provider).
   */
  async changePassword(context: StoreContext, username: string, current: string, next: string, keepSessionToken?: string): Promise<boolean> {
    const { db } = context;
    const { rows: [row] } = await db.query<{ password_hash: string | null }>('select password_hash from users where username = $1 and disabled_at is null', [username]);
    if (!row?.password_hash || !(await passwordMatches(current, row.password_hash))) return false;
    const hash = await hashPassword(next);
    await accessChangingTransaction(context, async (tx) => {
      await tx.query('update users set password_hash = $2 where username = $1', [username, hash]);
      await tx.query('delete from sessions where username = $1 and token_hash is distinct from $2', [username, keepSessionToken ? secretHash(keepSessionToken) : null]);
      await appendAudit(tx, { actor: username, action: 'user.password-changed', entityType: 'user', entityId: username, payload: {} });
    });
    return true;
  },

  async listApiTokens({ db }: StoreContext, username: string): Promise<TokenInfo[]> {
    const { rows } = await db.query<{ token_hash: string; name: string; created_at: Date; expires_at: Date }>(
      'select token_hash, name, created_at, expires_at from api_tokens where username = $1 and expires_at > now() order by created_at', [username]);
    return rows.map((r) => ({ id: r.token_hash.slice(0, TOKEN_ID_LENGTH), name: r.name, createdAt: iso(r.created_at), expiresAt: iso(r.expires_at) }));
  },

  /** Contract: one transaction; the user's token with this id goes and `token.revoked` (its name) is audited. False if the user has no such token. */
  async revokeApiToken(context: StoreContext, username: string, tokenId: string): Promise<boolean> {
    return accessChangingTransaction(context, async (tx) => {
      const { rows: [revoked] } = await tx.query<{ name: string }>(
        'delete from api_tokens where username = $1 and left(token_hash, $3) = $2 returning name', [username, tokenId, TOKEN_ID_LENGTH]);
      if (!revoked) return false;
      await appendAudit(tx, { actor: username, action: 'token.revoked', entityType: 'user', entityId: username, payload: { tokenId, name: revoked.name } });
      return true;
    });
  },
};
