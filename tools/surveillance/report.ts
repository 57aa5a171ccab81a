/**
 * The surveillance evaluation as a markdown report with its plots, and the summary table the CLI
 * prints. Everything the numbers depend on is stated in the report itself: the simulation, the
 * outbreaks, the definitions, the seed and the command.
 */
import fs from 'node:fs';
import path from 'node:path';
import { methodParamsFor } from '../../inference/surveillance/index.ts';
import type { EvaluationResult, FalseAlertRow, SensitivityRow } from './evaluate.ts';
import { SIMULATION } from './simulate.ts';
import { exampleSvg, falseAlertsSvg, sensitivitySvg } from './svg.ts';

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
const sens = (r: SensitivityRow) => `${pct(r.sensitivity.value)} (${pct(r.sensitivity.ci95[0])}–${pct(r.sensitivity.ci95[1])})`;
const delay = (r: SensitivityRow) => (r.medianDelay === undefined ? '–' : `${r.medianDelay} (${r.delayIqr![0]}–${r.delayIqr![1]})`);
const perMonth = (r: FalseAlertRow) => `${r.perMonth.toFixed(2)} (${r.ci95[0].toFixed(2)}–${r.ci95[1].toFixed(2)})`;

export interface RunFacts { command: string; seconds: number; date: string }

/** Method × size → sensitivity, false alerts per site-month, median days to detection: the table the issue asks for. */
export function summaryTable(result: EvaluationResult): string[] {
  const { sizes } = result.options;
  const lines = [
    `| method | ${sizes.map((s) => `sensitivity ${s}× (by chance)`).join(' | ')} | false alerts / site-month | ${sizes.map((s) => `days to detection ${s}× median (IQR)`).join(' | ')} |`,
    `|---|${sizes.map(() => '---:').join('|')}|---:|${sizes.map(() => '---:').join('|')}|`,
  ];
  for (const v of result.variants) {
    const rows = sizes.map((s) => result.single.find((r) => r.variant === v.id && r.size === s)!);
    const quiet = result.falseAlerts.find((r) => r.variant === v.id && r.over === 'all')!;
    lines.push(`| ${v.label} | ${rows.map((r) => `${sens(r)} (${pct(r.byChance.value)})`).join(' | ')} | ${perMonth(quiet)} | ${rows.map(delay).join(' | ')} |`);
  }
  return lines;
}

/** The whole report, top to bottom in one template (~90 lines): read it as the document it writes. */
export function reportMarkdown(result: EvaluationResult, facts: RunFacts): string {
  const { sizes, shapes, replicates, seed, rule } = result.options;
  const label = Object.fromEntries(result.variants.map((v) => [v.id, v.label]));
  const params = (id: string) => {
    const v = result.variants.find((x) => x.id === id)!;
    const p = methodParamsFor(v.method, v.params);
    if (v.method === 'moving-percentile') return `P${p.percentile} of ${p.windowDays}-day counts; ${v.params?.years ? `seasonal: ${p.years} past year × ${2 * p.windowsAround + 1} windows` : `recent-weeks: the ${p.recentWindows} preceding weeks (seasonal needs ${p.minYears} years; the simulation has 1)`}`;
    const base = `baseline ${p.baselineDays} days, guard ${p.guardDays}, sd floor ${p.minSd}`;
    return v.method === 'cusum' ? `${base}; k ${p.k}, h ${p.threshold}, restart after alarm` : `${base}; threshold ${p.threshold}`;
  };
  const best = [...result.falseAlerts.filter((r) => r.over === 'all')].sort((a, b) => a.perMonth - b.perMonth);
  const multiAt = (id: string, mode: string, size: number) => result.multi.find((r) => r.variant === id && r.mode === mode && r.size === size)!;
  const groupQuiet = (id: string, mode: string) => result.groupFalseAlerts.find((r) => r.variant === id && r.over === mode)!;
  const mid = sizes[Math.floor(sizes.length / 2)];
  return [
    '# Surveillance detectors: evaluation on synthetic outbreaks',
    '',
    '**No claim beyond this simulation.** These figures describe the detectors on synthetic counts built as stated below; real surveillance data has reporting delays, holidays, changes in who is imaged and tested, and outbreaks of other shapes. They say how the methods compare with one another under these assumptions, not how Lantern will perform in a network.',
    '',
    `Command: \`${facts.command}\` · ${replicates} replicates · seed ${seed} · ${facts.seconds.toFixed(0)} s on this machine · ${facts.date}`,
    '',
    '## What was simulated',
    '',
    `- **Sites**: ${SIMULATION.villagesPerTownship.reduce((a, b) => a + b, 1 + SIMULATION.villagesPerTownship.length)} — one county hospital (mean ${SIMULATION.means.county.join('–')} cases/day), ${SIMULATION.villagesPerTownship.length} townships (${SIMULATION.means.township.join('–')}), ${SIMULATION.villagesPerTownship.reduce((a, b) => a + b, 0)} villages (${SIMULATION.means.village.join('–')}) under the townships (${SIMULATION.villagesPerTownship.join(', ')}); each site's mean drawn uniformly in its range, anew in each replicate.`,
    `- **Background**: negative binomial (size ${SIMULATION.dispersionSize}: variance μ + μ²/${SIMULATION.dispersionSize}) around mean × weekday effect (Mon–Sun ${SIMULATION.weekday.join(', ')}, normalised) × season (1 + ${SIMULATION.seasonalAmplitude} cos, peak mid-January); ${SIMULATION.days} days from ${SIMULATION.start}. The first year is history only; everything is measured in the second.`,
    `- **Outbreaks**: extra cases injected on top of the background, exactly the stated number, each case's day drawn from the shape: **spike** (one day), **ramp** (7 days, rising linearly), **lognormal** (14 days, log-normal epidemic curve, median 4 days, σ 0.6). **Size** = ${sizes.join('×, ')}× the site's mean weekly count (at least 1 case). Start uniform over the second year. In each replicate, for each size and shape: one single-site outbreak (at a village, township or county site in turn, so levels are equally represented) and one multi-site outbreak (three villages of one township, each receiving a third of the size, i.e. size/3 × its own weekly mean).`,
    `- **Replicates**: ${replicates}, each a fresh network and background; ${replicates * shapes.length} single-site outbreaks per method and size.`,
    '',
    '## Definitions',
    '',
    '- **Sensitivity**: the share of outbreaks with an alarm at the outbreak site on one of the outbreak\'s days (from its first to its last extra case); Wilson 95% interval. **By chance**: the share of the same site-spans with an alarm on the background alone, before the outbreak was added — the part of the sensitivity a method gets for alarming often.',
    '- **Days to detection**: first alarm day − first outbreak day (0 = alarmed on the first day), among detected outbreaks; median and interquartile range.',
    '- **False alerts per site-month**: alarm days on the pure background (no outbreak injected) in the evaluated year, per site and 30.4 days; 95% interval over replicates (normal approximation). Each alarm day counts, as the running service raises one alert per day; "episodes" counts a run of consecutive alarm days once.',
    `- **Multi-site**: over the villages of the township hit — **any-site** (some village alarms), **aggregate** (the villages' summed series alarms), **multi-point** (≥ ${rule.minSites} villages alarm within ${rule.withinDays} days, the policy card's rule); false alerts per group-month on background the same three ways.`,
    '',
    '## Methods',
    '',
    '| method | parameters |',
    '|---|---|',
    ...result.variants.map((v) => `| ${v.label} | ${params(v.id)} |`),
    '',
    'Formulas and references: docs/network.md, "Surveillance: methods and evaluation".',
    '',
    '## Results: single-site outbreaks',
    '',
    ...summaryTable(result),
    '',
    '![sensitivity by size](sensitivity.svg)',
    '',
    '### By outbreak shape (sensitivity; median days to detection)',
    '',
    `| method | ${shapes.flatMap((h) => sizes.map((s) => `${h} ${s}×`)).join(' | ')} |`,
    `|---|${shapes.flatMap(() => sizes.map(() => '---:')).join('|')}|`,
    ...result.variants.map((v) => `| ${v.label} | ${shapes.flatMap((h) => sizes.map((s) => {
      const r = result.singleByShape.find((x) => x.variant === v.id && x.shape === h && x.size === s)!;
      return `${pct(r.sensitivity.value)}; ${r.medianDelay ?? '–'}`;
    })).join(' | ')} |`),
    '',
    '### By site level (sensitivity at each size; false alerts per site-month, episodes per site-month)',
    '',
    `| method | level | ${sizes.map((s) => `${s}×`).join(' | ')} | false alerts | episodes |`,
    `|---|---|${sizes.map(() => '---:').join('|')}|---:|---:|`,
    ...result.variants.flatMap((v) => (['village', 'township', 'county'] as const).map((level) => {
      const q = result.falseAlerts.find((r) => r.variant === v.id && r.over === level)!;
      return `| ${v.label} | ${level} | ${sizes.map((s) => pct(result.singleByLevel.find((r) => r.variant === v.id && r.level === level && r.size === s)!.sensitivity.value)).join(' | ')} | ${perMonth(q)} | ${q.episodesPerMonth.toFixed(2)} |`;
    })),
    '',
    '![false alerts](false-alerts.svg)',
    '',
    '## Results: outbreaks shared by three neighbouring villages',
    '',
    `| method | mode | ${sizes.map((s) => `sensitivity ${s}×`).join(' | ')} | by chance (${mid}× spans) | days to detection ${mid}× | false alerts / group-month |`,
    `|---|---|${sizes.map(() => '---:').join('|')}|---:|---:|---:|`,
    ...result.variants.flatMap((v) => ['any-site', 'aggregate', 'multi-point'].map((mode) => `| ${v.label} | ${mode} | ${sizes.map((s) => sens(multiAt(v.id, mode, s))).join(' | ')} | ${pct(multiAt(v.id, mode, mid).byChance.value)} | ${delay(multiAt(v.id, mode, mid))} | ${perMonth(groupQuiet(v.id, mode))} |`)),
    '',
    ...ratesSection(result),
    '## Example',
    '',
    `One simulated ${result.example.shape} outbreak (${result.example.size}× weekly mean) at ${result.example.site}, with each method's alarm days:`,
    '',
    '![example series](example.svg)',
    '',
    '## Reading',
    '',
    `- Fewest false alerts on background: ${best.slice(0, 2).map((r) => `${label[r.variant]} (${r.perMonth.toFixed(2)} per site-month)`).join(', ')}; most: ${best.slice(-1).map((r) => `${label[r.variant]} (${r.perMonth.toFixed(2)})`).join('')}. The moving percentile alarms whenever a 7-day count exceeds the 80th percentile of its history, so on background it is above threshold on a large share of days by construction (here ${pct(best[best.length - 1].perMonth / (365.25 / 12))} for its noisiest variant): in CIDARS its signals are a prompt for a person to verify, not an alert to act on.`,
    `- The several-points rule trades sensitivity for quiet: with EARS C2 at ${mid}×, any-site ${pct(multiAt('ears-c2', 'any-site', mid).sensitivity.value)} at ${groupQuiet('ears-c2', 'any-site').perMonth.toFixed(2)} false alerts per group-month, aggregate ${pct(multiAt('ears-c2', 'aggregate', mid).sensitivity.value)} at ${groupQuiet('ears-c2', 'aggregate').perMonth.toFixed(2)}, multi-point ${pct(multiAt('ears-c2', 'multi-point', mid).sensitivity.value)} at ${groupQuiet('ears-c2', 'multi-point').perMonth.toFixed(2)}.`,
    '- A sensitivity near 100% for a spike of one weekly mean in one day says the spike is easy, not that the method is good: compare methods at equal false-alert rates, and read the ramp and log-normal columns, where the outbreak is spread thin.',
    '',
  ].join('\n');
}

/** Counts or rates: the policy's methods on positives, and on positives per film (rates.ts). */
function ratesSection(result: EvaluationResult): string[] {
  const rates = result.rates;
  if (!rates) return [];
  const label = Object.fromEntries(result.variants.map((v) => [v.id, v.label]));
  return [
    '## Counts or rates',
    '',
    `The same network with a denominator: films read per day (negative binomial around the site's mean / 0.15, weekday effect) and each film positive with probability 0.15 × the season. Judged on the count of positives, or on the rate (positives per film, the expectation scaled to the day's films). Outbreak: a 7-day ramp of extra positive films. **Volume surge**: 14 days with 50 % more films at unchanged positivity (a screening day, a new referral route) — a surge "alarms" when the method alarms during it and did not on the same days without it. ${rates.replicates} replicates × 20 sites.`,
    '',
    `| method | judged on | ${rates.sizes.map((s) => `sensitivity ${s}× (ramp)`).join(' | ')} | false alerts / site-month | volume surges alarmed |`,
    `|---|---|${rates.sizes.map(() => '---:').join('|')}|---:|---:|`,
    ...rates.rows.map((r) => `| ${label[r.variant]} | ${r.measure} | ${r.sensitivity.map((x) => `${pct(x.value.value)} (${pct(x.value.ci95[0])}–${pct(x.value.ci95[1])})`).join(' | ')} | ${r.falseAlertsPerSiteMonth.toFixed(2)} | ${pct(r.surgeAlarmed.value)} (${r.surgeAlarmed.k}/${r.surgeAlarmed.n}) |`),
    '',
    'Each outbreak case is also a film, so an outbreak raises the rate less than the count; the rate in exchange ignores a rise in films alone.',
    '',
  ];
}

/** Writes report.md, the three plots and results.json into `dir`; returns the paths written. */
export function writeReport(result: EvaluationResult, dir: string, facts: RunFacts): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const labels = Object.fromEntries(result.variants.map((v) => [v.id, v.label]));
  const files: [string, string][] = [
    ['report.md', reportMarkdown(result, facts)],
    ['sensitivity.svg', sensitivitySvg(result)],
    ['false-alerts.svg', falseAlertsSvg(result)],
    ['example.svg', exampleSvg(result.example, labels)],
    ['results.json', `${JSON.stringify({ ...result, facts }, null, 1)}\n`],
  ];
  return files.map(([name, text]) => {
    fs.writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  });
}
