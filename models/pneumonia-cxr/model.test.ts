/**
 * The pneumonia-cxr card is a claim about model.onnx; this test re-derives the claim from
 * the file. It runs the official PneumoniaMNIST test split (n=624) through onnxruntime-node
 * and compares with the card, so a retrained model with a stale card fails here.
 *
 * The checks every grey-image read-assist folder shares live in
 * models/tools/read-assist-checks.ts (named `it…` below); this file says which split, read how.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readNpz } from '../../tools/evaluation/npz.ts';
import { itHasNormalisedHeatmaps, itIsTheGraphTheCardNames, itReproducesTheCardMetrics, scoreTestSplit } from '../tools/read-assist-checks.ts';

const here = dirname(fileURLToPath(import.meta.url));
const NPZ = join(here, '../../../shared/data/images/pneumoniamnist/pneumoniamnist_varun19424.npz');

describe('pneumonia-cxr model on the official PneumoniaMNIST test split', () => {
  const scored = scoreTestSplit(here, async () => {
    const npz = readNpz(NPZ);
    const images = npz.get('test_images')!;
    const [, h] = images.shape;
    const image = new Float32Array(images.data.length);
    for (let i = 0; i < image.length; i++) image[i] = (images.data as Uint8Array)[i] / 255;
    return { image, label: npz.get('test_labels')!.data as Uint8Array, size: h };
  });

  itIsTheGraphTheCardNames(here, scored);

  it('when the 624 test images are read from the .npz, then they are the official split', () => {
    expect(scored.labels.length).toBe(624);
    expect(scored.labels.reduce((a, b) => a + b, 0)).toBe(390);
  });

  itReproducesTheCardMetrics(scored, { n: 624, split: 'official test (n=624)', bandLabel: 'pneumonia' });
  itHasNormalisedHeatmaps(scored, { n: 624, size: 28 });
});
