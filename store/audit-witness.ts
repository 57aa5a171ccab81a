/**
 * The audit chain's remote witness, from the side that sends: each head this store signs
 * is also sent to another Lantern (or any endpoint speaking `POST /v1/audit/witness`), so
 * a chain truncated or rewritten and re-signed on this box — database, checkpoint file and
 * key all in one owner's hands — is caught against what the witness saw.
 *
 * Heads are cumulative (a head at seq n vouches for every record before it), so only the
 * newest undelivered head is kept and retried with backoff. At start the newest checkpoint
 * is offered again (a witness answers a head it holds as `already`), so a head signed just
 * before a crash still arrives. Nothing waits for the witness: a checkpoint is done once it
 * is in the file.
 */
import { publicKeyPem, type AuditPublicKey, type SignedHead } from './audit-seal.ts';

export interface WitnessTarget {
  /** Base URL of the witness (another Lantern). */
  url: string;
  /** Bearer token of this Lantern's account at the witness (role `audit-witness`). */
  token: string;
  /** How long a head may stay undelivered before the witness is reported degraded. */
  maxLagMs: number;
}

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 60_000;
const REQUEST_TIMEOUT_MS = 10_000;
/** How long `stop()` gives the last head to reach the witness; the next start sends it again. */
const STOP_DEADLINE_MS = 2000;

/** The witness answered, and not with success: `status` 409 is its evidence against this chain. */
export class WitnessAnswerError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The witness could not be asked (down, unreachable, refusing the token): a verification that needs it cannot be made. */
export class WitnessUnreachableError extends Error {
  readonly code = 'WITNESS_UNREACHABLE';
}

/** One call to the witness: its JSON answer, WitnessAnswerError for a refusal, WitnessUnreachableError when it did not answer. */
async function witnessCall(target: Pick<WitnessTarget, 'url' | 'token'>, resource: string, init: RequestInit = {}, timeoutMs = REQUEST_TIMEOUT_MS): Promise<unknown> {
  const response = await fetch(new URL(resource, target.url), {
    ...init,
    headers: { ...init.headers, authorization: `Bearer ${target.token}` },
    signal: AbortSignal.timeout(timeoutMs),
  }).catch((error: Error) => {
    const cause = (error.cause as Error | undefined)?.message;
    throw new WitnessUnreachableError(`the audit witness ${target.url} did not answer: ${error.message}${cause ? ` (${cause})` : ''}`);
  });
  const body = await response.json().catch(() => undefined) as { error?: { code: string; message: string } } | undefined;
  if (!response.ok) throw new WitnessAnswerError(response.status, `the audit witness ${target.url} answered ${response.status}${body?.error ? ` ${body.error.code}: ${body.error.message}` : ''}`);
  return body;
}

/**
 * The heads `target` witnessed for `keyId`, oldest first; none when it never saw the key.
 * Throws WitnessUnreachableError when it cannot say.
 */
export async function fetchWitnessedHeads(target: Pick<WitnessTarget, 'url' | 'token'>, keyId: string): Promise<SignedHead[]> {
  try {
    const answer = await witnessCall(target, `/v1/audit/witness/${encodeURIComponent(keyId)}`) as { heads: SignedHead[] };
    return answer.heads.map(({ seq, hash, at, keyId: id, signature }) => ({ seq, hash, at, keyId: id, signature }));
  } catch (error) {
    if (error instanceof WitnessAnswerError && error.status === 404) return [];
    if (error instanceof WitnessUnreachableError) throw error;
    throw new WitnessUnreachableError(`the audit witness ${target.url} would not give its heads: ${(error as Error).message}`);
  }
}

/** Sends signed heads to `target`: `offer` each new one; `status` for health; `stop` tries the last one once more. */
export function auditWitness(target: WitnessTarget, key: AuditPublicKey, onError: (error: unknown) => void) {
  // Sent with every head, used by the witness only on first contact (it trusts the key it first saw for a keyId).
  const publicKey = publicKeyPem(key);
  let pending: { head: SignedHead; since: number } | undefined;
  let delivered: SignedHead | undefined;
  let lastError: string | undefined;
  let refused = false;
  let sending: Promise<void> | undefined;
  let retry: NodeJS.Timeout | undefined;
  let retryMs = FIRST_RETRY_MS;
  let stopped = false;

  const send = (head: SignedHead, timeoutMs?: number) => witnessCall(target, '/v1/audit/witness', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...head, publicKey }),
  }, timeoutMs);

  /** Sends the pending head (and any newer one offered meanwhile) until none is left, or schedules a retry. */
  function deliver(timeoutMs?: number): Promise<void> {
    sending ??= (async () => {
      clearTimeout(retry);
      retry = undefined;
      while (pending) {
        const { head } = pending;
        try {
          await send(head, timeoutMs);
        } catch (error) {
          lastError = (error as Error).message;
          refused = error instanceof WitnessAnswerError && error.status === 409;
          onError(error);
          if (!stopped) retry = setTimeout(() => void deliver(), retryMs).unref();
          retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
          return;
        }
        delivered = head;
        lastError = undefined;
        refused = false;
        retryMs = FIRST_RETRY_MS;
        if (pending.head === head) pending = undefined;
      }
    })().finally(() => { sending = undefined; });
    return sending;
  }

  return {
    /** A newly signed head (or, at start, the newest checkpoint): sent now, unless a retry is already scheduled. */
    offer(head: SignedHead): void {
      if (pending && head.seq < pending.head.seq) return;
      pending = { head, since: pending?.since ?? Date.now() };
      if (!retry) void deliver();
    },
    status() {
      const overdue = pending !== undefined && Date.now() - pending.since > target.maxLagMs;
      return {
        state: overdue || refused ? 'degraded' as const : 'ok' as const,
        url: target.url,
        ...(delivered ? { delivered: { seq: delivered.seq, at: delivered.at } } : {}),
        ...(pending ? { pending: { seq: pending.head.seq, since: new Date(pending.since).toISOString() } } : {}),
        ...(lastError ? { lastError } : {}),
        refused,
      };
    },
    async stop(): Promise<void> {
      stopped = true;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => { timer = setTimeout(resolve, STOP_DEADLINE_MS); });
      await Promise.race([sending ?? (pending ? deliver(STOP_DEADLINE_MS) : undefined), deadline]);
      clearTimeout(timer);
      clearTimeout(retry);
    },
  };
}
