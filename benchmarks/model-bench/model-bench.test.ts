/**
 * The model-team harness on images nobody in the project has scored in this form: NIH
 * thumbnails re-written as DICOM files with fresh UIDs and as renamed PNGs in one flat
 * folder, labelled only by a CSV. Checks structure and consistency, never speed.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../config.ts';
import { atThreshold, auroc } from '../../inference/evaluation/metrics.ts';
import { buildCr } from '../../test/support/dicom-builder.ts';
import { sharedData } from '../../test/support/shared-data.ts';
import { loadDataset } from './load.ts';
import type { ModelBenchReport } from './report.ts';
import { runModelBench } from './run.ts';

const NIH_TEST = path.join(sharedData, 'images/nih-cxr14-1000-64px/NIH1000/test');
const EXPLICIT_VR_LE = '1.2.840.10008.1.2.1';
const MODELS = ['pneumonia-cxr', 'nih-cxr-abnormal'];

/** A fresh UID root under 2.25 (UUID-derived), so no file matches anything stored before. */
const freshUidRoot = () => `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`)}`;

describe('npm run bench:model on an unseen mixed DICOM + PNG folder', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-model-bench-'));
  const data = path.join(tmp, 'data');
  const out = path.join(tmp, 'out');
  const labelsCsv = path.join(tmp, 'labels.csv');
  let report: ModelBenchReport;
  let files: string[];

  beforeAll(async () => {
    fs.mkdirSync(path.join(data, 'dicom'), { recursive: true });
    fs.mkdirSync(path.join(data, 'png'), { recursive: true });
    const rows = ['file,label'];
    let n = 0;
    for (const [folder, label] of [['0_normal', 0], ['1_abnormal', 1]] as const) {
      const names = fs.readdirSync(path.join(NIH_TEST, folder)).filter((f) => f.endsWith('.png')).sort().slice(0, 12);
      for (const [i, name] of names.entries()) {
        n++;
        const source = path.join(NIH_TEST, folder, name);
        // Names carry no class: only the CSV knows the label.
        if (i % 2 === 0) {
          const { data: grey, info } = await sharp(source).removeAlpha().greyscale().raw().toBuffer({ resolveWithObject: true });
          const bytes = buildCr(freshUidRoot(), EXPLICIT_VR_LE, {
            rows: info.height, columns: info.width, bitsAllocated: 8, bitsStored: 8, pixelRepresentation: 0, photometricInterpretation: 'MONOCHROME2',
          }, new Uint8Array(grey));
          fs.writeFileSync(path.join(data, 'dicom', `case-${String(n).padStart(3, '0')}.dcm`), bytes);
          rows.push(`dicom/case-${String(n).padStart(3, '0')}.dcm,${label}`);
        } else {
          fs.copyFileSync(source, path.join(data, 'png', `img${String(1000 - n * 7)}.png`));
          rows.push(`png/img${String(1000 - n * 7)}.png,${label}`);
        }
      }
    }
    // Failure stories in the same folder: none of these may vanish silently.
    fs.writeFileSync(path.join(data, 'README.txt'), 'not an image');
    fs.copyFileSync(path.join(NIH_TEST, '0_normal', fs.readdirSync(path.join(NIH_TEST, '0_normal')).sort()[20]), path.join(data, 'png', 'unlabelled.png'));
    fs.writeFileSync(path.join(data, 'dicom', 'broken.dcm'), Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), Buffer.from([0x02, 0x00, 0x10])]));
    rows.push('dicom/broken.dcm,0', 'png/gone.png,1');
    fs.writeFileSync(labelsCsv, `${rows.join('\n')}\n`);

    ({ report, files } = await runModelBench({
      models: MODELS, data, labels: labelsCsv, sharedRoot: sharedData, modelsDir: path.join(repoRoot, 'models'), out,
    }));
  }, 60_000);

  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('when both models run, then every image is scored by both, side by side', () => {
    expect(report.models.map((m) => m.id)).toEqual(MODELS);
    expect(report.dataset).toMatchObject({ n: 24, positives: 12, negatives: 12, byFormat: { dicom: 12, png: 12 } });
    expect(report.cases).toHaveLength(24);
    for (const c of report.cases) {
      expect(Object.keys(c.results).sort(), c.id).toEqual([...MODELS].sort());
      for (const id of MODELS) expect(c.results[id].probability, `${id} ${c.id}`).toBeGreaterThanOrEqual(0);
    }
  });

  it('when the metrics are recomputed from the per-case probabilities in report.json, then they are the same numbers', () => {
    const json = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) as ModelBenchReport;
    for (const m of json.models) {
      // Metrics are over the images the model answered with a probability.
      const answered = json.cases.filter((c) => c.results[m.id].probability !== null);
      const labels = answered.map((c) => c.label);
      const p = answered.map((c) => c.results[m.id].probability!);
      const again = auroc(p, labels);
      expect(m.auroc.value, m.id).toBe(again.value);
      expect(m.auroc.ci95, m.id).toEqual(again.ci95);
      const at = atThreshold(p, labels, m.operatingPoint.threshold);
      expect(m.atOperatingPoint.sensitivity, m.id).toEqual(at.sensitivity);
      expect(m.atOperatingPoint.specificity, m.id).toEqual(at.specificity);
      expect(m.atOperatingPoint.sensitivity.ci95[0]).toBeLessThanOrEqual(m.atOperatingPoint.sensitivity.value);
      expect(m.ece).toBeGreaterThanOrEqual(0);
      expect(m.brier).toBeGreaterThanOrEqual(0);
      // The operating point is the card's, not one tuned on this data.
      const card = JSON.parse(fs.readFileSync(path.join(repoRoot, 'models', m.id, 'model.json'), 'utf8'));
      expect(m.operatingPoint.threshold).toBe(card.operatingPoints[0].threshold);
    }
  });

  it('when images are DICOM or PNG, then each has decode, preprocess and inference timings per model', () => {
    for (const c of report.cases) {
      for (const id of MODELS) expect(Object.keys(c.results[id].timingMs), `${id} ${c.id}`).toEqual(expect.arrayContaining(['decode', 'preprocess', 'inference']));
    }
    for (const m of report.models) {
      for (const format of ['dicom', 'png'] as const) {
        for (const stage of ['decode', 'preprocess', 'inference', 'total']) expect(m.latencyMs[format]?.[stage]?.n, `${m.id} ${format} ${stage}`).toBe(12);
      }
    }
    expect(report.paths.join(' ')).toMatch(/readAssist/);
    expect(report.paths.join(' ')).toMatch(/NO VOI windowing/);
  });

  it('when a file is not an image, cannot be decoded, has no label or is missing, then it is listed as skipped with the reason', () => {
    const reasons = Object.fromEntries(report.skipped.map((s) => [s.id, s.reason]));
    expect(reasons['README.txt']).toMatch(/not a DICOM, PNG or JPEG/);
    expect(reasons['png/unlabelled.png']).toMatch(/no row in labels\.csv/);
    expect(reasons['png/gone.png']).toMatch(/not found/);
    expect(reasons['dicom/broken.dcm']).toMatch(/^every model: InvalidDicomError/);
    expect(report.skipped).toHaveLength(4);
  });

  it('when the report is written, then the markdown, JSON and every plot are on disk', () => {
    const names = ['report.md', 'report.json', 'latency.svg', ...MODELS.flatMap((id) => [`roc-${id}.svg`, `calibration-${id}.svg`])];
    expect(files.map((f) => path.basename(f)).sort()).toEqual([...names].sort());
    for (const name of names) expect(fs.statSync(path.join(out, name)).size, name).toBeGreaterThan(500);
    for (const name of names.filter((n) => n.endsWith('.svg'))) expect(fs.readFileSync(path.join(out, name), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\n?$/);
    const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/\| AUROC \(95% CI, DeLong\) \|/);
    expect(md).toMatch(/pneumonia-cxr 1\.0\.0 \| nih-cxr-abnormal 1\.0\.0/);
    expect(md).toMatch(/decode \(DICOM\) p50 \/ p95 ms/);
    expect(md).toMatch(/README\.txt/);
  });
});

describe('labels from class folders', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-model-bench-folders-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('when folders are named by class and --positive names one, then the rest are negative and loose files are skipped', async () => {
    const png = fs.readFileSync(path.join(NIH_TEST, '0_normal', fs.readdirSync(path.join(NIH_TEST, '0_normal')).sort()[0]));
    for (const file of ['test/PNEUMONIA/a.png', 'test/PNEUMONIA/bacteria/b.png', 'test/NORMAL/c.png', 'loose.png', '1_sick/d.png']) {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), png);
    }
    const withPositive = await loadDataset({ data: root, positive: 'pneumonia', sharedRoot: sharedData });
    expect(Object.fromEntries(withPositive.cases.map((c) => [c.id, c.label]))).toEqual({ '1_sick/d.png': 1, 'test/NORMAL/c.png': 0, 'test/PNEUMONIA/a.png': 1, 'test/PNEUMONIA/bacteria/b.png': 1 });
    expect(withPositive.notes.join(' ')).toMatch(/"NORMAL"/);
    expect(withPositive.skipped).toEqual([{ id: 'loose.png', reason: expect.stringMatching(/not in a class folder/) }]);

    const without = await loadDataset({ data: root, sharedRoot: sharedData });
    expect(Object.fromEntries(without.cases.map((c) => [c.id, c.label]))).toEqual({ '1_sick/d.png': 1, 'test/NORMAL/c.png': 0 });
    expect(without.skipped.map((s) => s.id).sort()).toEqual(['loose.png', 'test/PNEUMONIA/a.png', 'test/PNEUMONIA/bacteria/b.png']);
  });
});
