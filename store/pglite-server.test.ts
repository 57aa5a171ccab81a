import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servePglite, type PgliteServer } from './pglite-server.ts';

describe('PGlite served over the PostgreSQL wire protocol (real pg client, real PGlite on disk)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-pglite-server-'));
  let server: PgliteServer;
  const connect = async () => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    return client;
  };

  beforeAll(async () => {
    server = await servePglite(dir);
    const client = await connect();
    await client.query('create table notes (id int primary key, body text)');
    await client.end();
  });
  afterAll(async () => {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when a statement fails, then the client gets its error and the session goes on', async () => {
    const client = await connect();
    try {
      await expect(client.query('select * from no_such_table where id = $1', [1])).rejects.toThrow(/no_such_table/);
      expect((await client.query('select $1::int + 1 as two', [1])).rows).toEqual([{ two: 2 }]);
      await client.query('begin');
      await expect(client.query('insert into notes values ($1, $2), ($1, $2)', [1, 'twice'])).rejects.toThrow(/duplicate key/);
      await client.query('rollback');
      expect((await client.query('select count(*)::int as n from notes where id = 1')).rows).toEqual([{ n: 0 }]);
    } finally {
      await client.end();
    }
  });

  it('when a parameter is larger than one socket read, then it arrives whole', async () => {
    const body = Array.from({ length: 1_500_000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    const client = await connect();
    try {
      await client.query('insert into notes values ($1, $2)', [2, body]);
      const { rows } = await client.query('select body from notes where id = $1', [2]);
      expect(rows[0].body).toBe(body);
    } finally {
      await client.end();
    }
  });

  it('when a client goes away inside a transaction, then its writes are rolled back and the next client is served', async () => {
    const departing = await connect();
    await departing.query('begin');
    await departing.query('insert into notes values ($1, $2)', [3, 'never committed']);
    // A crash, not a goodbye: the socket closes without Terminate or rollback.
    (departing as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    departing.on('error', () => undefined);

    const next = await connectWhenFree();
    try {
      expect((await next.query('select count(*)::int as n from notes where id = 3')).rows).toEqual([{ n: 0 }]);
      await next.query('insert into notes values ($1, $2)', [3, 'second client']);
    } finally {
      await next.end();
    }
  });

  it('when a client that prepared named statements leaves, then the next one can prepare the same names', async () => {
    const named = { name: 'note-by-id', text: 'select body from notes where id = $1', values: [2] };
    const first = await connect();
    await first.query(named);
    await first.end();
    const second = await connectWhenFree();
    try {
      expect((await second.query(named)).rows).toHaveLength(1);
    } finally {
      await second.end();
    }
  });

  it('when a client commits and hangs up at once, then the commit is kept', async () => {
    const client = await connect();
    await client.query('begin');
    await client.query('insert into notes values ($1, $2)', [4, 'committed then gone']);
    await client.query('commit');
    await client.end();
    const reader = await connectWhenFree();
    try {
      expect((await reader.query('select body from notes where id = 4')).rows).toEqual([{ body: 'committed then gone' }]);
    } finally {
      await reader.end();
    }
  });

  it('when a client sends bytes that are not PostgreSQL, then it is disconnected and the next client is served', async () => {
    const { port } = new URL(server.url);
    const garbage = net.connect(Number(port), '127.0.0.1');
    const closed = new Promise<void>((resolve) => garbage.once('close', () => resolve()));
    garbage.on('error', () => undefined);
    // A startup packet whose length field (2) is shorter than the packet header itself.
    garbage.write(Buffer.from([0, 0, 0, 2, 0, 3, 0, 0, 1, 2, 3, 4]));
    await closed;
    const next = await connectWhenFree();
    try {
      expect((await next.query('select 2 as two')).rows).toEqual([{ two: 2 }]);
    } finally {
      await next.end();
    }
  });

  it('when a second client connects while one is served, then it is turned away (PGlite is one session)', async () => {
    const first = await connect();
    try {
      await expect(connect()).rejects.toThrow();
      expect((await first.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await first.end();
    }
  });

  it('when the server restarts on the same folder, then committed rows are there', async () => {
    await server.stop();
    server = await servePglite(dir);
    const client = await connectWhenFree();
    try {
      expect((await client.query('select id from notes order by id')).rows).toEqual([{ id: 2 }, { id: 3 }, { id: 4 }]);
    } finally {
      await client.end();
    }
  });

  /** The previous client's socket closes asynchronously; until then a new one is turned away. */
  async function connectWhenFree(): Promise<pg.Client> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await connect();
      } catch (error) {
        if (attempt >= 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }
});
