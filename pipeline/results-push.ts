import { randomUUID } from 'node:crypto';
import type { ResultsDestination } from '../contract/ai-results-sr.ts';
import { pushInstances } from '../dicom/dimse/scu.ts';

export type { ResultsDestination } from '../contract/ai-results-sr.ts';

/**
 * Sending a written AI results SR to the hospital's archive (config.ts
 * LANTERN_RESULTS_DESTINATION). One attempt per call: it resolves when the destination took
 * the object, and throws otherwise; the AI results push queue (pipeline/ai-results-sr.ts)
 * retries with backoff, apart from the SR writing, so a destination that is down or silent
 * delays the copy there and nothing else.
 */
export type ResultsPush = (bytes: Uint8Array) => Promise<void>;

/** How long one attempt may take before it counts as failed. */
export const PUSH_TIMEOUT_MS = 30_000;

export function resultsPush(destination: ResultsDestination): ResultsPush {
  return destination.kind === 'dicomweb' ? (bytes) => stowRs(destination, bytes) : (bytes) => cStore(destination, bytes);
}

/**
 * C-STORE (PS3.4 B.2) through the bounded SCU (dicom/dimse/scu.ts), the bytes as written.
 * Success and the warning statuses (Bxxx: stored, with coercion or a mismatch noted) count as
 * taken; a refusal, no answer or a failed association does not.
 */
async function cStore(destination: Extract<ResultsDestination, { kind: 'dimse' }>, bytes: Uint8Array): Promise<void> {
  const [result] = await pushInstances(destination, [bytes], { timeoutMs: PUSH_TIMEOUT_MS });
  const taken = result.status === 0 || (result.status !== undefined && (result.status & 0xf000) === 0xb000);
  if (!taken) throw new Error(`${destination.calledAe}@${destination.host}:${destination.port} did not store the instance: ${result.status === undefined ? result.comment : `status 0x${result.status.toString(16)}${result.comment ? ` (${result.comment})` : ''}`}`);
}

/**
 * STOW-RS (PS3.18 §10.5) of one instance to `<url>/studies`. An answer whose DICOM JSON lists
 * the instance under Failed SOP Sequence (0008,1198), or a status other than 200/202, counts
 * as not taken.
 */
async function stowRs(destination: Extract<ResultsDestination, { kind: 'dicomweb' }>, bytes: Uint8Array): Promise<void> {
  const boundary = `lantern-${randomUUID()}`;
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
    bytes,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const response = await fetch(`${destination.url.replace(/\/+$/, '')}/studies`, {
    method: 'POST',
    headers: {
      'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
      accept: 'application/dicom+json',
      ...(destination.token && { authorization: `Bearer ${destination.token}` }),
    },
    body,
    signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
  });
  const text = await response.text();
  if (response.status !== 200 && response.status !== 202) throw new Error(`the destination answered ${response.status}: ${text.slice(0, 300)}`);
  let answer: { '00081198'?: { Value?: unknown[] } } = {};
  try { answer = text ? JSON.parse(text) : {}; } catch { /* a 200 without DICOM JSON: taken */ }
  // Orthanc answers an empty Failed SOP Sequence (no Value) when nothing failed.
  const failed = answer['00081198']?.Value ?? [];
  if (failed.length > 0) throw new Error(`the destination refused the instance: ${JSON.stringify(failed).slice(0, 300)}`);
}
