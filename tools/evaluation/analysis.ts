/**
 * Everything a model team reads beside a card's AUROC, from one model's per-image
 * probabilities, computed the same way for `npm run eval` and `npm run bench:model`:
 *
 *   per image (all images with a probability; CIs clustered by patient when patients are known)
 *   → per patient (PATIENT_RULE)
 *   → applicability (refer-band share, not-applicable share and list, metrics on the applicable images)
 *   → breakdowns and metadata-only baselines by every extra CSV column (subgroups.ts)
 *   → a plain-language verdict derived from those numbers.
 */
import {
  PATIENT_RULE, atThreshold, aurocValue, auroc, clusterBootstrap, patientLevel, rocCurve,
  type Auroc, type BootstrapInterval, type ClusterBootstrapOptions, type RocPoint, type ThresholdMetrics,
} from './metrics.ts';
import { CLOSE, atThresholdSafe, breakdown, chooseColumns, metadataBaseline, type AtThreshold, type Baseline, type Breakdown, type Column, type SkippedColumn } from './subgroups.ts';

/** Why one image is not applicable: a code and the reason in English and Chinese, as a served finding gives it. */
export interface NotApplicableReason { code: string; text: string; textZh?: string }

export interface AnalysisInput {
  /** The card label being scored, e.g. "pneumonia". */
  label: string;
  ids: readonly string[];
  /** null: the model gave no probability (not applicable before it ran, e.g. the DICOM population gate). */
  probabilities: ArrayLike<number | null>;
  labels: ArrayLike<number>;
  /** Per image: why it is not applicable, or undefined. */
  notApplicable: readonly (NotApplicableReason | undefined)[];
  /** How applicability was checked, in words; undefined when it was not. */
  applicabilityCheck?: string;
  operatingPoint: { name: string; threshold: number };
  /** The card's refer band for the label: p in [low, high) is referred, not hinted. */
  referBand?: { low: number; high: number };
  patients?: { column: string; ids: readonly string[] };
  /** Extra CSV columns, one cell per image. */
  columns?: Record<string, Column>;
  /** Only these columns (`--by`). */
  by?: readonly string[];
  /** The AUROC the team aims for; the verdict holds the lower CI bound against it. */
  aim?: number;
  /** Further thresholds whose patient-clustered CIs are wanted (the operating point is always included). */
  thresholds?: readonly number[];
  bootstrap?: ClusterBootstrapOptions;
}

export interface ClusteredThreshold { threshold: number; accuracy: BootstrapInterval; sensitivity: BootstrapInterval; specificity: BootstrapInterval }

export interface Clustered {
  method: string;
  clusters: number;
  resamples: number;
  seed: number;
  auroc: BootstrapInterval;
  thresholds: ClusteredThreshold[];
}

export interface Analysis {
  label: string;
  /** Every image, applicable or not. */
  n: number;
  perImage: {
    /** Images with a probability: the denominator of every per-image metric. */
    n: number;
    positives: number;
    auroc: Auroc;
    atOperatingPoint: ThresholdMetrics;
    /** Patient-clustered bootstrap CIs, when patients are known. */
    clustered?: Clustered;
  };
  perPatient?: {
    column: string;
    rule: string;
    n: number;
    positives: number;
    /** Patients with more than one image. */
    multiImage: number;
    auroc?: Auroc;
    atOperatingPoint: AtThreshold;
    roc?: RocPoint[];
    patients: { patient: string; images: number; label: number; score: number }[];
  };
  applicability: {
    check?: string;
    notApplicable: { id: string; code: string; text: string; textZh?: string }[];
    /** Share of all images. */
    notApplicableShare: number;
    referBand?: { low: number; high: number };
    /** Applicable images whose probability is in the refer band (as served: not-applicable images get no answer). */
    referred: number;
    /** Share of all images. */
    referredShare: number;
    /** Share of all images with a probability in the band, applicable or not: the card's `referBandEffect.referredFraction`. */
    referredShareIgnoringApplicability?: number;
  };
  /** The applicable images with a probability (absent when no image is not applicable). */
  applicable?: { n: number; positives: number; auroc?: Auroc; atOperatingPoint: AtThreshold };
  breakdowns: Breakdown[];
  skippedColumns: SkippedColumn[];
  baselines: Baseline[];
  verdict: string;
}

export function analyse(input: AnalysisInput): Analysis {
  const n = input.labels.length;
  const scored = indices(n, (i) => input.probabilities[i] !== null);
  const p = scored.map((i) => input.probabilities[i] as number);
  const y = scored.map((i) => input.labels[i]);
  const positives = sum(y);
  const threshold = input.operatingPoint.threshold;

  const patientIds = input.patients ? scored.map((i) => input.patients!.ids[i]) : undefined;
  let clustered: Clustered | undefined;
  if (patientIds && new Set(patientIds).size >= 2) clustered = clusteredCis(p, y, patientIds, [threshold, ...(input.thresholds ?? [])], input.bootstrap);

  let perPatient: Analysis['perPatient'];
  if (input.patients && patientIds) {
    const level = patientLevel(p, y, patientIds);
    const pos = sum(level.labels);
    const both = pos >= 2 && level.labels.length - pos >= 2;
    perPatient = {
      column: input.patients.column,
      rule: PATIENT_RULE,
      n: level.patients.length,
      positives: pos,
      multiImage: level.images.filter((k) => k > 1).length,
      ...(both ? { auroc: auroc(level.scores, level.labels), roc: rocCurve(level.scores, level.labels) } : {}),
      atOperatingPoint: atThresholdSafe(level.scores, level.labels, threshold),
      patients: level.patients.map((patient, j) => ({ patient, images: level.images[j], label: level.labels[j], score: level.scores[j] })),
    };
  }

  const notApplicable = input.ids.flatMap((id, i) => (input.notApplicable[i] ? [{ id, ...input.notApplicable[i]! }] : []));
  const band = input.referBand;
  const inBand = (q: number | null) => band !== undefined && q !== null && q >= band.low && q < band.high;
  const referred = indices(n, (i) => !input.notApplicable[i] && inBand(input.probabilities[i])).length;
  const applicableIdx = scored.filter((i) => !input.notApplicable[i]);
  let applicable: Analysis['applicable'];
  if (notApplicable.length > 0) {
    const ap = applicableIdx.map((i) => input.probabilities[i] as number);
    const ay = applicableIdx.map((i) => input.labels[i]);
    const apos = sum(ay);
    applicable = {
      n: applicableIdx.length,
      positives: apos,
      ...(apos >= 2 && ay.length - apos >= 2 ? { auroc: auroc(ap, ay) } : {}),
      atOperatingPoint: atThresholdSafe(ap, ay, threshold),
    };
  }

  const columns = input.columns ?? {};
  const scoredColumns = Object.fromEntries(Object.entries(columns).map(([c, cells]) => [c, scored.map((i) => cells[i])]));
  const choice = chooseColumns(scoredColumns, input.by);
  const breakdowns = choice.used.map((c) => breakdown(c, scoredColumns[c], p, y, threshold));
  const baselines = choice.used.flatMap((c) => metadataBaseline(c, scoredColumns[c], p, y) ?? []);

  const analysis: Omit<Analysis, 'verdict'> = {
    label: input.label,
    n,
    perImage: { n: scored.length, positives, auroc: auroc(p, y), atOperatingPoint: atThreshold(p, y, threshold), ...(clustered ? { clustered } : {}) },
    ...(perPatient ? { perPatient } : {}),
    applicability: {
      ...(input.applicabilityCheck ? { check: input.applicabilityCheck } : {}),
      notApplicable,
      notApplicableShare: n ? notApplicable.length / n : 0,
      ...(band ? { referBand: band, referredShareIgnoringApplicability: p.filter((q) => inBand(q)).length / (p.length || 1) } : {}),
      referred,
      referredShare: n ? referred / n : 0,
    },
    ...(applicable ? { applicable } : {}),
    breakdowns,
    skippedColumns: choice.skipped,
    baselines,
  };
  return { ...analysis, verdict: verdict(analysis, input.aim) };
}

/**
 * Patient-clustered percentile bootstrap of AUROC and of accuracy, sensitivity and
 * specificity at each threshold, all from the same resamples.
 */
export function clusteredCis(scores: ArrayLike<number>, labels: ArrayLike<number>, patients: ArrayLike<string>, thresholds: readonly number[], options: ClusterBootstrapOptions = {}): Clustered {
  const ts = [...new Set(thresholds)];
  const boot = clusterBootstrap(patients, (idx) => {
    const out = [aurocValue(scores, labels, idx)];
    for (const t of ts) {
      let tp = 0, fn = 0, tn = 0, fp = 0;
      for (const i of idx) {
        const positive = scores[i] >= t;
        if (labels[i] === 1) positive ? tp++ : fn++;
        else positive ? fp++ : tn++;
      }
      out.push((tp + tn) / idx.length, tp + fn ? tp / (tp + fn) : Number.NaN, tn + fp ? tn / (tn + fp) : Number.NaN);
    }
    return out;
  }, options);
  const [a, ...rest] = boot.intervals;
  return {
    method: `percentile 95% CI from ${boot.draws} bootstrap resamples of the ${boot.clusters} patients (whole patients drawn with replacement, seed ${boot.seed}; resamples where a class is absent are left out)`,
    clusters: boot.clusters,
    resamples: boot.draws,
    seed: boot.seed,
    auroc: a,
    thresholds: ts.map((threshold, j) => ({ threshold, accuracy: rest[3 * j], sensitivity: rest[3 * j + 1], specificity: rest[3 * j + 2] })),
  };
}

const pct = (x: number) => (x > 0 && x < 0.01 ? '<1 %' : `${Math.round(x * 100)} %`);
const f2 = (x: number) => x.toFixed(2);

/**
 * One plain-language line per model, built only from the numbers: whether it ranks the
 * label above chance (per-patient AUROC and CI when patients are known, else per image
 * with the patient-clustered CI, else DeLong), how much is referred and not applicable,
 * the aim against the lower CI bound, and the strongest metadata column alone.
 */
export function verdict(a: Omit<Analysis, 'verdict'>, aim?: number): string {
  const basis = a.perPatient?.auroc
    ? { value: a.perPatient.auroc.value, ci: a.perPatient.auroc.ci95, where: `per patient, n=${a.perPatient.n}` }
    : a.perImage.clustered
      ? { value: a.perImage.auroc.value, ci: a.perImage.clustered.auroc.ci95, where: `per image, patient-clustered CI, n=${a.perImage.n}` }
      : { value: a.perImage.auroc.value, ci: a.perImage.auroc.ci95, where: `per image, n=${a.perImage.n}` };
  const [lo, hi] = basis.ci;
  const auc = `AUROC ${f2(basis.value)}, ${f2(lo)}–${f2(hi)} ${basis.where}`;
  const parts = [
    lo > 0.5 ? `ranks ${a.label} above chance (${auc})`
      : hi < 0.5 ? `ranks ${a.label} below chance, inverted (${auc})`
        : `does not rank ${a.label} distinguishably from chance (${auc}; the CI includes 0.5)`,
  ];
  if (a.perPatient?.auroc && a.perImage.auroc) parts.push(`${f2(a.perImage.auroc.value)} per image`);
  const op = a.perImage.atOperatingPoint;
  parts.push(`at the operating point sensitivity ${f2(op.sensitivity.value)}, specificity ${f2(op.specificity.value)}`);
  parts.push(a.applicability.referBand ? `${pct(a.applicability.referredShare)} referred` : 'no refer band');
  parts.push(a.applicability.check !== undefined ? `${pct(a.applicability.notApplicableShare)} not applicable` : 'applicability not checked');
  if (aim !== undefined) {
    parts.push(lo >= aim ? `clears the ${f2(aim)} aim at the lower CI bound`
      : basis.value >= aim ? `meets the ${f2(aim)} aim on the point estimate but not at the lower CI bound (${f2(lo)})`
        : `below the ${f2(aim)} aim`);
  }
  const best = a.baselines.filter((b) => !b.restatesLabel).sort((x, y) => y.auroc.value - x.auroc.value)[0];
  if (best) {
    const gap = best.auroc.value - best.model.value;
    parts.push(`${best.column} alone reaches ${f2(best.auroc.value)}${gap > CLOSE ? ', better than the model on the same images' : gap >= -CLOSE ? ', about as well as the model' : ''}`);
  }
  return `${parts.join('; ')}.`;
}

const f3 = (x: number) => x.toFixed(3);
const ci = (c: readonly [number, number]) => (Number.isNaN(c[0]) ? '–' : `${f3(c[0])}–${f3(c[1])}`);
const prop = (p?: { value: number; ci95: [number, number]; k: number; n: number }) => (p ? `${f3(p.value)} (${ci(p.ci95)}) ${p.k}/${p.n}` : '–');

/**
 * The analysis as markdown sections (`level` = heading level), for both reports: per
 * patient, applicability, breakdowns, metadata-only baselines. The verdict is placed by
 * the caller, at the top of its model's section.
 */
export function analysisMarkdown(a: Analysis, level = '##'): string[] {
  const lines: string[] = [];
  const op = a.perImage.atOperatingPoint;
  if (a.perImage.clustered) {
    const c = a.perImage.clustered;
    const t = c.thresholds[0];
    lines.push(`${level} Per image, CIs that respect patients`, '',
      `Images of one patient are correlated, so the DeLong and Wilson intervals (which take images as independent) are too narrow; these resample whole patients: ${c.method}.`, '',
      '| metric | value | 95% CI (independent images) | 95% CI (patient-clustered bootstrap) |', '|---|---|---|---|',
      `| AUROC | ${f3(a.perImage.auroc.value)} | ${ci(a.perImage.auroc.ci95)} (DeLong) | ${ci(c.auroc.ci95)} |`,
      `| sensitivity at p >= ${f3(t.threshold)} | ${f3(op.sensitivity.value)} | ${ci(op.sensitivity.ci95)} (Wilson) | ${ci(t.sensitivity.ci95)} |`,
      `| specificity at p >= ${f3(t.threshold)} | ${f3(op.specificity.value)} | ${ci(op.specificity.ci95)} (Wilson) | ${ci(t.specificity.ci95)} |`,
      `| accuracy at p >= ${f3(t.threshold)} | ${f3(op.accuracy.value)} | ${ci(op.accuracy.ci95)} (Wilson) | ${ci(t.accuracy.ci95)} |`, '');
  }
  if (a.perPatient) {
    const pp = a.perPatient;
    lines.push(`${level} Per patient (\`${pp.column}\`)`, '',
      `Rule: ${pp.rule}. ${pp.n} patients (${pp.positives} positive, ${pp.n - pp.positives} negative), ${pp.multiImage} with more than one image.`, '',
      '| metric | value | 95% CI |', '|---|---|---|',
      `| AUROC (per patient) | ${pp.auroc ? f3(pp.auroc.value) : '–'} | ${pp.auroc ? `${ci(pp.auroc.ci95)} (DeLong)` : 'needs ≥ 2 patients of each class'} |`,
      `| sensitivity at p >= ${f3(pp.atOperatingPoint.threshold)} (per patient) | ${prop(pp.atOperatingPoint.sensitivity)} | Wilson |`,
      `| specificity at p >= ${f3(pp.atOperatingPoint.threshold)} (per patient) | ${prop(pp.atOperatingPoint.specificity)} | Wilson |`, '');
  }
  const ap = a.applicability;
  lines.push(`${level} Applicability and refer band`, '',
    `- Checked: ${ap.check ?? 'not checked (the model declares no out-of-distribution output and the inputs carry no DICOM attributes)'}.`,
    `- Not applicable: ${ap.notApplicable.length} of ${a.n} images (${pct(ap.notApplicableShare)}).`,
    ap.referBand
      ? `- Referred (applicable images with p in the card's refer band [${ap.referBand.low}, ${ap.referBand.high})): ${ap.referred} of ${a.n} images (${pct(ap.referredShare)}); ignoring applicability, as the card's \`referBandEffect\` counts: ${pct(ap.referredShareIgnoringApplicability ?? 0)} of the ${a.perImage.n} images with a probability.`
      : '- The card has no refer band for this label.',
    `- Metrics on all ${a.perImage.n} images with a probability are the card's kind; on the applicable images only: ${a.applicable
      ? `n = ${a.applicable.n} (${a.applicable.positives} positive), AUROC ${a.applicable.auroc ? `${f3(a.applicable.auroc.value)} (${ci(a.applicable.auroc.ci95)}, DeLong)` : '– (needs ≥ 2 of each class)'}, sensitivity ${prop(a.applicable.atOperatingPoint.sensitivity)}, specificity ${prop(a.applicable.atOperatingPoint.specificity)}`
      : 'the same images (no image is not applicable)'}.`, '');
  if (ap.notApplicable.length > 0) {
    lines.push('| image | code | reason |', '|---|---|---|', ...ap.notApplicable.map((x) => `| \`${x.id}\` | ${x.code} | ${x.text.replace(/\|/g, '\\|')} |`), '');
  }
  if (a.breakdowns.length > 0 || a.skippedColumns.length > 0) {
    lines.push(`${level} Breakdowns by column`, '',
      `Per value: n, positives, AUROC (DeLong 95% CI, images as independent) when both classes have ≥ 5 images, sensitivity and specificity at p >= ${f3(op.threshold)} (Wilson 95% CI).`, '');
    for (const b of a.breakdowns) {
      lines.push(`**${b.column}** (${b.kind}; ${b.grouping})`, '', '| value | n | positives | AUROC (95% CI) | sensitivity | specificity |', '|---|---|---|---|---|---|',
        ...b.groups.map((g) => `| ${g.value} | ${g.n} | ${g.positives} | ${g.auroc ? `${f3(g.auroc.value)} (${ci(g.auroc.ci95)})` : '–'} | ${prop(g.sensitivity)} | ${prop(g.specificity)} |`), '');
    }
    for (const s of a.skippedColumns) lines.push(`- \`${s.column}\` skipped: ${s.why}.`);
    if (a.skippedColumns.length > 0) lines.push('');
  }
  if (a.baselines.length > 0) {
    lines.push(`${level} Metadata-only baselines`, '',
      'How well each column alone predicts the label, beside the model on the same images. Categorical columns are scored by their positive rate in these same images (in-sample, so optimistic: the best any rule on that column could do here); numeric columns by their value, in the direction that ranks better (stated).', '',
      '| column | n | column alone AUROC (95% CI) | model AUROC, same images | scoring | |', '|---|---|---|---|---|---|',
      ...a.baselines.map((b) => `| ${b.column} | ${b.n} | ${f3(b.auroc.value)} (${ci(b.auroc.ci95)}) | ${f3(b.model.value)} | ${b.scoring} | ${b.comparison} |`), '');
  }
  return lines;
}

function indices(n: number, keep: (i: number) => boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (keep(i)) out.push(i);
  return out;
}

const sum = (xs: ArrayLike<number>) => { let s = 0; for (let i = 0; i < xs.length; i++) s += xs[i]; return s; };
