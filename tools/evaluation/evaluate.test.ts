/**
 * `npm run eval` on films listed in a CSV (image-csv): nih-cxr-abnormal, a real model, on a
 * slice of the real NIH pneumonia films with patients and a made-up `view` column. The
 * story a model team follows: per-image metrics with patient-respecting CIs, per-patient
 * metrics the drift test can hold a card to, breakdowns and a baseline by view, a verdict,
 * and the report files with the per-patient ROC curve.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../config.ts';
import { modelCardSchema } from '../../inference/model-card.ts';
import { compareWithCard } from './card-metrics.ts';
import { evaluateModel, type EvaluationReport } from './evaluate.ts';
import { writeNihPneumoniaSubset, type Subset } from './nih-pneumonia-subset.ts';
import { writeReport } from './report.ts';

const modelDir = path.join(repoRoot, 'models', 'nih-cxr-abnormal');

describe('npm run eval on an image-csv dataset with patients and a view column', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-eval-image-csv-'));
  let subset: Subset;
  let report: EvaluationReport;
  let files: string[];

  beforeAll(async () => {
    subset = writeNihPneumoniaSubset(tmp);
    report = await evaluateModel(modelDir, {
      dataRoot: tmp,
      evaluation: {
        metricsSplit: `subset test (n=${subset.test.length} images)`,
        label: 'abnormal',
        aim: 0.75,
        dataset: { kind: 'image-csv', path: subset.csv, fileColumn: 'file', labelColumn: 'label', patientColumn: 'patient_id', splitColumn: 'split', split: 'test' },
      },
    });
    files = writeReport(report, path.join(tmp, 'out'));
  }, 60_000);
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const patientsOf = (rows: Subset['rows']) => new Set(rows.map((r) => r.patient_id));

  it('when the test rows are scored, then every test film counts once per image and once per patient', () => {
    expect(report.dataset.n).toBe(subset.test.length);
    expect(report.runtime).toMatch(/serving preprocessing grey-square@1/);
    expect(report.patients!.n).toBe(patientsOf(subset.test).size);
    expect(report.patients!.metrics.map((m) => m.name)).toEqual(expect.arrayContaining(['AUROC (per patient)', 'sensitivity@operating-point (per patient)', 'specificity@operating-point (per patient)']));
    expect(report.patients!.metrics.find((m) => m.name === 'AUROC (per patient)')!.n).toBe(patientsOf(subset.test).size);
    // Patient 00002474 has a negative and a positive film: one positive patient.
    expect(report.analysis!.perPatient!.patients.find((p) => p.patient === '00002474')).toMatchObject({ images: 2, label: 1 });
  });

  it('when patients are known, then per-image AUROC and operating-point metrics carry a patient-clustered CI beside DeLong/Wilson', () => {
    for (const name of ['AUROC', 'sensitivity@operating-point', 'specificity@operating-point', 'accuracy@0.5']) {
      const m = report.metrics.find((x) => x.name === name)!;
      expect(m.ci95PatientClustered, name).toHaveLength(2);
      expect(m.ci95PatientClustered![0], name).toBeLessThanOrEqual(m.value);
    }
    expect(report.analysis!.perImage.clustered!.method).toMatch(/2000 bootstrap resamples of the \d+ patients/);
  });

  it('when broken down by the view column, then each view has the hand-counted n and positives, and view alone is a baseline beside the model', () => {
    const b = report.analysis!.breakdowns.find((x) => x.column === 'view')!;
    for (const view of ['AP', 'PA']) {
      const rows = subset.test.filter((r) => r.view === view);
      expect(b.groups.find((g) => g.value === view), view).toMatchObject({ n: rows.length, positives: rows.filter((r) => r.label === 1).length });
    }
    const base = report.analysis!.baselines.find((x) => x.column === 'view')!;
    expect(base.n).toBe(subset.test.length);
    expect(base.scoring).toMatch(/in-sample, so optimistic/);
    expect(base.model.value).toBeCloseTo(report.auroc.value, 12);
    expect(report.analysis!.baselines.find((x) => x.column === 'follow_up')?.kind).toBe('numeric');
  });

  it('when the report is written, then it opens with a verdict from the numbers and plots the per-patient ROC curve', () => {
    const md = fs.readFileSync(files.find((f) => f.endsWith('report.md'))!, 'utf8');
    const verdict = report.analysis!.verdict;
    expect(verdict).toMatch(new RegExp(`AUROC ${report.patients!.auroc.value.toFixed(2)}, .* per patient, n=${report.patients!.n}`));
    expect(verdict).toMatch(/0\.75 aim/);
    expect(verdict).toMatch(/(view|follow_up) alone reaches/);
    expect(md).toContain(`**Verdict:** nih-cxr-abnormal ${verdict}`);
    expect(md).toMatch(/## Per patient \(`patient_id`\)[\s\S]*highest probability among their images/);
    expect(md).toMatch(/## Metadata-only baselines[\s\S]*\| view \|/);
    expect(fs.readFileSync(path.join(tmp, 'out', 'report-roc.svg'), 'utf8')).toMatch(/per patient \(n=\d+\): AUROC/);
    const json = JSON.parse(fs.readFileSync(path.join(tmp, 'out', 'report.json'), 'utf8'));
    expect(json.verdict).toBe(verdict);
    expect(json.predictions[0]).toHaveProperty('patient');
  });

  it('when a card claims per-patient metrics on a "per patient" split, then they are compared like the per-image ones, patient count included', () => {
    const card = JSON.parse(fs.readFileSync(path.join(modelDir, 'model.json'), 'utf8'));
    const auc = report.patients!.metrics.find((m) => m.name === 'AUROC (per patient)')!;
    const split = `subset test (patient-disjoint, per patient, n=${report.patients!.n} patients)`;
    card.metrics.push(
      { name: 'AUROC (per patient)', split, value: Math.round(auc.value * 1e4) / 1e4, n: auc.n },
      { name: 'sensitivity@operating-point (per patient)', split: split.replace(/n=\d+/, 'n=999'), value: 0.5 },
      { name: 'Brier (per patient)', split, value: 0.9 },
      { name: 'AUC-PR (per patient)', split, value: 0.5 },
    );
    const parsed = modelCardSchema.parse(card);
    const all = [...report.metrics, ...report.patients!.metrics];
    const byName = Object.fromEntries(compareWithCard(parsed, report.spec.metricsSplit, all, report.patients!.n).map((c) => [c.name, c.status]));
    expect(byName).toEqual({
      'AUROC (per patient)': 'ok',
      'sensitivity@operating-point (per patient)': 'n-differs',
      'Brier (per patient)': 'drift',
      'AUC-PR (per patient)': 'not-recomputed',
    });
  });
});
