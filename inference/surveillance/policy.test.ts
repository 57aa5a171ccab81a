import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../config.ts';
import { loadModelRegistry } from '../registry.ts';
import { loadSurveillancePolicy, policyFor } from './policy.ts';

const shipped = path.join(repoRoot, 'models', 'surveillance-policy');
const temps: string[] = [];
afterAll(() => { for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true }); });

/** A copy of the shipped policy card with one edit, to break one rule at a time. */
function policyWith(edit: (card: Record<string, any>) => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-surveillance-'));
  temps.push(dir);
  const card = JSON.parse(fs.readFileSync(path.join(shipped, 'model.json'), 'utf8'));
  edit(card);
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(card));
  return dir;
}

describe('surveillance policy card', () => {
  const policy = loadSurveillancePolicy(shipped);

  it('when the shipped card loads, then it is keyed id@version with the hash of its bytes', () => {
    expect(policy.key).toBe(`surveillance-policy@${policy.card.version}`);
    expect(policy.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('when a signal has its own entry, a prefix pattern or neither, then its own, the prefix\'s, else the default governs it', () => {
    expect(policyFor(policy.card, 'fever').signal).toBe('fever');
    expect(policyFor(policy.card, 'ai-positive:pneumonia').signal).toBe('ai-positive:*');
    expect(policyFor(policy.card, 'reader-confirmed:nodule').signal).toBe('reader-confirmed:*');
    expect(policyFor(policy.card, 'consultation:refer').signal).toBe('consultation:*');
    expect(policyFor(policy.card, 'something-new').signal).toBe('*');
  });

  const refusals: [string, (card: Record<string, any>) => void, RegExp][] = [
    ['no default entry', (card) => { card.signals = card.signals.filter((s: { signal: string }) => s.signal !== '*'); }, /no default entry "\*"/],
    ['an unknown method', (card) => { card.signals[0].methods[0].method = 'farrington'; }, /signals\.0\.methods\.0\.method/],
    ['a parameter no method reads', (card) => { card.signals[0].methods[0].params = { alpha: 0.05 }; }, /signals\.0\.methods\.0\.params: Unrecognized key/],
    ['a percentile of 100', (card) => { card.signals[0].methods[0].params = { percentile: 100 }; }, /percentile/],
    ['a multi-point rule on a method the signal does not run', (card) => { card.signals[0].multiPoint.method = 'moving-percentile'; }, /multi-point rule reads moving-percentile, which the signal does not run/],
    ['a multi-point rule of one site', (card) => { card.signals[0].multiPoint.minSites = 1; }, /minSites/],
    ['two entries for one signal', (card) => { card.signals.push({ ...card.signals[0] }); }, /signal ai-positive:\* has two entries/],
    ['a method listed twice', (card) => { card.signals[0].methods.push({ method: 'cusum' }); }, /lists cusum twice/],
    ['fewer baseline days than it needs', (card) => { card.signals[0].methods[0].params = { baselineDays: 4 }; }, /minBaselineDays 5 exceeds baselineDays 4/],
    ['a signal pattern with a space', (card) => { card.signals[0].signal = 'ai positive'; }, /a signal id/],
  ];
  it.each(refusals)('when the card has %s, then loading refuses it and says what is wrong', (_what, edit, message) => {
    expect(() => loadSurveillancePolicy(policyWith(edit))).toThrow(message);
  });
});

describe('the registry at start', () => {
  it('when the shipped models folder loads, then the registry holds the surveillance policy, apart from the models', async () => {
    const registry = await loadModelRegistry(path.join(repoRoot, 'models'), { threads: 1 });
    expect(registry.surveillancePolicy?.card.id).toBe('surveillance-policy');
    expect(registry.models.map((m) => m.card.id)).not.toContain('surveillance-policy');
    await registry.close();
  });

  it('when the surveillance card is broken, then the registry refuses to start and names it', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-models-'));
    temps.push(root);
    for (const folder of ['triage-policy', 'surveillance-policy']) fs.cpSync(path.join(repoRoot, 'models', folder), path.join(root, folder), { recursive: true });
    const card = path.join(root, 'surveillance-policy', 'model.json');
    fs.writeFileSync(card, fs.readFileSync(card, 'utf8').replace('"minSites": 2', '"minSites": 0'));
    await expect(loadModelRegistry(root, { threads: 1 })).rejects.toThrow(/surveillance-policy: model.json breaks the surveillance policy schema: signals\.0\.multiPoint\.minSites/);
  });
});
