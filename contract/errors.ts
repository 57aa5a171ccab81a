import { z } from 'zod';

/** One field a request got wrong; `field` is a dotted path into the body or query, `(body)` for the whole. */
export const fieldIssue = z.object({ field: z.string(), message: z.string() });

/**
 * Every answer that is not 2xx: a machine-readable `code` (e.g. VALIDATION_FAILED,
 * NOT_FOUND, FINDING_NOT_APPLICABLE, PAYLOAD_TOO_LARGE), a sentence for a human, and for
 * validation failures the fields at fault.
 */
export const apiErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  }),
}).meta({ id: 'Error' });

export type FieldIssue = z.infer<typeof fieldIssue>;
export type ApiErrorBody = z.infer<typeof apiErrorBody>;
