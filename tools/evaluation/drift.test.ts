/**
 * CI drift guard: every model folder whose card has an `evaluation` object is re-evaluated
 * on its test split through Lantern's serving path, and every card metric on that split
 * must be recomputed within its tolerance (card-metrics.ts TOLERANCES: AUROC ±0.005,
 * accuracy/sensitivity/specificity ±0.01, ECE ±0.01, Brier ±0.005, calibration
 * slope/intercept ±0.05) on the same n. Per-patient claims (`AUROC (per patient)` …, on a
 * split that says "per patient") are held to the same tolerances on the same number of
 * patients, and none may be left out of the comparison. A retrained model with a stale card,
 * a changed dataset or a broken preprocessing/units path fails here. The weights hash is
 * checked by loading through the registry, which refuses weights that are not the card's.
 * A new model folder is picked up as soon as its card has an `evaluation` object.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../config.ts';
import { PER_PATIENT } from './card-metrics.ts';
import { evaluateModel } from './evaluate.ts';

const modelsDir = path.join(repoRoot, 'models');
const dataRoot = path.join(repoRoot, '..', 'shared', 'data');

const evaluated = fs.readdirSync(modelsDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && fs.existsSync(path.join(modelsDir, d.name, 'model.json')))
  .map((d) => ({ folder: d.name, card: JSON.parse(fs.readFileSync(path.join(modelsDir, d.name, 'model.json'), 'utf8')) as { id: string; evaluation?: unknown; metrics?: { name: string }[] } }))
  .filter((m) => m.card.evaluation !== undefined);

describe('card metrics do not drift from the shipped weights', () => {
  it('when the models folder is scanned, then the two reference models are among those evaluated', () => {
    expect(evaluated.map((m) => m.folder)).toEqual(expect.arrayContaining(['pneumonia-cxr', 'diabetes-pima']));
  });

  it.each(evaluated.map((m) => [m.folder, m.card]))('when %s is loaded and re-evaluated on its test split, then every card metric is within tolerance', async (folder, card) => {
    const report = await evaluateModel(path.join(modelsDir, folder), { dataRoot });
    const problems = report.comparison.filter((c) => c.status !== 'ok')
      .map((c) => `${c.name}: card ${c.card} (n=${c.cardN}), recomputed ${c.recomputed} (n=${c.recomputedN}), ${c.status}${c.tolerance !== undefined ? ` (tolerance ±${c.tolerance})` : ''}`);
    expect(report.comparison.length, `card has no metrics on split "${report.spec.metricsSplit}"`).toBeGreaterThan(0);
    expect(problems).toEqual([]);
    // A per-patient claim on a split the harness does not recognise would go unchecked: refuse that.
    const perPatient = (card.metrics ?? []).filter((m) => m.name.endsWith(PER_PATIENT)).map((m) => m.name);
    expect(report.comparison.map((c) => c.name), `per-patient claims need a split starting like "${report.spec.metricsSplit.split('(')[0].trim()}" and saying "per patient"`).toEqual(expect.arrayContaining(perPatient));
  });
});

describe('weights that are not the card\'s are refused before any metric is computed', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-drift-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('when one byte of diabetes-pima\'s weights changes, then evaluation fails on the sha256 check', async () => {
    const dir = path.join(tmp, 'diabetes-pima');
    fs.cpSync(path.join(modelsDir, 'diabetes-pima'), dir, { recursive: true, filter: (src) => !src.includes(`${path.sep}evaluation`) && !src.includes(`${path.sep}train`) });
    const weights = fs.readFileSync(path.join(dir, 'model.onnx'));
    // Flip a bit in the last initializer bytes (the intercept), keeping a loadable graph.
    weights[weights.length - 40] ^= 0x01;
    fs.writeFileSync(path.join(dir, 'model.onnx'), weights);
    await expect(evaluateModel(dir, { dataRoot })).rejects.toThrow(/sha256 .* but the card says/);
  });
});
