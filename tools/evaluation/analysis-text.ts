/**
 * An Analysis in words, the same in `npm run eval` and `npm run bench:model`: the one-line
 * verdict built only from its numbers, and the markdown sections of each report.
 */
import type { Analysis } from './analysis.ts';
import { CLOSE } from './subgroups.ts';

/** The metadata column that alone ranks the label best, leaving out columns that restate it. */
export const strongestBaseline = (a: Pick<Analysis, 'baselines'>) => a.baselines.filter((b) => !b.restatesLabel).sort((x, y) => y.auroc.value - x.auroc.value)[0];

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
  const best = strongestBaseline(a);
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
