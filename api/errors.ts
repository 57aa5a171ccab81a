import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { DicomError } from '../dicom/errors.ts';
import { InputValidationError } from '../inference/features.ts';
import { logger } from '../log.ts';
import { AuditBrokenError, AuditUnavailableError, ConsultationRefusedError, InvalidReferenceError, NotApplicableError, NotFoundError } from '../store/store.ts';

/** Every API error leaves as `{ error: { code, message, details? } }` with a fitting status. */
export class ApiError extends Error {
  constructor(readonly status: ContentfulStatusCode, readonly code: string, message: string, readonly details?: unknown) {
    super(message);
  }
}

/**
 * An error answer never echoes unbounded input: at most this many `details`, each message cut to
 * `MAX_DETAIL_CHARS` (a JSON body with a million unknown keys once made an 85 MiB answer).
 */
export const MAX_DETAILS = 20;
const MAX_DETAIL_CHARS = 300;

const clip = (text: string) => (text.length > MAX_DETAIL_CHARS ? `${text.slice(0, MAX_DETAIL_CHARS)}… (${text.length} characters)` : text);

/** Turns a zod failure into a 422 that names the bad fields (the first `MAX_DETAILS`). */
export function validationError(error: z.ZodError): ApiError {
  const issues = error.issues;
  const more = issues.length > MAX_DETAILS ? `; ${issues.length - MAX_DETAILS} more not listed` : '';
  return new ApiError(422, 'VALIDATION_FAILED', `the request body is invalid${more}`,
    issues.slice(0, MAX_DETAILS).map((issue) => ({ field: clip(issue.path.join('.')) || '(body)', message: clip(issue.message) })));
}

/** 413 before a body is read past `limit`; `setting` names the variable that raises it. */
export function payloadTooLarge(limit: number, setting: string): ApiError {
  const size = limit >= 1024 * 1024 ? `${Math.round((limit / 1024 / 1024) * 10) / 10} MiB` : `${limit} bytes`;
  return new ApiError(413, 'PAYLOAD_TOO_LARGE', `the request body exceeds the ${size} limit (${setting})`);
}

/** Details as sent: a list is cut to `MAX_DETAILS`, and long strings inside an entry are clipped. */
function boundedDetails(details: unknown): unknown {
  if (!Array.isArray(details)) return details;
  return details.slice(0, MAX_DETAILS).map((entry) => (entry && typeof entry === 'object'
    ? Object.fromEntries(Object.entries(entry).map(([k, v]) => [k, typeof v === 'string' ? clip(v) : v]))
    : entry));
}

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw validationError(parsed.error);
  return parsed.data;
}

export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof NotFoundError) return new ApiError(404, error.code, error.message);
  if (error instanceof NotApplicableError) return new ApiError(409, error.code, error.message);
  if (error instanceof InvalidReferenceError) return new ApiError(422, error.code, error.message, [{ field: error.field, message: error.message }]);
  if (error instanceof ConsultationRefusedError) return new ApiError(error.status, error.code, error.message, error.field && [{ field: error.field, message: error.message }]);
  if (error instanceof InputValidationError) return new ApiError(422, error.code, 'the inputs are invalid; see details for each field', error.issues);
  if (error instanceof DicomError) return new ApiError(422, error.code, error.message);
  // An answer whose audit record could not be kept is not given: 503, the record is retried.
  if (error instanceof AuditUnavailableError) return new ApiError(503, error.code, error.message);
  if (error instanceof AuditBrokenError) return new ApiError(409, error.code, error.message);
  logger.error({ err: error }, 'unhandled error');
  return new ApiError(500, 'INTERNAL', 'an internal error occurred; it has been logged');
}

export function errorResponse(c: Context, error: unknown) {
  const apiError = toApiError(error);
  const body = { error: { code: apiError.code, message: apiError.message, ...(apiError.details === undefined ? {} : { details: boundedDetails(apiError.details) }) } };
  return c.json(body, apiError.status);
}
