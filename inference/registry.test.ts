import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { shippedModels as shipped, shippedModelsWith } from '../test/support/models-folder.ts';
import { loadModelRegistry } from './registry.ts';

const temps: string[] = [];

/** A copy of the shipped models folder with one card edited, to break one contract at a time. */
function modelsWith(edit: (card: Record<string, any>, dir: string) => void): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-models-'));
  temps.push(root);
  const dir = path.join(root, 'pneumonia-cxr');
  fs.cpSync(path.join(shipped, 'pneumonia-cxr'), dir, { recursive: true });
  const card = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  edit(card, dir);
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(card));
  return root;
}

/** Every shipped model, plus copies of pneumonia-cxr with edited cards: other versions of it. */
function shippedWith(copies: { folder: string; edit: (card: Record<string, any>) => void }[]): string {
  const root = shippedModelsWith(copies.map((copy) => ({ ...copy, from: path.join(shipped, 'pneumonia-cxr') })));
  temps.push(root);
  return root;
}

afterEach(() => {
  for (const dir of temps.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('model registry', () => {
  it('when the shipped models load, then each is keyed id@version, warmed up, and only served models are routed by modality', async () => {
    const registry = await loadModelRegistry(shipped, { threads: 1 });
    expect(registry.models.map((m) => m.key)).toEqual(expect.arrayContaining(['pneumonia-cxr@1.1.0', 'cxr-pneumonia-adult@1.0.0', 'nih-cxr-abnormal@1.1.0', 'pce-ascvd@1.0.1', 'news2@1.2.0', 'curb65@1.1.0', 'findrisc@1.1.0', 'qsofa@1.0.0']));
    expect(registry.forModality('CR').map((m) => m.card.id).sort()).toEqual(['cxr-pneumonia-adult', 'pneumonia-cxr']);
    expect(registry.triagePolicy.card.id).toBe('triage-policy');
    expect(registry.forModality('CT')).toEqual([]);
    await registry.close();
  });

  const refusals: [string, (card: Record<string, any>, dir: string) => void, RegExp][] = [
    ['weights that do not hash to the card', (card) => { card.weights.sha256 = 'f'.repeat(64); }, /weights sha256 is [0-9a-f]{64} but the card says f{64}/],
    ['a missing weights file', (_card, dir) => fs.rmSync(path.join(dir, 'model.onnx')), /weights file model.onnx is missing/],
    ['an input name the graph does not have', (card) => { card.inputs[0].name = 'pixels'; }, /card declares inputs \[pixels\] but the graph has \[image\]/],
    ['an input size the graph does not have', (card) => { card.inputs[0].shape = [-1, 1, 64, 64]; }, /input image dimension 2 is 28 in the graph but 64 on the card/],
    ['a label reading an undeclared output', (card) => { card.labels[0].output = 'logits'; }, /label pneumonia reads output logits/],
    ['unknown preprocessing', (card) => { card.preprocessing.version = '99'; }, /preprocessing grey-square@99 is unknown/],
    ['a card without metrics', (card) => { card.metrics = []; }, /metrics: Too small/],
    ['a clinical card without an out-of-distribution check', (card) => { delete card.outOfDistribution; }, /outOfDistribution: a clinical read-assist model needs an outOfDistribution check/],
    ['a canary card without an out-of-distribution check', (card) => { card.deployment = 'canary'; card.canary = { share: 0.1 }; delete card.outOfDistribution; }, /outOfDistribution: a canary read-assist model needs an outOfDistribution check/],
    ['a canary card without a share', (card) => { card.deployment = 'canary'; }, /canary: a canary model needs canary.share/],
    ['a canary share above 1', (card) => { card.deployment = 'canary'; card.canary = { share: 1.5 }; }, /canary.share: Too big/],
    ['a canary selection on a clinical card', (card) => { card.canary = { share: 0.5 }; }, /canary: canary applies to deployment "canary" only, not "clinical"/],
    ['the retired state "serve"', (card) => { card.deployment = 'serve'; }, /deployment: Invalid option/],
    ['an out-of-distribution output the card does not declare', (card) => { card.outOfDistribution.output = 'novelty'; }, /outOfDistribution reads output novelty, which the card must declare as float32 \[-1, 1\]/],
    ['a card without a population', (card) => { delete card.population; }, /population: /],
    ['a population with a view but no rule for a missing one', (card) => { delete card.population.whenMissing.view; }, /population.whenMissing.view/],
    ['no word on whether it may drive priority', (card) => { delete card.drivesPriority; }, /drivesPriority/],
  ];
  it('when a shadow and a canary version sit beside the clinical one, then each study is routed to all three with its run\'s deployment, only the clinical one by modality, and nothing is warned', async () => {
    const root = shippedWith([
      { folder: 'pneumonia-cxr-shadow', edit: (card) => { card.version = '1.2.0'; card.deployment = 'shadow'; } },
      { folder: 'pneumonia-cxr-canary', edit: (card) => { card.version = '1.3.0'; card.deployment = 'canary'; card.canary = { share: 0, sites: ['north'] }; } },
    ]);
    const registry = await loadModelRegistry(root, { threads: 1 });
    try {
      expect(registry.forModality('CR').map((m) => m.key).sort()).toEqual(['cxr-pneumonia-adult@1.0.0', 'pneumonia-cxr@1.1.0']);
      const runs = (siteId: string) => registry.forStudy('CR', { studyInstanceUid: '1.2.3.4', siteId }).map((r) => `${r.model.key} ${r.deployment}`).sort();
      expect(runs('main')).toEqual(['cxr-pneumonia-adult@1.0.0 clinical', 'pneumonia-cxr@1.1.0 clinical', 'pneumonia-cxr@1.2.0 shadow', 'pneumonia-cxr@1.3.0 shadow']);
      expect(runs('north')).toContain('pneumonia-cxr@1.3.0 clinical');
      expect(registry.forStudy('CT', { studyInstanceUid: '1.2.3.4' })).toEqual([]);
      expect(registry.warnings).toEqual([]);
      expect(registry.readAssist('pneumonia-cxr@1.2.0').cardSha256).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await registry.close();
    }
  });

  it('when a shadow model reads a label no clinical model reads, then it loads and the registry warns that only the radiologists can measure it', async () => {
    const registry = await loadModelRegistry(shippedWith([{ folder: 'pneumonia-cxr-shadow', edit: (card) => {
      card.version = '1.2.0';
      card.deployment = 'shadow';
      card.labels[0].id = 'consolidation';
      card.operatingPoints.forEach((p: { label: string }) => { p.label = 'consolidation'; });
      card.referBands?.forEach((b: { label: string }) => { b.label = 'consolidation'; });
    } }]), { threads: 1 });
    try {
      expect(registry.warnings).toEqual([expect.stringMatching(/^pneumonia-cxr@1\.2\.0 is shadow but no clinical model reads CR\/DX for consolidation/)]);
    } finally {
      await registry.close();
    }
  });

  it.each([['clinical', 'clinical'], ['canary', 'canary']])('when two %s versions of one model are loaded, then the start is refused, naming both', async (state) => {
    const twin = { folder: 'pneumonia-cxr-twin', edit: (card: Record<string, any>) => { card.version = '1.2.0'; card.deployment = state; if (state === 'canary') card.canary = { share: 0.1 }; } };
    const other = { folder: 'pneumonia-cxr-third', edit: (card: Record<string, any>) => { card.version = '1.3.0'; card.deployment = state; if (state === 'canary') card.canary = { share: 0.2 }; } };
    await expect(loadModelRegistry(shippedWith(state === 'clinical' ? [twin] : [twin, other]), { threads: 1 }))
      .rejects.toThrow(state === 'clinical' ? /pneumonia-cxr has 2 clinical versions \(1\.1\.0, 1\.2\.0\)|pneumonia-cxr has 2 clinical versions \(1\.2\.0, 1\.1\.0\)/ : /pneumonia-cxr has 2 canary versions/);
  });

  it.each(refusals)('when a model folder has %s, then loading refuses it and says what is wrong', async (_what, edit, message) => {
    await expect(loadModelRegistry(modelsWith(edit), { threads: 1 })).rejects.toThrow(message);
  });
});
