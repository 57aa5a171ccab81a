import type { Context } from 'hono';

/**
 * Who is asking. Until access control lands this is the self-declared name the viewer
 * sends in `X-Lantern-User` (or "anonymous"); it is recorded, not trusted. Headers are
 * Latin-1, so a name such as 李医生 arrives percent-encoded (UTF-8) and is decoded here;
 * a value that is not valid percent-encoding is kept as sent.
 */
export function requestActor(c: Context): string {
  const sent = c.req.header('x-lantern-user')?.trim();
  if (!sent) return 'anonymous';
  let name = sent;
  try {
    name = decodeURIComponent(sent).trim() || sent;
  } catch {
    // Not percent-encoded (e.g. a bare "%"): the literal text is the name.
  }
  return name.slice(0, 100);
}
