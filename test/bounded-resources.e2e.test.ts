import { randomBytes } from 'node:crypto';
/**
 * Issue 12, bounded resources: each hostile request that once stalled, exhausted or crashed
 * the API now gets its specific 4xx, stores nothing, and `/health` (Redis and database
 * pinged) is asked every 20 ms while it is in flight; each case's slowest health answer is
 * printed at the end. Redis killed: uploads are stored and answered at once and queued when it
 * returns. The API role runs as `lantern api` does (PGlite, a private redis-server), with its
 * limits scaled down by configuration so the files stay small enough for CI.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { corruptedLength, crWithUids, deepNesting, deflateBomb, manyElements, rleBomb, validCr } from '../dicom/hostile-files.ts';
import { dicomLimits } from '../dicom/limits.ts';
import { REQUEST_REDIS_WAIT_MS } from '../queue/enqueue.ts';
import { READ_ASSIST_QUEUE } from '../queue/jobs.ts';
import { startPrivateRedis, type PrivateRedis } from '../queue/redis-server.ts';
import { startApiRole, type ApiRole } from '../roles/api.ts';
import { ROLES } from '../contract/identity.ts';
import { waitFor } from './support/stack.ts';
import { DEFAULT_SITE } from '../contract/sites.ts';

const MAX_UPLOAD = 16 * 1024 * 1024;
const root = '1.2.826.0.1.3680043.10.998';
let redis: PrivateRedis;
let role: ApiRole;
let dataDir: string;
const auth = { authorization: '' };
let seq = 0;
const uidRoot = () => `${root}.${++seq}`;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-bounded-'));
  redis = await startPrivateRedis(path.join(dataDir, 'redis'));
  const config = loadConfig({}, {
    port: 0, dataDir, blobDir: path.join(dataDir, 'blobs'), redisUrl: redis.url, logLevel: 'silent',
    maxUploadBytes: MAX_UPLOAD,
    dicomLimits: dicomLimits({ maxElements: 300_000, maxInflatedBytes: 8 * 1024 * 1024, maxDecodedFrameBytes: 4 * 1024 * 1024 }),
  });
  role = await startApiRole({ ...config, redisUrl: redis.url });
  // Every probe comes from a signed-in user: what is measured is the bounds, not the door.
  const prober = { username: 'prober', displayName: 'Prober', roles: [...ROLES], sites: [DEFAULT_SITE] };
  await role.store.createUser({ ...prober, password: randomBytes(16).toString('hex') }, 'test');
  auth.authorization = `Bearer ${(await role.store.createApiToken(prober, 'test', 1)).token}`;
}, 120_000);

afterAll(async () => {
  console.info(`slowest /health answer while each case was in flight:\n${[...healthLatency].map(([name, { maxMs, probes, statuses }]) =>
    `  ${maxMs.toFixed(1).padStart(7)} ms  (${probes} probes, ${[...statuses].join('/')})  ${name}`).join('\n')}`);
  await role?.stop();
  await redis?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

interface Answer { status: number; body: { error?: { code: string; message: string; details?: unknown[] }; stored?: unknown[] }; bytes: number; at: number }

async function send(pathname: string, body: Uint8Array | string, headers: Record<string, string>): Promise<Answer> {
  // Uploads answer Lantern's JSON ({ stored, failed } or { error }), as its CLI asks, rather than DICOM JSON.
  const response = await fetch(new URL(pathname, role.url), { method: 'POST', body: body as BodyInit, headers: { ...auth, accept: 'application/json', ...headers } });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text), bytes: text.length, at: performance.now() };
}

const stowOne = (bytes: Uint8Array) => send('/dicomweb/studies', bytes, { 'content-type': 'application/dicom' });

function multipart(parts: Uint8Array[]): { body: Uint8Array; contentType: string } {
  const boundary = 'lantern-bounded-test';
  const chunks: Buffer[] = [];
  for (const part of parts) chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), Buffer.from(part), Buffer.from('\r\n'));
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: new Uint8Array(Buffer.concat(chunks)), contentType: `multipart/related; type="application/dicom"; boundary=${boundary}` };
}

/**
 * Sends `total` bytes chunked (no declared length), `head` first; resolves with the answer as
 * soon as it comes, and how many bytes had been written by then.
 */
function chunkedUpload(pathname: string, contentType: string, head: Uint8Array, total: number): Promise<{ status: number; code?: string; written: number; at: number }> {
  return new Promise((resolve, reject) => {
    const url = new URL(pathname, role.url);
    const request = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { ...auth, 'content-type': contentType, 'transfer-encoding': 'chunked' } });
    let written = 0;
    let answered = false;
    const chunk = Buffer.alloc(256 * 1024, 0x41);
    const pump = () => {
      while (!answered && written < total) {
        const piece = written === 0 ? Buffer.from(head) : chunk;
        written += piece.length;
        if (!request.write(piece)) return void request.once('drain', pump);
      }
      if (!answered) request.end();
    };
    request.on('response', (response) => {
      answered = true;
      let text = '';
      response.on('data', (d) => { text += d; });
      response.on('end', () => {
        request.destroy();
        resolve({ status: response.statusCode!, code: text ? JSON.parse(text).error?.code : undefined, written, at: performance.now() });
      });
    });
    request.on('error', (error) => (answered ? undefined : reject(error)));
    pump();
  });
}

/** Each case's slowest `/health` answer while its hostile request was in flight (printed after the run). */
const healthLatency = new Map<string, { maxMs: number; probes: number; statuses: Set<number> }>();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Asks `/health` every 20 ms from `delayMs` until `hostile` has answered (at least once), and
 * records the slowest answer under the running test's name. `healthStatus` is the first status
 * that was not 200, else 200; `healthFirst` whether the first probe answered before `hostile`.
 */
async function healthDuring<T extends { at: number }>(hostile: Promise<T>, delayMs = 0) {
  let done = false;
  const settled = hostile.finally(() => { done = true; });
  await sleep(delayMs);
  const probes: { status: number; ms: number; at: number }[] = [];
  do {
    const asked = performance.now();
    const response = await fetch(new URL('/health', role.url));
    await response.arrayBuffer();
    probes.push({ status: response.status, ms: performance.now() - asked, at: performance.now() });
    if (!done) await sleep(20);
  } while (!done);
  const answer = await settled;
  const healthMs = Math.max(...probes.map((p) => p.ms));
  const name = expect.getState().currentTestName ?? 'unnamed';
  const seen = healthLatency.get(name) ?? { maxMs: 0, probes: 0, statuses: new Set<number>() };
  healthLatency.set(name, { maxMs: Math.max(seen.maxMs, healthMs), probes: seen.probes + probes.length, statuses: new Set([...seen.statuses, ...probes.map((p) => p.status)]) });
  return { answer, healthStatus: probes.find((p) => p.status !== 200)?.status ?? 200, healthMs, healthFirst: probes[0].at < answer.at };
}

/** Runs `requests` one after another as one hostile case; resolves when the last has answered. */
async function inTurn<T>(requests: (() => Promise<T>)[]): Promise<{ answers: T[]; at: number }> {
  const answers: T[] = [];
  for (const request of requests) answers.push(await request());
  return { answers, at: performance.now() };
}

async function storedCounts() {
  const rows = await role.store.db.query('select (select count(*) from studies) as studies, (select count(*) from instances) as instances');
  const blobs = fs.existsSync(path.join(dataDir, 'blobs')) ? fs.readdirSync(path.join(dataDir, 'blobs'), { recursive: true }).filter((f) => fs.statSync(path.join(dataDir, 'blobs', String(f))).isFile()).length : 0;
  const spooled = fs.existsSync(path.join(dataDir, 'tmp')) ? fs.readdirSync(path.join(dataDir, 'tmp')).length : 0;
  const row = (rows as unknown as { rows: Record<string, unknown>[] }).rows?.[0] ?? (rows as unknown as Record<string, unknown>[])[0];
  return { studies: Number(row.studies), instances: Number(row.instances), blobs, spooled };
}

describe('bounded resources: hostile uploads', () => {
  it('when a valid CR is uploaded, then it is stored (the baseline the refusals are measured against)', async () => {
    const answer = await stowOne(validCr(uidRoot()));
    expect(answer.status).toBe(200);
    expect(await storedCounts()).toMatchObject({ studies: 1, instances: 1, blobs: 1, spooled: 0 });
  });

  it('when an object has 400,000 elements (limit 300,000), then 409 DICOM_TOO_MANY_ELEMENTS, and health answers first', async () => {
    const { answer, healthStatus, healthMs, healthFirst } = await healthDuring(stowOne(manyElements(uidRoot(), 400_000)), 5);
    expect(answer.status).toBe(409);
    expect(answer.body.error?.code).toBe('DICOM_TOO_MANY_ELEMENTS');
    expect(answer.body.error?.message).toContain('LANTERN_DICOM_MAX_ELEMENTS');
    expect(healthStatus).toBe(200);
    console.info(`health during a 400,000-element upload: ${healthMs.toFixed(1)} ms; answered before the upload: ${healthFirst}`);
  });

  it('when an object just under the element limit is parsed (off-thread), then health answers while it is in flight', async () => {
    // 290,000 elements: 0.1–0.5 s of dicom-parser (quiet or busy machine), all of it on the parsing
    // thread; the first probe goes once the body is on its way, well inside that.
    const { answer, healthStatus, healthMs, healthFirst } = await healthDuring(stowOne(manyElements(uidRoot(), 290_000)), 20);
    // Within the limits and without Pixel Data: stored as a non-image object.
    expect(answer.status).toBe(200);
    expect(healthStatus).toBe(200);
    expect(healthFirst).toBe(true);
    console.info(`health while a 290,000-element object was parsed: ${healthMs.toFixed(1)} ms`);
  });

  it.each([
    ['sequences nested 40 deep', () => deepNesting(uidRoot(), 40), 'DICOM_NESTING_TOO_DEEP'],
    ['a deflate bomb (64 MiB from about 64 KiB; limit 8 MiB)', () => deflateBomb(uidRoot(), 64 * 1024 * 1024), 'DICOM_INFLATED_TOO_LARGE'],
    ['an RLE frame expanding 64:1 past the frame budget', () => rleBomb(uidRoot(), 4096, 4096), 'DICOM_FRAME_TOO_LARGE'],
    ['a corrupted length field', () => corruptedLength(uidRoot(), 0xfffffff0), 'TRUNCATED_DICOM'],
  ])('when the upload is %s, then 409 with its code and nothing is stored', async (_, file, code) => {
    const before = await storedCounts();
    const { answer, healthStatus } = await healthDuring(stowOne(file()));
    expect(answer.status).toBe(409);
    expect(answer.body.error?.code).toBe(code);
    expect(healthStatus).toBe(200);
    expect(await storedCounts()).toEqual(before);
  });

  it.each([
    ['a path', () => '../../etc/passwd'],
    ['markup', () => '<script>alert(1)</script>'],
    ['10,000 characters', () => '1'.repeat(10_000)],
    ['a leading zero', (s: string) => `1.2.04.${s}`],
    ['an empty component', (s: string) => `1.2..${s}`],
  ])('when a file\'s UIDs hold %s, then 409 INVALID_UID and nothing is stored', async (_, uid) => {
    const before = await storedCounts();
    const { answer, healthStatus } = await healthDuring(stowOne(crWithUids(uidRoot(), uid)));
    expect(answer.status).toBe(409);
    expect(answer.body.error?.code).toBe('INVALID_UID');
    expect(healthStatus).toBe(200);
    expect(await storedCounts()).toEqual(before);
  });

  it('when a chunked application/dicom body runs past the upload limit, then 413 before it is read whole, and health answers meanwhile', async () => {
    const before = await storedCounts();
    const upload = chunkedUpload('/dicomweb/studies', 'application/dicom', validCr(uidRoot()), 8 * MAX_UPLOAD);
    const { answer, healthStatus, healthFirst, healthMs } = await healthDuring(upload, 5);
    expect(answer.status).toBe(413);
    expect(answer.code).toBe('PAYLOAD_TOO_LARGE');
    expect(answer.written).toBeLessThan(4 * MAX_UPLOAD);
    expect(healthStatus).toBe(200);
    console.info(`chunked oversize upload: answered after ${answer.written} of ${8 * MAX_UPLOAD} bytes; health ${healthMs.toFixed(1)} ms, first: ${healthFirst}`);
    expect(await storedCounts()).toEqual(before);
  });

  it('when a chunked multipart body runs past the upload limit after a good part, then 413 and nothing is stored, not even the good part', async () => {
    const before = await storedCounts();
    const { body, contentType } = multipart([validCr(uidRoot())]);
    const head = body.subarray(0, body.length - `--lantern-bounded-test--\r\n`.length);
    const { answer, healthStatus } = await healthDuring(chunkedUpload('/dicomweb/studies', contentType, head, 4 * MAX_UPLOAD));
    expect(answer.status).toBe(413);
    expect(healthStatus).toBe(200);
    expect(await storedCounts()).toEqual(before);
  });

  it('when a multipart body has more parts than allowed, then 413 TOO_MANY_PARTS and nothing is stored', async () => {
    const before = await storedCounts();
    const tiny = new Uint8Array(8);
    const { body, contentType } = multipart([validCr(uidRoot()), ...Array.from({ length: 10_000 }, () => tiny)]);
    const { answer, healthStatus } = await healthDuring(send('/dicomweb/studies', body, { 'content-type': contentType }));
    expect(answer.status).toBe(413);
    expect(answer.body.error?.code).toBe('TOO_MANY_PARTS');
    expect(healthStatus).toBe(200);
    expect(await storedCounts()).toEqual(before);
  });

  it('when many bad parts are refused, then the 409 lists at most 20 of them', async () => {
    const { body, contentType } = multipart(Array.from({ length: 500 }, () => new Uint8Array(8)));
    const { answer, healthStatus } = await healthDuring(send('/dicomweb/studies', body, { 'content-type': contentType }));
    expect(answer.status).toBe(409);
    expect(answer.body.error?.details).toHaveLength(20);
    expect(healthStatus).toBe(200);
  });
});

describe('bounded resources: JSON bodies, NUL and path parameters', () => {
  const triage = (body: string, headers: Record<string, string> = {}) => send('/v1/triage', body, { 'content-type': 'application/json', ...headers });

  it('when a JSON body is over 1 MiB, then 413 PAYLOAD_TOO_LARGE on every JSON route', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(1_100_000) });
    const routes = ['/v1/triage', '/v1/risk/news2', '/v1/findings/x/review', '/v1/studies/1.2.3/reader-findings', '/health/live'];
    const { answer: { answers }, healthStatus } = await healthDuring(inTurn(routes.map((route) => () => send(route, big, { 'content-type': 'application/json' }))));
    for (const [i, answer] of answers.entries()) {
      expect(answer.status, routes[i]).toBe(413);
      expect(answer.body.error?.code).toBe('PAYLOAD_TOO_LARGE');
    }
    expect(healthStatus).toBe(200);
  });

  it('when a chunked JSON body runs past 1 MiB, then 413 before it is read whole', async () => {
    const { answer, healthStatus } = await healthDuring(chunkedUpload('/v1/triage', 'application/json', new TextEncoder().encode('{"pad":"'), 64 * 1024 * 1024));
    expect(answer.status).toBe(413);
    expect(answer.written).toBeLessThan(32 * 1024 * 1024);
    expect(healthStatus).toBe(200);
  });

  it('when JSON carries a million unknown keys, then 413; 60,000 in 650 KB (under the byte limit), then 413 TOO_MANY_JSON_MEMBERS unparsed; 4,000, then a 422 whose answer stays small', async () => {
    const keys = (n: number) => `{${Array.from({ length: n }, (_, i) => `"k${i}":1`).join(',')}}`;
    const million = keys(1_000_000);
    expect(million.length).toBeGreaterThan(10 * 1024 * 1024);
    const refused = await healthDuring(triage(million));
    expect(refused.answer.status).toBe(413);
    expect(refused.healthStatus).toBe(200);
    // Parsing and validating 60,000 keys held the event loop 110–200 ms: they are counted, not parsed.
    const many = await healthDuring(triage(keys(60_000)));
    expect(many.answer.status).toBe(413);
    expect(many.answer.body.error?.code).toBe('TOO_MANY_JSON_MEMBERS');
    expect(many.healthStatus).toBe(200);
    const { answer, healthStatus } = await healthDuring(triage(keys(4_000)));
    expect(answer.status).toBe(422);
    expect(answer.bytes).toBeLessThan(16 * 1024);
    expect((answer.body.error?.details ?? []).length).toBeLessThanOrEqual(20);
    expect(healthStatus).toBe(200);
  });

  it('when a JSON string holds a NUL, then 422 NUL_CHARACTER on triage, risk, review and reader findings, never a 500', async () => {
    const routes = ['/v1/triage', '/v1/risk/news2', '/v1/findings/x/review', '/v1/studies/1.2.3/reader-findings'];
    const { answer: { answers }, healthStatus } = await healthDuring(inTurn(routes.map((route) => () => send(route, '{"comment":"a\\u0000b","reviewer":"x\\u0000"}', { 'content-type': 'application/json' }))));
    for (const [i, answer] of answers.entries()) {
      expect(answer.status, routes[i]).toBe(422);
      expect(answer.body.error?.code).toBe('NUL_CHARACTER');
    }
    expect(healthStatus).toBe(200);
  });

  it('when a path parameter holds a NUL, then 400 NUL_CHARACTER', async () => {
    for (const route of ['/v1/studies/1.2.3%00', '/v1/findings/a%00/review', '/v1/models/news2%00']) {
      const response = await fetch(new URL(route, role.url), route.endsWith('review') ? { method: 'POST', body: '{}', headers: { ...auth, 'content-type': 'application/json' } } : { headers: auth });
      expect(response.status, route).toBe(400);
      expect((await response.json()).error.code).toBe('NUL_CHARACTER');
    }
  });

  it.each([
    ['/v1/studies/..%2F..%2Fetc%2Fpasswd'],
    ['/v1/studies/%3Cscript%3E'],
    [`/v1/studies/${'1'.repeat(65)}`],
    ['/v1/studies/1.02.3'],
    ['/dicomweb/studies/1.2/series/1.2/instances/1.2.x/frames/1'],
  ])('when a UID in the path is malformed (%s), then 422 naming the parameter', async (route) => {
    const response = await fetch(new URL(route, role.url), { headers: auth });
    expect(response.status).toBe(422);
    const { error } = await response.json();
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(error.details)).toMatch(/not a DICOM UID/);
  });
});

describe('bounded resources: redis killed', () => {
  const sickNews2 = { respiratoryRate: 22, spo2: 94, spo2Scale: '1', supplementalOxygen: true, systolicBp: { value: 105, unit: 'mmHg' }, pulse: 105, consciousness: 'alert', temperature: { value: 38.4, unit: '°C' } };

  /** Uploads a film and triages its study with Redis dead: both answer at once, health says 503 meanwhile. */
  async function whileRedisIsDown(): Promise<string> {
    const before = await storedCounts();
    const asked = performance.now();
    // Without a bound the upload would wait for Redis as long as it is away: the signal turns that into a failure.
    const upload = fetch(new URL('/dicomweb/studies', role.url), { method: 'POST', body: validCr(uidRoot()) as BodyInit, headers: { ...auth, 'content-type': 'application/dicom', accept: 'application/json' }, signal: AbortSignal.timeout(10_000) })
      .then(async (response) => ({ status: response.status, body: await response.json(), at: performance.now() }));
    const { answer, healthStatus } = await healthDuring(upload);
    console.info(`upload with redis killed: ${answer.status} in ${(answer.at - asked).toFixed(0)} ms`);
    expect(answer.status).toBe(200);
    expect(answer.at - asked).toBeLessThan(3000);
    expect(healthStatus).toBe(503);
    expect(await storedCounts()).toMatchObject({ studies: before.studies + 1, instances: before.instances + 1 });
    const [{ studyInstanceUid, sopInstanceUid }] = answer.body.stored;
    const triage = await healthDuring(send('/v1/triage', JSON.stringify({ studyInstanceUid, scores: { news2: sickNews2 } }), { 'content-type': 'application/json' }));
    expect(triage.answer.status).toBe(200);
    expect(triage.healthStatus).toBe(503);
    return sopInstanceUid;
  }

  it('when redis is killed, then an upload is stored and answered at once, a triage of its study too, health says 503 at once, and its jobs are queued when redis returns', async () => {
    process.kill(Number(fs.readFileSync(path.join(dataDir, 'redis', 'redis.pid'), 'utf8')), 'SIGKILL');
    await redis.exited;
    // Redis comes back whatever happened: the role cannot stop cleanly without it.
    const restart = async () => { redis = await startPrivateRedis(path.join(dataDir, 'redis'), { port: redis.port }); };
    let sopInstanceUid: string;
    try {
      sopInstanceUid = await whileRedisIsDown();
    } finally {
      await restart();
    }
    const jobs = new Queue(READ_ASSIST_QUEUE, { connection: { url: redis.url }, prefix: 'lantern' });
    try {
      await waitFor(async () => ((await jobs.getJobs(['waiting', 'prioritized'])).some((job) => job.data.sopInstanceUid === sopInstanceUid) || undefined), 'the stored film to be queued', 30_000);
    } finally {
      await jobs.close();
    }
    await waitFor(async () => ((await fetch(new URL('/health', role.url))).status === 200 || undefined), 'health to recover', 10_000);
  }, 60_000);

  it('when redis stalls (stopped, its connections still open), then a five-part upload waits for it once, not once per part, and every film is queued when it resumes', async () => {
    const pid = Number(fs.readFileSync(path.join(dataDir, 'redis', 'redis.pid'), 'utf8'));
    const films = Array.from({ length: 5 }, () => validCr(uidRoot()));
    const { body, contentType } = multipart(films);
    process.kill(pid, 'SIGSTOP');
    let upload: Awaited<ReturnType<typeof healthDuring<Answer>>>;
    const asked = performance.now();
    try {
      upload = await healthDuring(send('/dicomweb/studies', body, { 'content-type': contentType }));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const ms = upload.answer.at - asked;
    console.info(`five-part upload with redis stalled: ${upload.answer.status} in ${ms.toFixed(0)} ms`);
    expect(upload.answer.status).toBe(200);
    expect(upload.answer.body.stored).toHaveLength(5);
    expect(ms).toBeLessThan(films.length * REQUEST_REDIS_WAIT_MS);
    const stored = (upload.answer.body.stored as { sopInstanceUid: string }[]).map((s) => s.sopInstanceUid);
    const jobs = new Queue(READ_ASSIST_QUEUE, { connection: { url: redis.url }, prefix: 'lantern' });
    try {
      await waitFor(async () => {
        const queued = new Set((await jobs.getJobs(['waiting', 'prioritized'])).map((job) => job.data.sopInstanceUid));
        return stored.every((uid) => queued.has(uid)) || undefined;
      }, 'every film to be queued', 30_000);
    } finally {
      await jobs.close();
    }
  }, 60_000);
});
