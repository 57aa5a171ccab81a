import { auditedTransaction, type AuditedTx } from './audit.ts';
import type { StoreContext } from './shared.ts';
import type { SignedInUser } from './users.ts';

/**
 * Who a Lantern API token signs in as, kept between requests — only when this store is its
 * database's sole writer (PGlite in this process, or the private PGlite server `npm start` runs
 * for this API alone). Then every change of who may do what (a token created or revoked, a user
 * created, disabled or given other roles or sites, a site's reading changed) is made by this store,
 * which forgets everything it kept once that change has committed (`changed`), before the request
 * that made it is answered: a revoked token fails on the very next request, as without the cache.
 * A shared PostgreSQL (several API processes) has it off: another process's change would not reach it.
 * Saves the one database round trip every token-carrying request paid before its handler.
 *
 * Contract: `lookup` answers from memory only what was read after the last `changed` and whose
 * token has not expired; a read that was under way when `changed` ran is answered but not kept (a
 * generation count), so it cannot bring back what the change ended. Unknown tokens are never kept.
 * At most MAX_KEPT sign-ins, none older than MAX_AGE_MS: a write path that forgot `changed` (the
 * architecture test store/sign-in-cache.test.ts looks for one) would be wrong for at most that long.
 */
export interface SignInCache {
  lookup(tokenHash: string, read: () => Promise<KeptSignIn | undefined>): Promise<SignedInUser | undefined>;
  /** After a change of users, tokens or site reading has committed. */
  changed(): void;
}

/** A sign-in as read, with when its token expires (ms since the epoch). */
export interface KeptSignIn {
  signedIn: SignedInUser;
  expiresAt: number;
}

const MAX_KEPT = 1000;
const MAX_AGE_MS = 60_000;

export function signInCache(enabled: boolean): SignInCache {
  if (!enabled) return { lookup: async (_hash, read) => (await read())?.signedIn, changed: () => undefined };
  const kept = new Map<string, KeptSignIn & { readAt: number }>();
  let generation = 0;
  return {
    async lookup(tokenHash, read) {
      const now = Date.now();
      const hit = kept.get(tokenHash);
      if (hit && now < hit.expiresAt && now - hit.readAt < MAX_AGE_MS) return hit.signedIn;
      kept.delete(tokenHash);
      const readIn = generation;
      const found = await read();
      if (found && generation === readIn) {
        // The oldest kept goes first (a Map iterates in insertion order).
        if (kept.size >= MAX_KEPT) kept.delete(kept.keys().next().value!);
        // Shared by the requests it answers: none may change it.
        Object.freeze(found.signedIn.user.roles);
        Object.freeze(found.signedIn.user.sites);
        Object.freeze(found.signedIn.readsFor);
        kept.set(tokenHash, { signedIn: Object.freeze({ ...found.signedIn, user: Object.freeze(found.signedIn.user) }), expiresAt: found.expiresAt, readAt: now });
      }
      return found?.signedIn;
    },
    changed() {
      generation += 1;
      kept.clear();
    },
  };
}

/**
 * The transaction of a write that changes who may do what (users, api_tokens, site_reading): an
 * audited transaction after which, committed or not, the sign-ins kept are forgotten.
 */
export async function accessChangingTransaction<T>({ db, signIns }: Pick<StoreContext, 'db' | 'signIns'>, work: (tx: AuditedTx) => Promise<T>): Promise<T> {
  try {
    return await auditedTransaction(db, work);
  } finally {
    signIns.changed();
  }
}
