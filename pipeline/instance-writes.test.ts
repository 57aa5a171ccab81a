import { describe, expect, it } from 'vitest';
import { createInstanceWrites } from './instance-writes.ts';

/** An answer that records when it ran, and whose write finishes when the test says. */
function answerProbe() {
  let finish!: () => void;
  const written = new Promise<void>((resolve) => { finish = resolve; });
  const probe = { ranAt: undefined as number | undefined, finish, answer: async () => { probe.ranAt = performance.now(); await written; } };
  return probe;
}

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const CHILDREN = 'pneumonia-cxr@1.1.0';

describe('answers ingest holds for their film\'s result', () => {
  it('when the film\'s clinical result is persisted, then its held answer runs then, and only once', async () => {
    const writes = createInstanceWrites({ holdMs: 60_000 });
    const probe = answerProbe();
    let runs = 0;
    writes.answer('1.2.3', [CHILDREN], async () => { runs++; await probe.answer(); }, { hold: true });
    await tick(20);
    expect(runs).toBe(0);
    writes.resultPersisted('1.2.9');
    expect(runs).toBe(0);
    writes.resultPersisted('1.2.3');
    writes.resultPersisted('1.2.3');
    expect(runs).toBe(1);
    probe.finish();
    await writes.flush();
    expect(runs).toBe(1);
  });

  it('when no result comes (a deep queue, no worker), then the answer runs after holdMs', async () => {
    const writes = createInstanceWrites({ holdMs: 40 });
    const probe = answerProbe();
    const start = performance.now();
    writes.answer('1.2.3', [CHILDREN], probe.answer, { hold: true });
    await tick(10);
    expect(probe.ranAt).toBeUndefined();
    await tick(80);
    expect(probe.ranAt! - start).toBeGreaterThanOrEqual(35);
    probe.finish();
  });

  it('when nothing of the film runs (hold: false) or maxHeld answers wait already, then the answer runs at once', () => {
    const writes = createInstanceWrites({ holdMs: 60_000, maxHeld: 2 });
    const probes = [answerProbe(), answerProbe(), answerProbe(), answerProbe()];
    writes.answer('a', [CHILDREN], probes[0].answer, { hold: false });
    writes.answer('b', [CHILDREN], probes[1].answer, { hold: true });
    writes.answer('c', [CHILDREN], probes[2].answer, { hold: true });
    writes.answer('d', [CHILDREN], probes[3].answer, { hold: true });
    expect(probes.map((p) => p.ranAt !== undefined)).toEqual([true, false, false, true]);
    for (const p of probes) p.finish();
  });

  it('while an answer is held or being written, then its models are answered here (not work lost), and no longer once it is written', async () => {
    const writes = createInstanceWrites({ holdMs: 60_000 });
    const probe = answerProbe();
    writes.answer('1.2.3', [CHILDREN], probe.answer, { hold: true });
    expect(writes.answeringHere('1.2.3', CHILDREN)).toBe(true);
    expect(writes.answeringHere('1.2.3', 'cxr-pneumonia-adult@1.0.0')).toBe(false);
    expect(writes.answeringHere('1.2.9', CHILDREN)).toBe(false);
    writes.resultPersisted('1.2.3');
    expect(writes.answeringHere('1.2.3', CHILDREN)).toBe(true);
    probe.finish();
    await writes.flush();
    expect(writes.answeringHere('1.2.3', CHILDREN)).toBe(false);
  });

  it('when stopping, then flush runs every held answer and resolves only once every answer running has finished', async () => {
    const writes = createInstanceWrites({ holdMs: 60_000 });
    const [held, running] = [answerProbe(), answerProbe()];
    writes.answer('held', [CHILDREN], held.answer, { hold: true });
    writes.answer('running', [CHILDREN], running.answer, { hold: false });
    let flushed = false;
    const flushing = writes.flush().then(() => { flushed = true; });
    expect(held.ranAt).toBeDefined();
    held.finish();
    await tick(10);
    expect(flushed).toBe(false);
    running.finish();
    await flushing;
    expect(flushed).toBe(true);
  });
});
