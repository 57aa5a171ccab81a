import { UnrecoverableError } from 'bullmq';
import type { z } from 'zod';

/**
 * Parses a job's data with its contract schema. Data that breaks the contract cannot get
 * better on a retry, so it fails the job at once (UnrecoverableError), naming each bad field.
 */
export function parseJob<T>(schema: z.ZodType<T>, data: unknown, what: string): T {
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;
  throw new UnrecoverableError(`${what} breaks the contract: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
}
