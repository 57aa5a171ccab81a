import { ApiError } from './api.ts';

/** What a failed request says on screen: the API's code and message, else the error's own message. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
