/** What every aggregate of the store shares: its options, the typed errors its writes throw, and row-mapping helpers. */
import type { AuditSeal } from './audit-anchor.ts';
import type { Database } from './db.ts';
import type { SignInCache } from './sign-in-cache.ts';
import type { ConsultationChange } from '../contract/consultations.ts';
import type { Prioritise, StudyChange } from './types.ts';

export class NotFoundError extends Error {
  readonly code = 'NOT_FOUND';
}

/** A write that names something which exists but does not fit (an image of another study, a region outside the image). */
export class InvalidReferenceError extends Error {
  readonly code = 'VALIDATION_FAILED';
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

/** Text PostgreSQL cannot store as given (a NUL, an unpaired surrogate): refused before any write, naming the field. */
export class UnstorableTextError extends InvalidReferenceError {}

/** An audit record that could not be kept within the wait an answer allows: the answer must not claim success (503). */
export class AuditUnavailableError extends Error {
  readonly code = 'AUDIT_UNAVAILABLE';
}

/** The chain does not verify against its checkpoints: nothing is signed over it until someone looks. */
export class AuditBrokenError extends Error {
  readonly code = 'AUDIT_BROKEN';
}

/** A decision on a finding that makes no claim: the model was not applicable to the image. */
export class NotApplicableError extends Error {
  readonly code = 'FINDING_NOT_APPLICABLE';
}

export interface StoreOptions {
  /** Triage policy, injected so store/ stays free of clinical logic; called inside each study-changing transaction. */
  prioritise: Prioritise;
  /** Called when an audit write or checkpoint fails (calculation audits are kept and retried), or a record is quarantined. */
  onAuditError?: (error: unknown) => void;
  /** How long a calculation waits for its audit record to be written before its answer is a 503 (default 2000 ms). */
  auditWaitMs?: number;
  /** How long a record of reads of patient data stays open, counting the same user's reads of the same thing (default 5 minutes; read-audits.ts). */
  readAuditWindowMs?: number;
  /** Where calculation audits still unwritten at close are kept for the next start; without it they are reported lost. */
  auditSpoolFile?: string;
  /** The signing key and checkpoint file; without it the chain is verified by its hashes alone (no truncation or re-hash detection). */
  auditSeal?: AuditSeal;
  /**
   * Called after a write that changes what a reader sees of a study has committed (never
   * for a rolled-back or duplicate write): how live views learn to re-fetch. Must not throw.
   */
  onChange?: (change: StudyChange) => void;
  /** Called after a consultation step has committed (store/consultations.ts): how the asker sees the answer live. Must not throw. */
  onConsultation?: (change: ConsultationChange) => void;
  /**
   * This store is its database's only writer (PGlite in this process, or `npm start`'s private
   * PGlite server, which serves this API alone): token sign-ins are then kept between requests
   * (store/sign-in-cache.ts). Default false.
   */
  soleWriter?: boolean;
}

export const iso = (value: Date | string) => new Date(value).toISOString();
export const optional = <T>(value: T | null) => value ?? undefined;

/** What every store function is given first: the database and the options of the store it belongs to. */
export interface StoreContext {
  db: Database;
  options: StoreOptions;
  /** Token sign-ins kept between requests; a write that changes users, tokens or site reading calls its `changed` once committed. */
  signIns: SignInCache;
}

type Bound<F> = { [K in keyof F]: F[K] extends (context: StoreContext, ...args: infer A) => infer R ? (...args: A) => R : never };

/** `functions` with `context` given: how each aggregate's functions become methods of one Store (store.ts). */
export function bindContext<F extends Record<string, (context: StoreContext, ...args: never[]) => unknown>>(context: StoreContext, functions: F): Bound<F> {
  return Object.fromEntries(Object.entries(functions).map(([name, fn]) => [name, (...args: never[]) => fn(context, ...args)])) as Bound<F>;
}
