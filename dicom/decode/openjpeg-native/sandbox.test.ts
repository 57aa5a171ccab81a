/**
 * The native decoder's sandbox, probed from inside: a script forked exactly as the sidecar is
 * (forkSandboxed) tries what code that took over the decoder would try — write a file, read the
 * data folder, reach this machine's services, see its environment and its parent — and reports.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNativeOpenJpeg } from './index.ts';
import { BWRAP, forkSandboxed } from './sandbox.ts';

type Report = Record<string, unknown>;

const PROBE = `
import fs from 'node:fs';
import net from 'node:net';
const [writable, secret, port, parent] = process.argv.slice(2);
const report = { pid: process.pid, env: Object.keys(process.env).filter((k) => !k.startsWith('NODE_CHANNEL')).sort() };
try { fs.writeFileSync(writable + '/escaped', 'x'); report.write = 'written'; } catch (e) { report.write = e.code; }
try { report.secret = fs.readFileSync(secret, 'utf8'); } catch (e) { report.secret = e.code; }
try { process.kill(Number(parent), 0); report.parent = 'visible'; } catch (e) { report.parent = e.code; }
const socket = net.connect(Number(port), '127.0.0.1');
socket.on('connect', () => { report.network = 'connected'; done(); });
socket.on('error', (e) => { report.network = e.code; done(); });
function done() { process.send(report); process.disconnect(); }
`;

describe('the native decoder\'s sandbox (bubblewrap)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-sandbox-'));
  const dataDir = path.join(dir, 'var');
  const probe = path.join(dir, 'probe.mjs');
  let server: net.Server;
  let port: number;

  beforeAll(async () => {
    fs.mkdirSync(dataDir);
    fs.writeFileSync(path.join(dataDir, 'audit-signing-key.pem'), 'a key');
    fs.writeFileSync(probe, PROBE);
    // A service on this machine's loopback, as Redis and the database are.
    server = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The probe's report, forked by `start` (inside the sandbox, or not) with a secret in this process's environment. */
  const probeWith = (start: (args: string[]) => ChildProcess | undefined) => new Promise<Report>((resolve, reject) => {
    process.env.LANTERN_SANDBOX_TEST_SECRET = 'postgres://lantern:secret@127.0.0.1/lantern';
    const child = start([dir, path.join(dataDir, 'audit-signing-key.pem'), String(port), String(process.pid)]);
    delete process.env.LANTERN_SANDBOX_TEST_SECRET;
    if (!child) return reject(new Error('no sandbox'));
    child.once('message', (report: Report) => resolve(report));
    child.once('exit', (code) => reject(new Error(`the probe ended with ${code} before it reported`)));
  });

  it('when code runs inside it, then it can write nothing, read nothing of the data folder, reach no service of this machine, see no secret of the environment, nor its parent', async () => {
    // A blob store elsewhere, not made yet when the worker starts its sidecar: it is made, and hidden.
    const laterBlobs = path.join(dir, 'blobs-not-made-yet');
    const inside = await probeWith((args) => forkSandboxed(probe, args, { hidden: [dataDir, laterBlobs] }));
    expect(fs.existsSync(laterBlobs)).toBe(true);
    expect(inside).toMatchObject({ write: 'EROFS', secret: 'ENOENT', network: 'ECONNREFUSED', parent: 'ESRCH' });
    // PATH, and the working folder's name bubblewrap sets.
    expect((inside.env as string[]).filter((name) => name !== 'PWD')).toEqual(['PATH']);
    // Its own PID namespace: bubblewrap's init is 1, the probe 2.
    expect(inside.pid).toBeLessThanOrEqual(3);
    expect(fs.existsSync(path.join(dir, 'escaped'))).toBe(false);
    // Forked as the sidecar was before the sandbox, the same probe does all of it.
    const outside = await probeWith((args) => fork(probe, args, { env: process.env, serialization: 'advanced' }));
    expect(outside).toMatchObject({ write: 'written', secret: 'a key', network: 'connected', parent: 'visible' });
    expect(outside.env).toContain('LANTERN_SANDBOX_TEST_SECRET');
  });

  it('when bubblewrap is not installed, then nothing is forked, and the native decoder answers nothing: every JPEG 2000 is left to WebAssembly', async () => {
    expect(fs.existsSync(BWRAP)).toBe(true);
    expect(forkSandboxed(probe, [], { hidden: [], bwrap: path.join(dir, 'no-bwrap') })).toBeUndefined();
    const decoder = createNativeOpenJpeg({ sandbox: { hidden: [], bwrap: path.join(dir, 'no-bwrap') } });
    expect(await decoder.start()).toBe(false);
    expect(await decoder.decode(new Uint8Array([0xff, 0x4f, 0xff, 0x51]), 0)).toBeUndefined();
    decoder.close();
  });
});
