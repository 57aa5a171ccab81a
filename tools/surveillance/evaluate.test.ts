/**
 * The surveillance evaluation, seeded: the detectors find injected outbreaks and stay quiet on pure
 * background within the rate the report states, and a quick evaluation produces its table and report.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { detect } from '../../inference/surveillance/index.ts';
import { evaluateSurveillance, METHOD_VARIANTS } from './evaluate.ts';
import { evaluateRates } from './rates.ts';
import { seeded } from './random.ts';
import { reportMarkdown, summaryTable, writeReport } from './report.ts';
import { background, inject, outbreakCases, outbreakCurve, SIMULATION, simulatedNetwork } from './simulate.ts';

const temps: string[] = [];
afterAll(() => { for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true }); });

const random = seeded(42);
const sites = simulatedNetwork(random);
const counts = sites.map((s) => background(s, random));
const c2 = (series: number[]) => detect({ start: SIMULATION.start, counts: series }, 'ears-c2');
const SITE_MONTH_DAYS = 365.25 / 12;

describe('EARS C2 on the simulated network (seed 42)', () => {
  it('when nothing is injected, then it raises under 1 alarm day per site-month over the evaluated year (the report states 0.6)', () => {
    const alarms = counts.reduce((a, c) => a + c2(c).slice(SIMULATION.evaluatedFrom).filter((d) => d.alarm).length, 0);
    const perSiteMonth = alarms / ((sites.length * (SIMULATION.days - SIMULATION.evaluatedFrom)) / SITE_MONTH_DAYS);
    expect(perSiteMonth).toBeGreaterThan(0); // background is noisy; a detector that never alarms would pass "quiet" vacuously
    expect(perSiteMonth).toBeLessThan(1);
  });

  it('when a 7-day ramp of twice the weekly mean is injected at each township and the county, then it alarms during every one, and never on those days of the background alone', () => {
    const curve = outbreakCurve('ramp');
    const start = 500;
    const larger = sites.flatMap((s, i) => (s.level === 'village' ? [] : [{ site: s, series: counts[i] }]));
    const during = (series: number[]) => c2(series).slice(start, start + curve.length).some((d) => d.alarm);
    expect(larger.map(({ series }) => during(series))).toEqual([false, false, false, false, false]);
    expect(larger.map(({ site, series }) => during(inject(series, start, outbreakCases(site, 2), curve, random)))).toEqual([true, true, true, true, true]);
  });

  it('then an injected outbreak holds exactly its stated number of extra cases, on its days only', () => {
    const curve = outbreakCurve('lognormal');
    expect(curve.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const after = inject(counts[0], 400, 37, curve, random);
    const extra = after.map((c, i) => c - counts[0][i]);
    expect(extra.reduce((a, b) => a + b, 0)).toBe(37);
    expect(extra.findIndex((e) => e > 0)).toBeGreaterThanOrEqual(400);
    expect(extra.findLastIndex((e) => e > 0)).toBeLessThan(400 + curve.length);
  });
});

describe('the quick evaluation', () => {
  const result = evaluateSurveillance({ replicates: 2, seed: 7, sizes: [1, 4] });

  it('when it runs, then every method has a row per size with sensitivity, chance, delay and false alerts', () => {
    expect(result.single).toHaveLength(METHOD_VARIANTS.length * 2);
    for (const row of result.single) {
      expect(row.sensitivity.n).toBe(2 * 3); // replicates × shapes
      expect(row.sensitivity.ci95[0]).toBeLessThanOrEqual(row.sensitivity.value);
      expect(row.byChance.n).toBe(row.sensitivity.n);
    }
    expect(result.falseAlerts.map((r) => r.over)).toEqual(METHOD_VARIANTS.flatMap(() => ['all', 'village', 'township', 'county']));
    const table = summaryTable(result);
    expect(table).toHaveLength(2 + METHOD_VARIANTS.length);
    expect(table[0]).toMatch(/^\| method \| sensitivity 1× \(by chance\) \| sensitivity 4× \(by chance\) \| false alerts \/ site-month \| days to detection 1× median \(IQR\) \|/);
    for (const line of table.slice(2)) expect(line.split('|').length).toBe(table[0].split('|').length);
  });

  it('then the several-points rule never alerts on background more often than any single village does', () => {
    for (const v of METHOD_VARIANTS) {
      const rate = (mode: string) => result.groupFalseAlerts.find((r) => r.variant === v.id && r.over === mode)!.perMonth;
      expect(rate('multi-point')).toBeLessThanOrEqual(rate('any-site'));
    }
  });

  it('then the report says what it does not claim, and its plots are written beside it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-surveillance-test-'));
    temps.push(dir);
    const files = writeReport(result, dir, { command: 'test', seconds: 1, date: '2026-12-03' });
    expect(files.map((f) => path.basename(f))).toEqual(['report.md', 'sensitivity.svg', 'false-alerts.svg', 'example.svg', 'results.json']);
    expect(reportMarkdown(result, { command: 'test', seconds: 1, date: '2026-12-03' })).toContain('No claim beyond this simulation');
    for (const svg of files.filter((f) => f.endsWith('.svg'))) expect(fs.readFileSync(svg, 'utf8')).toMatch(/^<svg [^>]+>[\s\S]*<\/svg>\n$/);
    expect(Object.keys(result.example.alarms)).toEqual(METHOD_VARIANTS.map((v) => v.id));
  });
});

describe('counts or rates (seeded, 3 replicates)', () => {
  const rates = evaluateRates({ replicates: 3, seed: 5, sizes: [2] });

  it('when only the number of films surges, then judging the rate alarms less often than judging the count, for each method', () => {
    expect(rates.rows.map((r) => `${r.variant} ${r.measure}`)).toEqual(['ears-c2 count', 'ears-c2 rate', 'cusum count', 'cusum rate']);
    for (const variant of ['ears-c2', 'cusum']) {
      const [count, rate] = ['count', 'rate'].map((m) => rates.rows.find((r) => r.variant === variant && r.measure === m)!);
      expect(count.surgeAlarmed.n).toBeGreaterThan(40); // 20 sites × 3 replicates, less the spans background alone alarmed in
      expect(rate.surgeAlarmed.value).toBeLessThan(count.surgeAlarmed.value);
      expect(rate.sensitivity[0].value.value).toBeGreaterThan(0);
    }
  });
});
