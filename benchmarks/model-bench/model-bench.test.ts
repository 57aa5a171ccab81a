/**
 * The model-team harness on images nobody in the project has scored in this form: NIH
 * thumbnails re-written as DICOM files with fresh UIDs and as renamed PNGs in one flat
 * folder, labelled only by a CSV; and real NIH pneumonia films with patients, a made-up
 * view column, the same film as PNG and as DICOM, and a lateral DICOM the model's card does
 * not cover. Checks structure and consistency, never speed.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../config.ts';
import { atThreshold, auroc } from '../../tools/evaluation/metrics.ts';
import { writeNihPneumoniaSubset, type Subset } from '../../tools/evaluation/nih-pneumonia-subset.ts';
import { buildCr, buildPart10 } from '../../test/support/dicom-builder.ts';
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
      for (const id of MODELS) {
        // A model answers with a probability, or says why it is not applicable (e.g. its card needs an age the DICOM lacks).
        const r = c.results[id];
        if (r.probability === null) expect(r.notApplicable?.code, `${id} ${c.id}`).toMatch(/^[A-Z_]+$/);
        else expect(r.probability, `${id} ${c.id}`).toBeGreaterThanOrEqual(0);
      }
    }
    for (const m of report.models) {
      expect(m.n, m.id).toBe(report.cases.filter((c) => c.results[m.id].probability !== null).length);
      expect(m.analysis.applicability.notApplicable.length, m.id).toBe(report.cases.filter((c) => c.results[m.id].notApplicable).length);
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

  it('when images are DICOM or PNG, then each one a model ran on has decode, preprocess and inference timings', () => {
    for (const c of report.cases) {
      for (const id of MODELS) {
        if (c.results[id].probability === null) continue;
        expect(Object.keys(c.results[id].timingMs), `${id} ${c.id}`).toEqual(expect.arrayContaining(['decode', 'preprocess', 'inference']));
      }
    }
    for (const m of report.models) {
      for (const format of ['dicom', 'png'] as const) {
        const ran = report.cases.filter((c) => c.format === format && c.results[m.id].probability !== null).length;
        for (const stage of ['decode', 'preprocess', 'inference', 'total']) expect(m.latencyMs[format]?.[stage]?.n, `${m.id} ${format} ${stage}`).toBe(ran || undefined);
      }
    }
    expect(report.paths.join(' ')).toMatch(/readAssist/);
    // PNGs in a folder go through the card's own preprocessing, as a DICOM of the same pixels would.
    expect(report.paths.join(' ')).toMatch(/served path.*card's own preprocessing step/);
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
    expect(md).toMatch(/## Verdicts\n\n- \*\*pneumonia-cxr \d+\.\d+\.\d+\*\* .*(above|below|distinguishably from) chance/);
    expect(md).toMatch(/pneumonia-cxr 1\.1\.0 \| nih-cxr-abnormal 1\.1\.0/);
    expect(md).toMatch(/decode \(DICOM\) p50 \/ p95 ms/);
    expect(md).toMatch(/README\.txt/);
  });
});

describe('npm run bench:model on real films with patients, a view column and a lateral DICOM', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-model-bench-patients-'));
  const out = path.join(tmp, 'out');
  const MODEL = 'nih-cxr-abnormal';
  let subset: Subset;
  let report: ModelBenchReport;
  let files: string[];

  /** A CR of the film's own pixels (8-bit MONOCHROME2, no VOI window), with a View Position. */
  async function filmAsDicom(png: string, view: string): Promise<Uint8Array> {
    const { data: grey, info } = await sharp(png).flatten().greyscale().raw().toBuffer({ resolveWithObject: true });
    const uid = freshUidRoot();
    return buildPart10(EXPLICIT_VR_LE, '1.2.840.10008.5.1.4.1.1.1', `${uid}.3`, [
      { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.1' },
      { tag: 0x00080018, vr: 'UI', value: `${uid}.3` },
      { tag: 0x00080060, vr: 'CS', value: 'CR' },
      { tag: 0x00185101, vr: 'CS', value: view },
      { tag: 0x0020000d, vr: 'UI', value: `${uid}.1` },
      { tag: 0x0020000e, vr: 'UI', value: `${uid}.2` },
      { tag: 0x00280002, vr: 'US', value: 1 },
      { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
      { tag: 0x00280010, vr: 'US', value: info.height },
      { tag: 0x00280011, vr: 'US', value: info.width },
      { tag: 0x00280100, vr: 'US', value: 8 },
      { tag: 0x00280101, vr: 'US', value: 8 },
      { tag: 0x00280102, vr: 'US', value: 7 },
      { tag: 0x00280103, vr: 'US', value: 0 },
      { tag: 0x7fe00010, vr: 'OB', value: new Uint8Array(grey) },
    ]);
  }

  beforeAll(async () => {
    subset = writeNihPneumoniaSubset(tmp);
    const first = subset.rows[0];
    fs.mkdirSync(path.join(subset.folder, 'dicom'));
    fs.writeFileSync(path.join(subset.folder, 'dicom', 'same.dcm'), await filmAsDicom(path.join(subset.folder, first.file), 'PA'));
    fs.writeFileSync(path.join(subset.folder, 'dicom', 'lateral.dcm'), await filmAsDicom(path.join(subset.folder, first.file), 'LL'));
    fs.appendFileSync(path.join(subset.folder, 'labels.csv'), [
      `dicom/same.dcm,${first.label},${first.patient_id},${first.split},PA,${first.follow_up}`,
      `dicom/lateral.dcm,${first.label},${first.patient_id},${first.split},LL,${first.follow_up}`,
    ].join('\n') + '\n');
    ({ report, files } = await runModelBench({
      models: [MODEL], data: subset.folder, labels: path.join(subset.folder, 'labels.csv'), by: ['view', 'split'], aim: 0.75,
      sharedRoot: sharedData, modelsDir: path.join(repoRoot, 'models'), out,
    }));
  }, 60_000);
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const m = () => report.models[0];
  const answered = () => [...subset.rows, { ...subset.rows[0], file: 'dicom/same.dcm', view: 'PA' }];

  it('when the CSV has patient_id, then it names the patients without a flag, and the other columns are kept', () => {
    expect(report.dataset).toMatchObject({ n: subset.rows.length + 2, patientColumn: 'patient_id', columns: ['split', 'view', 'follow_up'], imagePrep: 'served' });
    expect(m().n).toBe(subset.rows.length + 1);
    expect(m().analysis.perPatient!.n).toBe(new Set(answered().map((r) => r.patient_id)).size);
  });

  it('when the same film arrives as PNG and as DICOM, then the model gives the same probability (the served preprocessing for both)', () => {
    const png = report.cases.find((c) => c.id === subset.rows[0].file)!.results[MODEL].probability!;
    const dcm = report.cases.find((c) => c.id === 'dicom/same.dcm')!.results[MODEL].probability!;
    expect(Math.abs(png - dcm)).toBeLessThan(6e-5); // the served finding is rounded to 4 decimals
  });

  /** Films the card's out-of-distribution check (1.1.0: ood_score above its threshold) refused: some served adult films score above it. */
  const outOfDistribution = () => m().analysis.applicability.notApplicable.filter((x) => x.id !== 'dicom/lateral.dcm');

  it('when a DICOM is a lateral view, then it is not applicable with the card\'s reason, has no probability, and counts in the share', () => {
    const a = m().analysis.applicability;
    expect(a.notApplicable.filter((x) => x.id === 'dicom/lateral.dcm')).toEqual([{ id: 'dicom/lateral.dcm', code: 'OUTSIDE_POPULATION_VIEW', text: expect.stringMatching(/view LL is not PA\/AP/), textZh: expect.any(String) }]);
    // every other refusal is the out-of-distribution check's, on a film the population gate let through
    for (const x of outOfDistribution()) {
      expect(x).toMatchObject({ code: 'OUT_OF_DISTRIBUTION', text: expect.stringMatching(/out-of-distribution score \d+\.\d > \d+\.\d/) });
      // the graph ran, so the case keeps its probability, marked not applicable and never positive
      expect(report.cases.find((c) => c.id === x.id)!.results[MODEL]).toMatchObject({ positive: false, notApplicable: { code: 'OUT_OF_DISTRIBUTION' } });
    }
    expect(a.notApplicableShare).toBeCloseTo(a.notApplicable.length / report.dataset.n, 12);
    expect(report.cases.find((c) => c.id === 'dicom/lateral.dcm')!.results[MODEL].probability).toBeNull();
    expect(m().analysis.applicable!.n).toBe(m().n - outOfDistribution().length);
    expect(m().analysis.verdict).toContain(`; ${Math.round((100 * a.notApplicable.length) / report.dataset.n)} % not applicable;`);
  });

  it('when broken down --by view and split, then each value has the hand-counted n, follow_up is left out, and view alone is a baseline on the same images', () => {
    const a = m().analysis;
    expect(a.breakdowns.map((b) => b.column)).toEqual(['view', 'split']);
    for (const view of ['AP', 'PA']) {
      const rows = answered().filter((r) => r.view === view);
      expect(a.breakdowns[0].groups.find((g) => g.value === view), view).toMatchObject({ n: rows.length, positives: rows.filter((r) => r.label === 1).length });
    }
    expect(a.breakdowns[1].groups.map((g) => [g.value, g.n])).toEqual([['test', answered().filter((r) => r.split === 'test').length], ['train', answered().filter((r) => r.split === 'train').length]]);
    const view = a.baselines.find((b) => b.column === 'view')!;
    expect(view.n).toBe(m().n);
    expect(view.model.value).toBeCloseTo(m().auroc.value, 12);
  });

  it('when the report is written, then the table, the verdict and the per-patient ROC curve are in it', () => {
    const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/\| AUROC per patient \(95% CI\) \| [01]\.\d{3} \(/);
    expect(md).toContain(`| not applicable | ${m().analysis.applicability.notApplicable.length} (`);
    expect(md).toMatch(/\| strongest metadata alone \(AUROC\) \| (view|split) /);
    expect(md).toContain(`**Verdict:** ${m().analysis.verdict}`);
    expect(m().analysis.verdict).toMatch(/per patient, n=\d+[;)].*0\.75 aim/);
    expect(md).toMatch(/\| `dicom\/lateral\.dcm` \| OUTSIDE_POPULATION_VIEW \|/);
    expect(fs.readFileSync(path.join(out, `roc-${MODEL}.svg`), 'utf8')).toMatch(/per patient \(n=\d+\): AUROC/);
    expect(files.map((f) => path.basename(f))).toContain('latency.svg');
  });

  it('when --patient-column names a column the CSV lacks, then loading refuses', async () => {
    await expect(loadDataset({ data: subset.folder, labels: path.join(subset.folder, 'labels.csv'), patientColumn: 'subject', sharedRoot: sharedData })).rejects.toThrow(/--patient-column subject is not a column/);
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
