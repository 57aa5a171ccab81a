/**
 * The drift evaluation reads each version's reference and its latest windows only, on a real
 * store (PGlite): what it computes for the windows it reads is what a read of every inference
 * computes for them, in the same places, and a version counts all its inferences.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftPolicy } from '../contract/model-drift.ts';
import { seededRandom } from '../inference/seeded-random.ts';
import { databaseBackends, openMigratedStore } from '../store/test-backends.ts';
import type { Store } from '../store/store.ts';
import { seedDriftInferences } from '../test/support/drift-seed.ts';
import { syntheticStream, UNSHIFTED } from '../tools/drift/synthetic.ts';
import { createModelDrift } from './model-drift.ts';

const MODEL = 'pneumonia-cxr';
const policy: DriftPolicy = { referenceSize: 40, windowSize: 20, thresholds: { moderate: 0.1, drift: 0.25 } };

describe('a drift evaluation bounded to the latest windows', () => {
  let store: Store;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ store, close } = await openMigratedStore(databaseBackends({ inMemory: true })[0], { prioritise: () => ({ priority: 0, why: '', whyZh: '' }) }));
    const random = seededRandom(7);
    // Version 1.0.0: the reference, six complete windows (the last brighter) and five of a seventh; 2.0.0 has not filled its reference.
    const stream = [
      ...syntheticStream(40 + 5 * 20, UNSHIFTED, random, Date.UTC(2026, 10, 1)),
      ...syntheticStream(20, { ...UNSHIFTED, brightness: 0.1 }, random, Date.UTC(2026, 10, 2)),
      ...syntheticStream(5, UNSHIFTED, random, Date.UTC(2026, 10, 3)),
    ];
    await seedDriftInferences(store.db, { id: MODEL, version: '1.0.0' }, stream);
    await seedDriftInferences(store.db, { id: MODEL, version: '2.0.0' }, syntheticStream(5, UNSHIFTED, random, Date.UTC(2026, 10, 4)));
  });
  afterAll(() => close?.());

  it('when two recent windows are read, then they and the filling one keep their places and figures, and each version counts every inference', async () => {
    const everything = await createModelDrift({ store, policy, recentWindows: 1000 }).ofModel(MODEL);
    const bounded = await createModelDrift({ store, policy, recentWindows: 2 }).ofModel(MODEL);
    const [all, recent] = [everything.versions[0], bounded.versions[0]];
    expect(all.windows.map((w) => w.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(recent.windows.map((w) => [w.index, w.complete])).toEqual([[4, true], [5, true], [6, false]]);
    expect(recent.windows).toEqual(all.windows.slice(4));
    expect(recent.reference).toEqual(all.reference);
    expect([recent.inferences, all.inferences]).toEqual([165, 165]);
    expect(recent.windows[1].psi['input-mean']).toBeGreaterThan(policy.thresholds.drift);
    expect(bounded.versions[1]).toEqual({ version: '2.0.0', inferences: 5, reference: null, windows: [] });
  });

  it('when the bounded evaluation runs, then it raises the recent windows\' alerts, with the ids a full read gives them', async () => {
    const summary = await createModelDrift({ store, policy, recentWindows: 2 }).run();
    expect(summary.models).toEqual([expect.objectContaining({ modelId: MODEL, versions: 2, windows: 2 })]);
    const alerts = (await createModelDrift({ store, policy }).ofModel(MODEL)).alerts;
    expect(alerts.map((a) => a.id).sort()).toEqual(summary.models[0].raised.slice().sort());
    expect(new Set(alerts.map((a) => a.windowIndex))).toContain(5);
    expect(alerts.every((a) => a.windowIndex >= 4)).toBe(true);
  });
});
