/**
 * The nih-cxr-abnormal card is a claim about model.onnx; this test re-derives the claim from
 * the file. It decodes the 200 NIH1000 test PNGs with sharp, runs them through onnxruntime-node
 * and compares with the card, so a retrained model with a stale card fails here.
 *
 * The checks every grey-image read-assist folder shares live in
 * models/tools/read-assist-checks.ts (named `it…` below); this file says which split, read how.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { itHasNormalisedHeatmaps, itIsTheGraphTheCardNames, itReproducesTheCardMetrics, scoreTestSplit } from '../tools/read-assist-checks.ts';
import { loadSplit, SIZE } from './train/predict.ts';

const here = dirname(fileURLToPath(import.meta.url));

describe('nih-cxr-abnormal model on the NIH1000 test split', () => {
  const scored = scoreTestSplit(here, async () => {
    const test = await loadSplit('test');
    return { image: test.image, label: test.label, size: SIZE };
  });

  itIsTheGraphTheCardNames(here, scored);

  it('when the test PNGs are read, then they are the 200-image split (100 normal, 100 abnormal)', () => {
    expect(scored.labels.length).toBe(200);
    expect(scored.labels.reduce((a, b) => a + b, 0)).toBe(100);
  });

  itReproducesTheCardMetrics(scored, { n: 200, split: 'NIH1000 test (n=200)', bandLabel: 'abnormal' });
  itHasNormalisedHeatmaps(scored, { n: 200, size: SIZE });
});
