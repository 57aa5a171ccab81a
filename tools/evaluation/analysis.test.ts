/**
 * The report's analysis on nih-cxr-abnormal's 200 real test predictions (Python evaluation,
 * models/nih-cxr-abnormal/evaluation/test-predictions.csv), which carry each image's patient
 * and whether that patient also had images in train: per patient, patient-clustered CIs,
 * the refer band, breakdowns, metadata-only baselines and the verdict, each checked against
 * the card's own figures or against counts made by hand.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { outOfDistributionReason } from '../../inference/applicability.ts';
import { analyse, type AnalysisInput } from './analysis.ts';
import { auroc } from './metrics.ts';
import { breakdown, chooseColumns, metadataBaseline } from './subgroups.ts';

const here = dirname(fileURLToPath(import.meta.url));
const card = JSON.parse(readFileSync(join(here, '../../models/nih-cxr-abnormal/model.json'), 'utf8'));
const [header, ...rows] = readFileSync(join(here, '../../models/nih-cxr-abnormal/evaluation/test-predictions.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
const col = (name: string) => rows.map((r) => r[header.indexOf(name)]);
const probabilities = col('probability').map(Number);
const labels = col('label').map(Number);
const patients = col('patient');
const band = card.referBands[0];

const base: AnalysisInput = {
  label: 'abnormal',
  ids: col('file'),
  probabilities,
  labels,
  notApplicable: rows.map(() => undefined),
  operatingPoint: { name: card.operatingPoints[0].name, threshold: card.operatingPoints[0].threshold },
  referBand: { low: band.low, high: band.high },
  patients: { column: 'patient', ids: patients },
  columns: { patientInTrain: col('patientInTrain'), file: col('file'), note: rows.map((_, i) => (i < 30 ? 'portable' : '')) },
};

describe('analysis of nih-cxr-abnormal\'s real test predictions', () => {
  const a = analyse(base);

  it('when images are grouped by patient, then there are the card\'s 59 test patients and the per-patient AUROC uses the max rule', () => {
    expect(a.perPatient).toMatchObject({ column: 'patient', n: 59 });
    expect(a.perPatient!.rule).toMatch(/highest probability.*any of their images/);
    const byPatient = new Map<string, { p: number; y: number }>();
    patients.forEach((id, i) => {
      const was = byPatient.get(id) ?? { p: -1, y: 0 };
      byPatient.set(id, { p: Math.max(was.p, probabilities[i]), y: Math.max(was.y, labels[i]) });
    });
    const again = auroc([...byPatient.values()].map((v) => v.p), [...byPatient.values()].map((v) => v.y));
    expect(a.perPatient!.auroc!.value).toBeCloseTo(again.value, 12);
    expect(a.perPatient!.positives).toBe(again.nPos);
  });

  it('when CIs respect patients, then the per-image AUROC interval is the card\'s patient-clustered one, give or take bootstrap noise', () => {
    const claimed = card.metrics.find((m: { name: string }) => m.name === 'AUROC').ci95PatientClustered;
    expect(a.perImage.clustered!.clusters).toBe(59);
    expect(a.perImage.clustered!.resamples).toBeGreaterThanOrEqual(2000);
    expect(Math.abs(a.perImage.clustered!.auroc.ci95[0] - claimed[0])).toBeLessThan(0.03);
    expect(Math.abs(a.perImage.clustered!.auroc.ci95[1] - claimed[1])).toBeLessThan(0.03);
  });

  it('when the refer band is applied, then the referred share is the card\'s referBandEffect', () => {
    expect(a.applicability.referredShare).toBeCloseTo(card.referBandEffect.referredFraction, 4);
    expect(a.applicability.referredShareIgnoringApplicability).toBeCloseTo(card.referBandEffect.referredFraction, 4);
    expect(a.applicable).toBeUndefined();
  });

  it('when broken down by patientInTrain, then the images of patients absent from train give the card\'s "patients not in train" AUROC on n=137', () => {
    const b = a.breakdowns.find((x) => x.column === 'patientInTrain')!;
    const absent = b.groups.find((g) => g.value === '0')!;
    const claim = card.metrics.find((m: { name: string }) => m.name === 'AUROC (patients not in train)');
    expect(absent.n).toBe(claim.n);
    expect(absent.auroc!.value).toBeCloseTo(claim.value, 3);
    // The 63 images of patients seen in train are all abnormal: no AUROC there, no specificity.
    const seen = b.groups.find((g) => g.value === '1')!;
    expect(seen).toMatchObject({ n: 63, positives: 63 });
    expect(seen).not.toHaveProperty('auroc');
    expect(seen).not.toHaveProperty('specificity');
  });

  it('when a column is mostly empty or an identifier, then it is skipped with the reason', () => {
    expect(a.skippedColumns).toEqual([
      { column: 'file', why: '200 different values in 200 rows: an identifier, not a grouping' },
      { column: 'note', why: 'empty for 170 of 200 rows' },
    ]);
  });

  it('when patientInTrain alone predicts the label, then the baseline shows it beating the model, and the verdict says so', () => {
    const b = a.baselines.find((x) => x.column === 'patientInTrain')!;
    // Hand count: absent 37/137 positive, seen 63/63; scored by those rates.
    expect(b.scoring).toMatch(/0 37\/137, 1 63\/63.*in-sample, so optimistic/);
    expect(b.auroc.value).toBeCloseTo(0.815, 10);
    expect(b.model.value).toBeCloseTo(0.6259, 4);
    expect(b.comparison).toMatch(/patientInTrain alone \(0\.81\) ranks better than the model \(0\.63\)/);
    expect(a.verdict).toMatch(/patientInTrain alone reaches 0\.81, better than the model/);
  });

  it('when the per-patient CI includes 0.5, then the verdict does not call the model better than chance', () => {
    const [lo, hi] = a.perPatient!.auroc!.ci95;
    expect(lo).toBeLessThan(0.5);
    expect(hi).toBeGreaterThan(0.5);
    expect(a.verdict).toMatch(/^does not rank abnormal distinguishably from chance \(AUROC 0\.51, 0\.36–0\.67 per patient, n=59; the CI includes 0\.5\)/);
    expect(a.verdict).toMatch(/94 % referred; applicability not checked/);
    expect(analyse({ ...base, aim: 0.75 }).verdict).toMatch(/below the 0\.75 aim/);
  });
});

describe('not-applicable images', () => {
  // The card's out-of-distribution rule with a threshold, scores made up: every 10th image is far out.
  const ood = { output: 'ood_score', threshold: 3, method: 'test', thresholdRule: 'test' };
  const notApplicable = probabilities.map((_, i) => outOfDistributionReason(ood, i % 10 === 0 ? 5 : 1));

  it('when the OOD score flags 20 of 200 images, then they are listed with the reason, are 10 %, get no refer, and the applicable subset has n=180', () => {
    const a = analyse({ ...base, notApplicable, applicabilityCheck: 'ood_score > 3' });
    expect(a.applicability.notApplicable).toHaveLength(20);
    expect(a.applicability.notApplicable[0]).toMatchObject({ id: col('file')[0], code: 'OUT_OF_DISTRIBUTION' });
    expect(a.applicability.notApplicableShare).toBe(0.1);
    const referredOutside = probabilities.filter((p, i) => i % 10 !== 0 && p >= band.low && p < band.high).length;
    expect(a.applicability.referred).toBe(referredOutside);
    expect(a.applicable!.n).toBe(180);
    expect(a.applicable!.auroc!.value).toBeCloseTo(auroc(probabilities.filter((_, i) => i % 10), labels.filter((_, i) => i % 10)).value, 12);
    // All images stay in the card's kind of metric.
    expect(a.perImage.n).toBe(200);
    expect(a.verdict).toMatch(/10 % not applicable/);
  });

  it('when a DICOM gate left images without a probability, then they count as not applicable and drop out of every metric\'s n', () => {
    const a = analyse({
      ...base,
      probabilities: probabilities.map((p, i) => (i < 4 ? null : p)),
      notApplicable: probabilities.map((_, i) => (i < 4 ? { code: 'OUTSIDE_POPULATION_VIEW', text: 'view LL is not PA/AP' } : undefined)),
      applicabilityCheck: 'population gate',
    });
    expect(a.n).toBe(200);
    expect(a.perImage.n).toBe(196);
    expect(a.applicable!.n).toBe(196);
    expect(a.applicability.notApplicable.map((x) => x.code)).toEqual(Array(4).fill('OUTSIDE_POPULATION_VIEW'));
    expect(a.verdict).toMatch(/2 % not applicable/);
  });
});

describe('baselines and breakdowns on their own', () => {
  const y = labels;
  const p = probabilities;

  it('when a numeric column ranks the wrong way round, then it is turned and the direction stated', () => {
    const b = metadataBaseline('minus p', p.map((x) => String(-x)), p, y)!;
    expect(b.kind).toBe('numeric');
    expect(b.scoring).toMatch(/lower → more likely positive/);
    expect(b.auroc.value).toBeCloseTo(auroc(p, y).value, 12);
  });

  it('when a column is the label in other words, then it is flagged as restating it, not as a shortcut', () => {
    const b = metadataBaseline('finding', y.map((v) => (v ? 'abnormal' : 'no_finding')), p, y)!;
    expect(b.restatesLabel).toBe(true);
    expect(b.comparison).toMatch(/restates the label/);
  });

  it('when a numeric column has many values, then its breakdown is in quartile bins that hold every image', () => {
    const b = breakdown('p', p.map(String), p, y, 0.5);
    expect(b.kind).toBe('numeric');
    expect(b.groups).toHaveLength(4);
    expect(b.groups.reduce((s, g) => s + g.n, 0)).toBe(200);
  });

  it('when --by names a column that is not there, then it refuses instead of breaking down nothing', () => {
    expect(() => chooseColumns({ view: ['PA'] }, ['veiw'])).toThrow(/no column "veiw".*columns: view/);
  });
});
