import fs from 'node:fs';
import { createServer } from 'node:https';
import type { LanternConfig } from '../config.ts';

/**
 * What `serve()` of @hono/node-server needs to speak HTTPS when a certificate and key are
 * configured (`LANTERN_TLS_CERT`, `LANTERN_TLS_KEY`), and the scheme of the URL to print.
 * The files are read once at start: an unreadable or mismatched pair refuses to start
 * (node:https throws on a key that does not match its certificate) instead of serving HTTP.
 */
export function tlsServing(config: Pick<LanternConfig, 'tlsCertFile' | 'tlsKeyFile'>) {
  if (!config.tlsCertFile || !config.tlsKeyFile) return { scheme: 'http' as const, serveOptions: {} };
  const serverOptions = { cert: fs.readFileSync(config.tlsCertFile), key: fs.readFileSync(config.tlsKeyFile) };
  return { scheme: 'https' as const, serveOptions: { createServer, serverOptions } };
}
