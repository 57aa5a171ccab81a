import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../config.ts';
import { loadModelRegistry } from './registry.ts';

const shipped = path.join(repoRoot, 'models');
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

afterEach(() => {
  for (const dir of temps.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('model registry', () => {
  it('when the shipped models load, then each is keyed id@version, warmed up, and only served models are routed by modality', async () => {
    const registry = await loadModelRegistry(shipped, { threads: 1 });
    expect(registry.models.map((m) => m.key)).toEqual(expect.arrayContaining(['pneumonia-cxr@1.1.0', 'cxr-pneumonia-adult@1.0.0', 'nih-cxr-abnormal@1.1.0', 'pce-ascvd@1.0.1', 'news2@1.0.0']));
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
    ['a served card without an out-of-distribution check', (card) => { delete card.outOfDistribution; }, /outOfDistribution: a served read-assist model needs an outOfDistribution check/],
    ['an out-of-distribution output the card does not declare', (card) => { card.outOfDistribution.output = 'novelty'; }, /outOfDistribution reads output novelty, which the card must declare as float32 \[-1, 1\]/],
    ['a card without a population', (card) => { delete card.population; }, /population: /],
    ['a population with a view but no rule for a missing one', (card) => { delete card.population.whenMissing.view; }, /population.whenMissing.view/],
    ['no word on whether it may drive priority', (card) => { delete card.drivesPriority; }, /drivesPriority/],
  ];
  it.each(refusals)('when a model folder has %s, then loading refuses it and says what is wrong', async (_what, edit, message) => {
    await expect(loadModelRegistry(modelsWith(edit), { threads: 1 })).rejects.toThrow(message);
  });
});
