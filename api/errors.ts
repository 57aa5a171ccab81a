import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { DicomError } from '../dicom/errors.ts';
import { InputValidationError } from '../inference/features.ts';
import { logger } from '../log.ts';
import { AuditBrokenError, AuditUnavailableError, InvalidReferenceError, NotApplicableError, NotFoundError } from '../store/store.ts';

/** Every API error leaves as `{ error: { code, message, details? } }` with a fitting status. */
export class ApiError extends Error {
  constructor(readonly status: ContentfulStatusCode, readonly code: string, message: string, readonly details?: unknown) {
    super(message);
  }
}

/** Turns a zod failure into a 422 that names every bad field. */
export function validationError(error: z.ZodError): ApiError {
  return new ApiError(422, 'VALIDATION_FAILED', 'the request body is invalid',
    error.issues.map((issue) => ({ field: issue.path.join('.') || '(body)', message: issue.message })));
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
  const body = { error: { code: apiError.code, message: apiError.message, ...(apiError.details === undefined ? {} : { details: apiError.details }) } };
  return c.json(body, apiError.status);
}
