/**
 * The dataset readers on the real files in ../shared/data: the NIH ChestX-ray14 thumbnail
 * folders (image-folder, RGB and RGBA PNGs), the Pima CSV, and the refusals that keep an
 * evaluation from silently using the wrong data.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../config.ts';
import { EvaluationSpecError, parseCsv, parseEvaluationSpec, readImageSet, readRowSet } from './datasets.ts';

const dataRoot = path.join(repoRoot, '..', 'shared', 'data');
const nih = { kind: 'image-folder' as const, path: 'images/nih-cxr14-1000-64px/NIH1000/test', labels: { '0_normal': 0 as const, '1_abnormal': 1 as const } };

describe('image-folder', () => {
  it('when the NIH 64 px test folder is read for a [-1,1,64,64] model, then it gives 200 grey images in [0,1] labelled by folder', async () => {
    const set = await readImageSet(dataRoot, nih, [-1, 1, 64, 64]);
    expect(set.shape).toEqual([200, 1, 64, 64]);
    expect(set.labels.reduce((a, b) => a + b, 0)).toBe(100);
    expect(set.ids[0]).toMatch(/^0_normal\/.*\.png$/);
    let min = 1; let max = 0;
    for (const v of set.data) { min = Math.min(min, v); max = Math.max(max, v); }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThanOrEqual(1);
    expect(max).toBeGreaterThan(0.5);
    expect(set.notes.join(' ')).toMatch(/DICOM decoding and windowing are bypassed/);
  });

  it('when the model takes 3 channels, then each image is planar RGB', async () => {
    const set = await readImageSet(dataRoot, nih, [-1, 3, 64, 64]);
    expect(set.shape).toEqual([200, 3, 64, 64]);
    expect(set.data.length).toBe(200 * 3 * 64 * 64);
  });

  it('when a class folder is not mapped in labels, then it refuses instead of skipping it', async () => {
    await expect(readImageSet(dataRoot, { ...nih, labels: { '0_normal': 0, other: 1 } }, [-1, 1, 64, 64])).rejects.toThrow(/1_abnormal are not in "labels"/);
  });
});

describe('csv', () => {
  const features = [
    { name: 'glucose', kind: 'number', unit: 'mg/dL', units: { 'mg/dL': { factor: 1 }, 'mmol/L': { factor: 18.016 } } },
    { name: 'age', kind: 'number', unit: 'years' },
    { name: 'sex', kind: 'enum' },
  ];
  const spec = { kind: 'csv' as const, path: 'tabular/pima/Pima.te.csv', label: { column: 'type', positive: 'Yes', negative: 'No' }, columns: { glucose: 'glu', age: 'age' }, constants: { sex: 'female' }, missing: ['', 'NA'] };

  it('when Pima.te.csv is read, then every row becomes a request body with explicit units where the feature takes several', () => {
    const set = readRowSet(dataRoot, spec, features);
    expect(set.rows.length).toBe(332);
    expect(set.labels.reduce((a, b) => a + b, 0)).toBe(109);
    expect(set.rows[0]).toEqual({ sex: 'female', glucose: { value: 148, unit: 'mg/dL' }, age: 50 });
  });

  it('when a cell is missing, then it names the line instead of dropping the row', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-csv-'));
    fs.writeFileSync(path.join(dir, 'x.csv'), '"glu","age","type"\n100,30,"No"\nNA,40,"Yes"\n');
    expect(() => readRowSet(dir, { ...spec, path: 'x.csv' }, features)).toThrow(/x\.csv:3: glu is missing/);
    fs.rmSync(dir, { recursive: true });
  });

  it('when quoted fields hold commas and quotes, then the parser keeps them', () => {
    expect(parseCsv('a,"b,c","d ""e"""\r\n1,2,3\n')).toEqual([['a', 'b,c', 'd "e"'], ['1', '2', '3']]);
  });
});

describe('the evaluation object', () => {
  it('when a dataset path climbs out of the data root, then the card is refused', () => {
    expect(() => parseEvaluationSpec('m', { metricsSplit: 't', dataset: { kind: 'npz', path: '../../etc/x.npz', split: 'test' } })).toThrow(EvaluationSpecError);
  });

  it('when the kind is unknown, then the message says where', () => {
    expect(() => parseEvaluationSpec('m', { metricsSplit: 't', dataset: { kind: 'parquet', path: 'x' } })).toThrow(/m: card "evaluation" is invalid: dataset.kind/);
  });
});
