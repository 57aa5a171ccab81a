import { createHash } from 'node:crypto';

/**
 * A UID derived from `parts` under the 2.25 root (PS3.5 §B.2: a UUID-sized integer): the
 * same inputs give the same UID, so a job that runs twice writes the same SR once, and
 * different inputs collide only as two random UUIDs would.
 */
export function derivedUid(...parts: string[]): string {
  const digest = createHash('sha256').update(['lantern-sr', ...parts].join('\u0000')).digest();
  return `2.25.${BigInt(`0x${digest.subarray(0, 16).toString('hex')}`).toString()}`;
}
