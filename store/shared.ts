/** What every aggregate of the store shares: its options, the typed errors its writes throw, and row-mapping helpers. */
import type { Database } from './db.ts';
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

/** A decision on a finding that makes no claim: the model was not applicable to the image. */
export class NotApplicableError extends Error {
  readonly code = 'FINDING_NOT_APPLICABLE';
}

export interface StoreOptions {
  /** Triage policy, injected so store/ stays free of clinical logic; called inside each study-changing transaction. */
  prioritise: Prioritise;
  /** Called when a group commit of calculation audits fails (they are kept and retried). */
  onAuditError?: (error: unknown) => void;
  /**
   * Called after a write that changes what a reader sees of a study has committed (never
   * for a rolled-back or duplicate write): how live views learn to re-fetch. Must not throw.
   */
  onChange?: (change: StudyChange) => void;
}

export const iso = (value: Date | string) => new Date(value).toISOString();
export const optional = <T>(value: T | null) => value ?? undefined;

/** What every store function is given first: the database and the options of the store it belongs to. */
export interface StoreContext {
  db: Database;
  options: StoreOptions;
}

type Bound<F> = { [K in keyof F]: F[K] extends (context: StoreContext, ...args: infer A) => infer R ? (...args: A) => R : never };

/** `functions` with `context` given: how each aggregate's functions become methods of one Store (store.ts). */
export function bindContext<F extends Record<string, (context: StoreContext, ...args: never[]) => unknown>>(context: StoreContext, functions: F): Bound<F> {
  return Object.fromEntries(Object.entries(functions).map(([name, fn]) => [name, (...args: never[]) => fn(context, ...args)])) as Bound<F>;
}
