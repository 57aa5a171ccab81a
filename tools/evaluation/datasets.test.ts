/**
 * The dataset readers on the real files in ../shared/data: the NIH ChestX-ray14 thumbnail
 * folders (image-folder, RGB and RGBA PNGs), NIH pneumonia films listed in a CSV
 * (image-csv), the Pima CSV, and the refusals that keep an evaluation from silently using
 * the wrong data or reading outside the data root.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../config.ts';
import { preprocessImageFile } from '../../inference/image-file.ts';
import { parseCsv, readImageCsvRows, readImageSet, readRowSet } from './datasets.ts';
import { writeNihPneumoniaSubset, type Subset } from './nih-pneumonia-subset.ts';
import { EvaluationSpecError, parseEvaluationSpec, type ImageCsvDataset } from './spec.ts';

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

describe('image-csv', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-image-csv-'));
  const root = path.join(tmp, 'data');
  let subset: Subset;
  let spec: ImageCsvDataset;
  const serving = { preprocessing: 'grey-square@1', size: [28, 28] as [number, number] };
  const withRows = (name: string, extra: string[]) => {
    fs.writeFileSync(path.join(subset.folder, name), `${fs.readFileSync(path.join(subset.folder, 'labels.csv'), 'utf8')}${extra.join('\n')}\n`);
    return { ...spec, path: `nih-pneumonia-subset/${name}` };
  };

  beforeAll(() => {
    fs.mkdirSync(root);
    subset = writeNihPneumoniaSubset(root);
    spec = { kind: 'image-csv', path: subset.csv, fileColumn: 'file', labelColumn: 'label', patientColumn: 'patient_id', splitColumn: 'split', split: 'test' };
    fs.copyFileSync(path.join(subset.folder, subset.rows[0].file), path.join(tmp, 'outside.png'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('when a split is named, then only its rows are read, with their patients and the other columns as metadata', () => {
    const { rows, columns, total } = readImageCsvRows(root, spec);
    expect(total).toBe(subset.rows.length);
    expect(rows.map((r) => r.id)).toEqual(subset.test.map((r) => r.file));
    expect(rows.map((r) => r.patient)).toEqual(subset.test.map((r) => r.patient_id));
    expect(rows.filter((r) => r.patient === '00001613')).toHaveLength(3);
    expect(columns).toEqual(['view', 'follow_up']);
    expect(rows[0].metadata).toEqual({ view: subset.test[0].view, follow_up: subset.test[0].follow_up });
    // Without the split, every row.
    expect(readImageCsvRows(root, { ...spec, split: undefined, splitColumn: undefined }).rows).toHaveLength(subset.rows.length);
  });

  it('when the films are read for a 28 px model, then each is exactly what the worker\'s preprocessing makes of it, not pixel/255', async () => {
    const set = await readImageSet(root, spec, [-1, 1, 28, 28], serving);
    expect(set.shape).toEqual([subset.test.length, 1, 28, 28]);
    expect(set.patients).toEqual({ column: 'patient_id', ids: subset.test.map((r) => r.patient_id) });
    expect(Object.keys(set.columns!)).toEqual(['view', 'follow_up']);
    const first = await preprocessImageFile(path.join(subset.folder, subset.test[0].file), serving.preprocessing, serving.size);
    expect(Array.from(set.data.subarray(0, 28 * 28))).toEqual(Array.from(first.data));
    // The served step windows the film (0.5-99.5th percentile): its range is stretched to about [0, 1].
    expect(Math.min(...first.data)).toBeLessThan(0.02);
    expect(Math.max(...first.data)).toBeGreaterThan(0.98);
    expect(set.notes.join(' ')).toMatch(/serving preprocessing grey-square@1.*not pixel\/255/);
  });

  it('when no serving preprocessing is given, then an image-csv set is refused rather than fed as pixel/255', async () => {
    await expect(readImageSet(root, spec, [-1, 1, 28, 28])).rejects.toThrow(/serving preprocessing/);
  });

  it('when an image path climbs out of the data root, is absolute, or is a link leading out, then it is refused with its line', () => {
    const climbing = withRows('climbing.csv', ['../../outside.png,1,p1,test,AP,0']);
    expect(() => readImageCsvRows(root, climbing)).toThrow(/climbing\.csv:\d+: image path "\.\.\/\.\.\/outside\.png" leaves the data root/);
    const absolute = withRows('absolute.csv', [`${path.join(tmp, 'outside.png')},1,p1,test,AP,0`]);
    expect(() => readImageCsvRows(root, absolute)).toThrow(/leaves the data root/);
    fs.symlinkSync(path.join(tmp, 'outside.png'), path.join(subset.folder, 'images', 'link.png'));
    const linked = withRows('linked.csv', ['images/link.png,1,p1,test,AP,0']);
    expect(() => readImageCsvRows(root, linked)).toThrow(/a link that leaves the data root/);
  });

  it('when a label is not 0/1, a patient is missing, an image is not on disk or the split has no rows, then it says where instead of dropping rows', () => {
    expect(() => readImageCsvRows(root, withRows('bad-label.csv', [`${subset.test[0].file},yes,p1,test,AP,0`]))).toThrow(/bad-label\.csv:\d+: label "yes" is not 0 or 1/);
    expect(() => readImageCsvRows(root, withRows('no-patient.csv', [`${subset.test[0].file},1,,test,AP,0`]))).toThrow(/patient_id is empty/);
    expect(() => readImageCsvRows(root, withRows('gone.csv', ['images/gone.png,1,p1,test,AP,0']))).toThrow(/image images\/gone\.png is not on disk/);
    expect(() => readImageCsvRows(root, { ...spec, split: 'valid' })).toThrow(/no rows with split = "valid" \(values: .*test.*train/);
  });

  it('when a card names a split without its column, or a column the CSV lacks, then it is refused', () => {
    expect(() => parseEvaluationSpec('m', { metricsSplit: 't', dataset: { ...spec, splitColumn: undefined } })).toThrow(/dataset.split: split needs splitColumn/);
    expect(() => readImageCsvRows(root, { ...spec, patientColumn: 'subject' })).toThrow(/has no column "subject"/);
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
