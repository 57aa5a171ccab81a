import type { Context } from 'hono';

/**
 * Who is asking. Until access control lands this is the self-declared name the viewer
 * sends in `X-Lantern-User` (or "anonymous"); it is recorded, not trusted.
 */
export function requestActor(c: Context): string {
  const name = c.req.header('x-lantern-user')?.trim();
  return name ? name.slice(0, 100) : 'anonymous';
}
