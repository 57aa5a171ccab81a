/**
 * `GET /v1/models` tells a model team where each version's answers go: the real hono app over a
 * real registry loaded from the shipped models plus a shadow copy of cxr-pneumonia-adult and a
 * canary copy of pneumonia-cxr (cards edited, the same ONNX). Cards only: what a shadow version
 * answers never reaches this route (test/deployment-states.e2e.test.ts guards the routes that show findings).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelDescription } from '../../contract/models.ts';
import { loadModelRegistry, type ModelRegistry } from '../../inference/registry.ts';
import { shippedModels, shippedModelsWith } from '../../test/support/models-folder.ts';
import { createApp } from '../app.ts';
import type { ApiDeps } from '../deps.ts';

const CANARY = { share: 0.1, sites: ['north'] };
const token = 'reader-token';

describe('GET /v1/models with shadow and canary versions loaded', () => {
  const models = shippedModelsWith([
    { from: path.join(shippedModels, 'cxr-pneumonia-adult'), folder: 'cxr-pneumonia-adult-next', edit: (card) => { card.version = '9.0.0'; card.deployment = 'shadow'; card.deploymentNote = 'measured against the radiologists before promotion'; } },
    { from: path.join(shippedModels, 'pneumonia-cxr'), folder: 'pneumonia-cxr-canary', edit: (card) => { card.version = '1.3.0'; card.deployment = 'canary'; card.canary = CANARY; } },
  ]);
  let registry: ModelRegistry;
  let app: ReturnType<typeof createApp>;

  beforeAll(async () => {
    registry = await loadModelRegistry(models, { threads: 1 });
    // The route reads the registry only; the store just knows the caller, a radiologist, and reads for no other site.
    app = createApp({
      config: { maxUploadBytes: 1 << 20, viewerDir: models, sessionIdleMinutes: 30, sessionAbsoluteHours: 12 },
      registry,
      store: {
        userForToken: async (t: string) => (t === token ? { user: { username: 'dr-wang', displayName: 'Dr Wang', roles: ['radiologist'], sites: ['main'] }, readsFor: [] } : undefined),
      },
    } as unknown as ApiDeps);
  });
  afterAll(async () => {
    await registry?.close();
    fs.rmSync(models, { recursive: true, force: true });
  });

  const list = async () => {
    const response = await app.request('/v1/models', { headers: { authorization: `Bearer ${token}` } });
    expect(response.status, await response.clone().text()).toBe(200);
    const { items } = await response.json() as { items: ModelDescription[] };
    return new Map(items.map((m) => [`${m.id}@${m.version}`, m]));
  };

  it('when the listing is read, then every read-assist version says its deployment state, a canary its share and sites, with the card\'s note', async () => {
    const byKey = await list();
    expect(byKey.get('cxr-pneumonia-adult@1.0.0')).toMatchObject({ deployment: 'clinical' });
    expect(byKey.get('cxr-pneumonia-adult@9.0.0')).toMatchObject({ deployment: 'shadow', deploymentNote: 'measured against the radiologists before promotion' });
    expect(byKey.get('pneumonia-cxr@1.3.0')).toMatchObject({ deployment: 'canary', canary: CANARY });
    expect(byKey.get('nih-cxr-abnormal@1.1.0')).toMatchObject({ deployment: 'evaluate-only', deploymentNote: expect.any(String) });
    expect(byKey.get('pneumonia-cxr@1.1.0')!.canary).toBeUndefined();
  });

  it('when a calculator is listed, then it carries no deployment state: it answers whoever asks it', async () => {
    const byKey = await list();
    for (const model of byKey.values()) {
      if (model.task === 'read-assist') expect(model.deployment).toBeDefined();
      else expect([model.id, model.deployment, model.canary]).toEqual([model.id, undefined, undefined]);
    }
  });

  const card = async (query: string) => {
    const response = await app.request(`/v1/models/${query}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, body: await response.json() as ModelDescription & { error?: { code: string } } };
  };

  it('when one model\'s card is read without a version, then it is the version clinicians are shown, not a newer shadow one; a canary counts as shown', async () => {
    expect((await card('cxr-pneumonia-adult')).body).toMatchObject({ version: '1.0.0', deployment: 'clinical' });
    expect((await card('pneumonia-cxr')).body).toMatchObject({ version: '1.3.0', deployment: 'canary' });
    expect((await card('nih-cxr-abnormal')).body).toMatchObject({ deployment: 'evaluate-only' });
  });

  it('when a version is named, then that version\'s card answers, shadow included (a finding\'s provenance names it); an unknown version is 404', async () => {
    expect((await card('cxr-pneumonia-adult?version=9.0.0')).body).toMatchObject({ version: '9.0.0', deployment: 'shadow' });
    expect((await card('cxr-pneumonia-adult?version=1.0.0')).body).toMatchObject({ version: '1.0.0' });
    const missing = await card('cxr-pneumonia-adult?version=2.0.0');
    expect([missing.status, missing.body.error?.code]).toEqual([404, 'MODEL_NOT_FOUND']);
  });
});
