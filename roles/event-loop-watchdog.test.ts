/**
 * The event-loop watchdog in real child processes: one whose loop is held by synchronous code
 * past the limit is killed with SIGKILL, in about the limit; one whose loop is held for less,
 * then idles, lives on and exits by itself.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-watchdog-'));
const watchdog = fileURLToPath(new URL('./event-loop-watchdog.ts', import.meta.url));
// argv: the limit, how long the loop is then held, how long the process idles after.
const script = path.join(dir, 'held.mts');
fs.writeFileSync(script, `
import { watchEventLoop } from ${JSON.stringify(watchdog)};
const [stallMs, holdMs, idleMs] = process.argv.slice(2).map(Number);
watchEventLoop(stallMs);
setTimeout(() => {
  const until = Date.now() + holdMs;
  while (Date.now() < until) { /* a codec that does not return */ }
  setTimeout(() => process.exit(0), idleMs);
}, 100);
`);

/** Runs the script; resolves with how it ended and after how long. */
async function run(stallMs: number, holdMs: number, idleMs: number) {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', script, String(stallMs), String(holdMs), String(idleMs)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const [code, signal] = await once(child, 'exit') as [number | null, NodeJS.Signals | null];
  return { code, signal, ms: Date.now() - started, stderr };
}

describe('event-loop watchdog', () => {
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('when the loop is held past the limit, then the process is killed in about the limit, saying why', async () => {
    const ended = await run(500, 20_000, 0);
    expect(ended.signal).toBe('SIGKILL');
    expect(ended.ms).toBeLessThan(10_000);
    expect(ended.stderr).toContain('the event loop has not turned');
  }, 30_000);

  it('when the loop is held for less than the limit and then idles past it, then the process lives on and exits by itself', async () => {
    const ended = await run(1500, 600, 2000);
    expect({ code: ended.code, signal: ended.signal }).toEqual({ code: 0, signal: null });
  }, 30_000);
});
