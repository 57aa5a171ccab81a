/**
 * Live study events across API processes, through a real redis-server: what one process
 * announces, every process's listeners hear, in order; another Lantern on the same Redis
 * (another prefix) hears nothing; a message that breaks the contract is dropped.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StudyChange } from '../contract/studies.ts';
import { redisConnection } from '../queue/connection.ts';
import { startPrivateRedis, type PrivateRedis } from '../queue/redis-server.ts';
import { createStudyEvents, type StudyEvents } from './study-events.ts';

describe('study events relayed through Redis', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-events-'));
  let server: PrivateRedis;
  const connections: Redis[] = [];
  const relays: StudyEvents[] = [];

  /** One API process's events: its own Redis connection, as `startApiRole` makes it. */
  async function apiProcess(prefix = 'lantern') {
    const redis = redisConnection(server.url);
    connections.push(redis);
    const events = await createStudyEvents({ redis, prefix });
    relays.push(events);
    const heard: StudyChange[] = [];
    events.subscribe((change) => heard.push(change));
    return { events, heard, redis };
  }

  const settle = async (done: () => boolean) => {
    for (let i = 0; i < 100 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  };

  beforeAll(async () => {
    server = await startPrivateRedis(path.join(dir, 'redis'));
  });
  afterAll(async () => {
    for (const relay of relays) await relay.close();
    for (const redis of connections) await redis.quit();
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when one API process announces changes, then every process hears them, in order, its own included', async () => {
    const [a, b] = [await apiProcess(), await apiProcess()];
    const other = await apiProcess('another-lantern');
    const changes: StudyChange[] = [
      { studyInstanceUid: '1.2.3', change: 'received' },
      { studyInstanceUid: '1.2.3', change: 'finding' },
      { studyInstanceUid: '1.2.3', change: 'review' },
    ];
    for (const change of changes) a.events.emit(change);
    await settle(() => a.heard.length === 3 && b.heard.length === 3);
    expect(a.heard).toEqual(changes);
    expect(b.heard).toEqual(changes);
    expect(other.heard).toEqual([]);
  });

  it('when a message on the channel breaks the contract, then no listener hears it and the next good one still arrives', async () => {
    const listener = await apiProcess();
    await listener.redis.publish('lantern:study-events', 'not json');
    await listener.redis.publish('lantern:study-events', JSON.stringify({ studyInstanceUid: '1.2.3', change: 'deleted' }));
    listener.events.emit({ studyInstanceUid: '4.5.6', change: 'triage' });
    await settle(() => listener.heard.length > 0);
    expect(listener.heard).toEqual([{ studyInstanceUid: '4.5.6', change: 'triage' }]);
  });
});
