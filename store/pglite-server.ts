import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface PgliteServer {
  /** A PostgreSQL URL for `pg`; use it with a pool of exactly one connection. */
  url: string;
  stop(): Promise<void>;
}

/**
 * Serves the embedded PGlite database on a loopback port in the PostgreSQL wire
 * protocol. Run in its own process (`lantern db`), it keeps PGlite's synchronous WASM
 * execution and file writes off the API's event loop, and lets the API use the same
 * `pg` path as a real PostgreSQL. PGlite is one session: clients must use one connection.
 */
export async function servePglite(dir: string): Promise<PgliteServer> {
  fs.mkdirSync(dir, { recursive: true });
  const db = await PGlite.create(dir);
  const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 1 });
  await server.start();
  const { port } = (server as unknown as { server: { address(): AddressInfo } }).server.address();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
