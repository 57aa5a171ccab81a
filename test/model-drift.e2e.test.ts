/**
 * Drift on the real path: real adult chest films (NIH ChestX-ray14 pneumonia subset, shared data)
 * written as CR DICOM by code, sent over STOW-RS to the API role (real redis-server and PGlite),
 * read by a real read-assist worker running the bundled ONNX models; the worker summarises each
 * model input, the results consumer stores it with the finding, and the drift evaluation reads
 * what was stored. A reference of films, a window of other films of the same set (quiet), then a
 * window of other films with their intensities inverted (a detector writing MONOCHROME1 pixels
 * labelled MONOCHROME2): it alerts, audited under `system:drift`.
 *
 * Windows here are 200 inferences (the service's default reference is 500): enough for a clear
 * contrast on a fixed, seeded choice of films; the false-alarm rate at the service's sizes is
 * measured by tools/drift/false-alarms.ts. The other CR model (pneumonia-cxr) is evaluate-only in
 * this test's models folder: its answers and their SRs would double the work per film and the
 * test measures one model's drift.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelDrift, ModelDriftRunSummary } from '../contract/model-drift.ts';
import { loadModelRegistry, type ModelRegistry } from '../inference/registry.ts';
import { createModelDrift } from '../pipeline/model-drift.ts';
import { createReadAssistWorker } from '../pipeline/read-assist-worker.ts';
import { createBlobStore } from '../store/blobs.ts';
import { startTestApi, type TestApi } from './support/api-role.ts';
import { buildCr } from './support/dicom-builder.ts';
import { shippedModels, shippedModelsWith } from './support/models-folder.ts';
import { sharedData } from './support/shared-data.ts';
import { seededRandom } from '../inference/seeded-random.ts';

const MODEL = 'cxr-pneumonia-adult';
const SIZE = 200;
const SIDE = 256;
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const policy = { referenceSize: SIZE, windowSize: SIZE, thresholds: { moderate: 0.1, drift: 0.25 } };

/** `count` films of the subset in a seeded order, none repeated. */
function films(count: number): string[] {
  const folder = path.join(sharedData, 'images', 'nih-cxr14-pneumonia-1000');
  const files = fs.readFileSync(path.join(folder, 'labels.csv'), 'utf8').trim().split('\n').slice(1).map((line) => path.join(folder, line.split(',')[0]));
  const random = seededRandom(15);
  for (let i = files.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [files[i], files[j]] = [files[j], files[i]];
  }
  return files.slice(0, count);
}

/** A film as an 8-bit MONOCHROME2 CR of SIDE² pixels; `invert` writes 255 − v. */
async function crOf(file: string, uidRoot: string, invert: boolean): Promise<Uint8Array> {
  const pixels = new Uint8Array(await sharp(file).greyscale().resize(SIDE, SIDE, { fit: 'fill' }).raw().toBuffer());
  if (invert) for (let i = 0; i < pixels.length; i++) pixels[i] = 255 - pixels[i];
  return buildCr(uidRoot, EXPLICIT_LE, { rows: SIDE, columns: SIDE, bitsAllocated: 8, bitsStored: 8, pixelRepresentation: 0, photometricInterpretation: 'MONOCHROME2' }, pixels);
}

describe('drift on the real path: films through a real worker, shifted films alert, unshifted stay quiet', () => {
  let api: TestApi;
  let registry: ModelRegistry;
  let worker: ReturnType<typeof createReadAssistWorker>;
  const drift = () => createModelDrift({ store: api.store, policy });

  /** Sends the films (in batches) and waits until the model has answered every one of them. */
  async function send(files: string[], phase: number, invert: boolean): Promise<void> {
    const before = (await api.store.driftObservations(MODEL, { ...policy, recentWindows: 3 })).length;
    for (let i = 0; i < files.length; i += 20) {
      const batch = await Promise.all(files.slice(i, i + 20).map((f, k) => crOf(f, `2.25.${Date.now()}.${phase}.${i + k}`, invert)));
      const { status, body } = await api.client.stow(batch);
      expect(status, JSON.stringify(body).slice(0, 500)).toBe(200);
      expect(body.stored).toHaveLength(batch.length);
    }
    const deadline = Date.now() + 240_000;
    while ((await api.store.driftObservations(MODEL, { ...policy, recentWindows: 3 })).length < before + files.length) {
      if (Date.now() > deadline) throw new Error(`phase ${phase}: the worker did not answer every film in time`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  const models = shippedModelsWith([{ from: path.join(shippedModels, 'pneumonia-cxr'), folder: 'pneumonia-cxr', edit: (card) => { card.deployment = 'evaluate-only'; } }]);

  beforeAll(async () => {
    api = await startTestApi({ modelsDir: models });
    registry = await loadModelRegistry(models, { threads: 1 });
    // Two films in flight: one's ONNX run (a native thread) overlaps the next one's decoding and preprocessing.
    worker = createReadAssistWorker({
      redisUrl: api.config.redisUrl, prefix: api.config.queuePrefix, registry, blobs: createBlobStore(api.config.blobDir),
      concurrency: 2, lockDurationMs: 30_000, dicomLimits: api.config.dicomLimits,
    });
    worker.start();
    const chosen = films(3 * SIZE);
    await send(chosen.slice(0, SIZE), 1, false);
    await send(chosen.slice(SIZE, 2 * SIZE), 2, false);
    await send(chosen.slice(2 * SIZE), 3, true);
  }, 900_000);
  afterAll(async () => {
    await worker?.stop(1000);
    await registry?.close();
    await api?.stop();
    fs.rmSync(models, { recursive: true, force: true });
  });

  it('when the evaluation runs, then the window of inverted films alerts, the window of other unshifted films does not, and each alert is audited under system:drift', async () => {
    const summary: ModelDriftRunSummary = await drift().run();
    const model = summary.models.find((m) => m.modelId === MODEL)!;
    expect(model.windows).toBe(2);
    const answer: ModelDrift = await drift().ofModel(MODEL);
    const [version] = answer.versions;
    expect(version.inferences).toBe(3 * SIZE);
    const [quiet, inverted] = version.windows;
    // Every film was decoded and summarised (run-flagged: the generated CRs carry no age or view).
    expect(Object.values(quiet.psi).every((v) => v !== null)).toBe(true);
    expect(answer.alerts.filter((a) => a.windowIndex === 0)).toEqual([]);
    expect(inverted.psi['input-mean']).toBeGreaterThan(0.25);
    const quantities = answer.alerts.filter((a) => a.windowIndex === 1).map((a) => a.quantity);
    expect(quantities).toContain('input-mean');
    expect(quantities).toContain('ood-score');
    const audit = await api.client.audit('?action=model.drift-alert&limit=100');
    expect(audit.map((r) => r.entityId).sort()).toEqual(model.raised.slice().sort());
    expect(new Set(audit.map((r) => r.actor))).toEqual(new Set(['system:drift']));
  });

  it('when the evaluation runs again, then nothing new is raised', async () => {
    const again = await drift().run();
    expect(again.models.find((m) => m.modelId === MODEL)!.raised).toEqual([]);
  });
});
