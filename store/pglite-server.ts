import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import { logger } from '../log.ts';
import { createDurablePglite } from './pglite-durable.ts';
import { AUTH_TIMEOUT_MS, authenticationFailed, passwordMatches, passwordRequest, pglitePassword, readPassword, restrictToOwner } from './pglite-auth.ts';

export interface PgliteServer {
  /** A PostgreSQL URL for `pg`; use it with a pool of exactly one connection. */
  url: string;
  stop(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;
const TERMINATE = 0x58; // 'X'

/**
 * Serves the embedded PGlite database on a loopback port in the PostgreSQL wire
 * protocol. Run in its own process (`lantern db`), it keeps PGlite's synchronous WASM
 * execution and file writes off the API's event loop, and lets the API use the same
 * `pg` path as a real PostgreSQL. PGlite is one session: one client at a time.
 *
 * Why not @electric-sql/pglite-socket: it hands PGlite each protocol message on its
 * own (Parse, Bind, Describe, Execute, Sync: five calls, five socket writes per
 * statement). Here everything a client has sent — `pg` sends a statement's messages
 * in one write — goes to PGlite in one call, and the answer back in one write, which
 * is what the finding's transaction waits on end to end.
 *
 * Contract: requests are executed strictly in arrival order, each whole batch before
 * the next; what a client sent before it went away is still executed, then a
 * transaction it left open is rolled back and the session reset (`discard all`: its
 * prepared statements, locks and settings go) before the next client is served.
 * `port` 0 (default) picks a free one; a restarted server takes its predecessor's, which its clients know.
 */
export async function servePglite(dir: string, port = 0): Promise<PgliteServer> {
  fs.mkdirSync(dir, { recursive: true });
  const db = await createDurablePglite(dir);
  // After create: PGlite initialises only an empty folder.
  restrictToOwner(dir);
  const password = pglitePassword(dir);
  // One chain for every client, so a departed client's rollback runs before a new client's first request.
  let queue = Promise.resolve();
  const inOrder = (work: () => Promise<void>, onError: (error: unknown) => void) => {
    queue = queue.then(work).catch(onError);
  };
  const clients = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    clients.add(socket);
    socket.once('close', () => clients.delete(socket));
    serveClient(db, socket, inOrder, password);
  });
  server.maxConnections = 1;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const { port: listening } = server.address() as AddressInfo;
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${listening}/postgres`,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of clients) socket.destroy();
      await closed;
      await queue;
      await db.close();
    },
  };
}

type InOrder = (work: () => Promise<void>, onError: (error: unknown) => void) => void;

/**
 * One client connection, from the password exchange to the end: over 80 lines because the
 * frame reader, the authentication step and the query relay share the connection's buffer
 * and state, in the order the PostgreSQL protocol sets.
 */
function serveClient(db: PGlite, socket: net.Socket, inOrder: InOrder, password: string) {
  socket.setNoDelay(true);
  let pending = Buffer.alloc(0);
  let startedUp = false;
  /** The client's startup packet, held until its password is right (store/pglite-auth.ts). */
  let held: Buffer | undefined;
  const authDeadline = setTimeout(() => socket.destroy(), AUTH_TIMEOUT_MS);
  socket.once('close', () => clearTimeout(authDeadline));

  /** Takes the whole requests off `pending`: the startup packet, then all complete messages. Throws on bytes that are not PostgreSQL. */
  const frame = (): Uint8Array[] => {
    const batches: Uint8Array[] = [];
    for (;;) {
      if (held) {
        const answer = readPassword(pending);
        if (!answer) break;
        pending = pending.subarray(answer.size);
        if (!passwordMatches(answer.password, password)) {
          socket.end(authenticationFailed());
          pending = Buffer.alloc(0);
          held = undefined;
          break;
        }
        clearTimeout(authDeadline);
        batches.push(held);
        held = undefined;
        startedUp = true;
        continue;
      }
      if (!startedUp) {
        if (pending.length < 8) break;
        const length = pending.readInt32BE(0);
        const code = pending.readInt32BE(4);
        if (length < 8) throw new Error(`malformed startup message: length ${length}`);
        if (code === SSL_REQUEST) {
          socket.write('N');
          pending = pending.subarray(8);
          continue;
        }
        if (pending.length < length) break;
        if (code !== CANCEL_REQUEST) {
          held = Buffer.from(pending.subarray(0, length));
          socket.write(passwordRequest());
        }
        pending = pending.subarray(length);
        continue;
      }
      const { end, terminated } = completeMessages(pending);
      batches.push(pending.subarray(0, end));
      pending = pending.subarray(end);
      if (terminated) {
        pending = Buffer.alloc(0);
        socket.end();
      }
      break;
    }
    return batches;
  };

  socket.on('data', (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let batches: Uint8Array[];
    try {
      batches = frame();
    } catch (error) {
      logger.warn({ err: error }, 'closing a database client that does not speak the PostgreSQL protocol');
      socket.destroy();
      return;
    }
    for (const batch of batches) {
      if (batch.length === 0) continue;
      // Run even if the client has gone meanwhile: what it sent last may be its commit.
      inOrder(async () => {
        const reply = await db.runExclusive(() => db.execProtocolRaw(batch));
        if (socket.writable && reply.length > 0) socket.write(reply);
      }, (error) => {
        logger.error({ err: error }, 'PGlite could not execute a client request; closing the connection');
        socket.destroy();
      });
    }
  });
  socket.on('error', () => socket.destroy());
  socket.on('close', () => {
    inOrder(async () => {
      if (db.closed) return;
      if (db.isInTransaction()) await db.exec('rollback');
      // The next client must find a fresh session: no prepared statements, locks or settings of this one.
      await db.exec('discard all');
    }, (error) => logger.error({ err: error }, 'could not reset the session after a client left'));
  });
}

/**
 * How many leading bytes of `buffer` are whole messages (type byte + int32 length), up
 * to a Terminate, which is not passed on: PGlite is one session that outlives clients.
 */
function completeMessages(buffer: Buffer): { end: number; terminated: boolean } {
  let end = 0;
  while (buffer.length - end >= 5) {
    if (buffer[end] === TERMINATE) return { end, terminated: true };
    const length = buffer.readInt32BE(end + 1);
    // The length counts itself; anything shorter is not PostgreSQL, and must not stall the loop.
    if (length < 4) throw new Error(`malformed message: length ${length}`);
    const size = 1 + length;
    if (buffer.length - end < size) break;
    end += size;
  }
  return { end, terminated: false };
}
