/**
 * The private redis-server `lantern start` runs: only a client holding the password from
 * its URL gets in, it listens on loopback only, and what it keeps on disk is the owner's alone.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateRedis, type PrivateRedis } from './redis-server.ts';

/** Sends one inline command on a raw socket and returns redis's first reply line. */
function rawCommand(port: number, host: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    socket.setTimeout(3000, () => socket.destroy(new Error('timeout')));
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.once('data', (data) => { socket.end(); resolve(data.toString().trim()); });
    socket.once('error', reject);
  });
}

describe('the private redis-server', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-redis-'));
  let redis: PrivateRedis;

  beforeAll(async () => {
    redis = await startPrivateRedis(path.join(dir, 'redis'));
  });
  afterAll(async () => {
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when a client has no password, then every command is refused; with the URL\'s password it is served', async () => {
    expect(await rawCommand(redis.port, '127.0.0.1', 'KEYS *')).toMatch(/^-NOAUTH/);
    expect(await rawCommand(redis.port, '127.0.0.1', 'AUTH not-the-password')).toMatch(/^-WRONGPASS|^-ERR/);
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await client.connect();
      expect(await client.ping()).toBe('PONG');
      expect(await client.config('GET', 'bind')).toEqual(['bind', '127.0.0.1']);
    } finally {
      client.disconnect();
    }
    expect(new URL(redis.url).password).toMatch(/^[0-9a-f]{64}$/);
  });

  it('when this machine has another address, then redis does not listen on it', async () => {
    const other = Object.values(os.networkInterfaces()).flat().find((a) => a && !a.internal && a.family === 'IPv4');
    if (!other) return; // a machine with loopback only has nothing else to probe
    await expect(rawCommand(redis.port, other.address, 'PING')).rejects.toThrow(/ECONNREFUSED|timeout/);
  });

  it('when it has started, then its folder and files are its owner\'s alone (0700 / 0600), the password file included', async () => {
    const client = new Redis(redis.url);
    await client.set('k', 'v'); // the AOF has something in it
    client.disconnect();
    const folder = path.join(dir, 'redis');
    expect(fs.statSync(folder).mode & 0o777).toBe(0o700);
    const files = fs.readdirSync(folder, { recursive: true }) as string[];
    expect(files).toContain('lantern-redis.conf');
    for (const file of files) expect(fs.statSync(path.join(folder, file)).mode & 0o077, file).toBe(0);
  });

  it('when it is restarted on the same folder, then the password is the same: clients\' URLs stay valid', async () => {
    const { url } = redis;
    await redis.stop();
    redis = await startPrivateRedis(path.join(dir, 'redis'));
    expect(new URL(redis.url).password).toBe(new URL(url).password);
    const client = new Redis(redis.url);
    expect(await client.get('k')).toBe('v');
    client.disconnect();
  });
});
