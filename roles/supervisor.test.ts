import { describe, expect, it } from 'vitest';
import { supervise, type Run } from './supervisor.ts';

/** A fake child: the test decides when it is ready and when it dies. */
function fakeChild() {
  let ready = () => undefined as void;
  let exit = (_how: string) => undefined as void;
  let stopped = false;
  const run: Run = {
    ready: new Promise<void>((resolve) => { ready = resolve; }),
    exited: new Promise<string>((resolve) => { exit = resolve; }),
    async stop() {
      stopped = true;
      exit('stopped');
    },
  };
  return { run, ready: () => ready(), exit: (how = 'code 1') => exit(how), stopped: () => stopped };
}

const fast = { firstMs: 10, maxMs: 40, stableMs: 10_000 };
const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

describe('supervise', () => {
  it('when a child dies, then it is started again after a doubling delay, and stop ends it for good', async () => {
    const children: ReturnType<typeof fakeChild>[] = [];
    const starts: number[] = [];
    const supervised = supervise('fake', async () => {
      starts.push(Date.now());
      const child = fakeChild();
      children.push(child);
      child.ready();
      return child.run;
    }, fast);
    expect(await supervised.firstStart).toBeUndefined();
    for (let i = 0; i < 3; i++) {
      children.at(-1)!.exit();
      await tick(100);
    }
    expect(children).toHaveLength(4);
    const gaps = starts.slice(1).map((t, i) => t - starts[i]);
    expect(gaps[1]).toBeGreaterThanOrEqual(20);
    await supervised.stop();
    expect(children.at(-1)!.stopped()).toBe(true);
    await tick(100);
    expect(children).toHaveLength(4);
  });

  it('when the first start fails (the child dies before it is ready, or start throws), then it is reported, not thrown, and retried', async () => {
    let attempt = 0;
    const supervised = supervise('fake', async () => {
      attempt++;
      if (attempt === 2) throw new Error('cannot fork');
      const child = fakeChild();
      if (attempt === 1) setTimeout(() => child.exit('signal SIGKILL'), 5);
      else child.ready();
      return child.run;
    }, fast);
    expect((await supervised.firstStart)?.message).toBe('fake exited (signal SIGKILL) before it was ready');
    await tick(150);
    expect(attempt).toBe(3);
    await supervised.stop();
  });

  it('when stopped while a start is under way, then the child that comes up is stopped and none follows', async () => {
    const child = fakeChild();
    let release = () => undefined as void;
    const supervised = supervise('fake', async () => {
      await new Promise<void>((resolve) => { release = resolve; });
      return child.run;
    }, fast);
    const stopped = supervised.stop();
    release();
    await stopped;
    expect(child.stopped()).toBe(true);
    expect((await supervised.firstStart)?.message).toBe('fake stopped before it was ready');
  });
});
