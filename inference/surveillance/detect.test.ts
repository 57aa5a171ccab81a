/**
 * Each method against values computed by hand on small series; the arithmetic is written beside
 * each expectation so a reader can check it without running anything.
 */
import { describe, expect, it } from 'vitest';
import { detect } from './detect.ts';
import { percentileOf } from './moving-percentile.ts';
import { SurveillanceInputError, type DailySeries } from './series.ts';

const series = (counts: number[], denominators?: number[]): DailySeries => ({ start: '2026-01-01', counts, ...(denominators ? { denominators } : {}) });
const repeat = (value: number, days: number) => new Array<number>(days).fill(value);

describe('EARS C1', () => {
  // Baseline days 0–6: 2,4,2,4,2,4,2. mean = 20/7 = 2.857143;
  // squared deviations 4 × 0.857143² + 3 × 1.142857² = 2.938776 + 3.918367 = 6.857143; / 6 = 1.142857; sd = 1.069045.
  const baseline = [2, 4, 2, 4, 2, 4, 2];

  it('when today is 7 after that week, then z = (7 − 2.857143) / 1.069045 = 3.8753 > 3 and it alarms, with the baseline as evidence', () => {
    const day = detect(series([...baseline, 7]), 'ears-c1')[7];
    expect(day.date).toBe('2026-01-08');
    expect(day.statistic).toBeCloseTo(3.8753, 4);
    expect(day.threshold).toBe(3);
    expect(day.alarm).toBe(true);
    expect(day.baseline.mean).toBeCloseTo(2.857143, 6);
    expect(day.baseline.sd).toBeCloseTo(1.069045, 6);
    expect(day.baseline.days).toBe(7);
  });

  it('when today is 6, then z = (6 − 2.857143) / 1.069045 = 2.9399 ≤ 3 and it stays quiet', () => {
    const day = detect(series([...baseline, 6]), 'ears-c1')[7];
    expect(day.statistic).toBeCloseTo(2.9399, 4);
    expect(day.alarm).toBe(false);
  });

  it('when the baseline week is all zeros (sd 0), then the sd floor of 1 case holds: 3 cases give z = 3 (quiet), 4 give z = 4 (alarm)', () => {
    expect(detect(series([...repeat(0, 7), 3]), 'ears-c1')[7]).toMatchObject({ statistic: 3, alarm: false, baseline: { mean: 0, sd: 1 } });
    expect(detect(series([...repeat(0, 7), 4]), 'ears-c1')[7]).toMatchObject({ statistic: 4, alarm: true });
    // Without the floor (minSd 0.2, as some implementations use), one case after a silent week is z = 1 / 0.2 = 5: an alarm.
    expect(detect(series([...repeat(0, 7), 1]), 'ears-c1', { minSd: 0.2 })[7]).toMatchObject({ statistic: 5, alarm: true });
  });

  it('when a guard band is given to C1, then it is ignored: C1 is the 7 days just before', () => {
    expect(detect(series([...baseline, 7]), 'ears-c1', { guardDays: 2 })[7].statistic).toBeCloseTo(3.8753, 4);
  });
});

describe('EARS C2', () => {
  it('when two guard days separate the baseline, then day 9 is judged on days 0–6 only: z = (10 − 2.857143) / 1.069045 = 6.6815', () => {
    const days = detect(series([2, 4, 2, 4, 2, 4, 2, 9, 9, 10]), 'ears-c2');
    expect(days[9].statistic).toBeCloseTo(6.6815, 4);
    expect(days[9].baseline.days).toBe(7);
    // Day 7: baseline days 0–4 (2,4,2,4,2; mean 2.8, variance (3 × 0.64 + 2 × 1.44) / 4 = 1.2, sd 1.095445): z = 6.2 / 1.095445 = 5.6598.
    expect(days[7].statistic).toBeCloseTo(5.6598, 4);
    expect(days[7].baseline.days).toBe(5);
  });

  it('when fewer than 5 baseline days exist, then the day is not tested: no alarm, "insufficient baseline"', () => {
    const days = detect(series([0, 0, 0, 0, 0, 0, 50]), 'ears-c2');
    // Day 6 has baseline days 0–3 (four days) before its two guard days.
    expect(days[6]).toMatchObject({ alarm: false, statistic: 0, untested: 'insufficient baseline', baseline: { days: 4 } });
    expect(days.every((d) => !d.alarm)).toBe(true);
  });
});

describe('EARS C3', () => {
  // Ten days of 2, then 3, 4, 5. The C2 baselines (7 days, 2 guard) hold only 2s: mean 2, sd 0 → floor 1.
  // C2: day 9 z = 0, day 10 z = 1, day 11 z = 2, day 12 z = 3.
  const days = detect(series([...repeat(2, 10), 3, 4, 5]), 'ears-c3');

  it('when C2 rises 1, 2, 3 over three days, then C3 = (3 − 1) + (2 − 1) + max(0, 1 − 1) = 3 > 2: an alarm C2 alone (3, not > 3) does not raise', () => {
    expect(days[12]).toMatchObject({ statistic: 3, threshold: 2, alarm: true });
    expect(detect(series([...repeat(2, 10), 3, 4, 5]), 'ears-c2')[12]).toMatchObject({ statistic: 3, alarm: false });
  });

  it('when only the last two days exceed 1, then C3 = (2 − 1) + 0 + 0 = 1 and stays quiet', () => {
    expect(days[11]).toMatchObject({ statistic: 1, alarm: false });
  });

  it('when C2 was not tested on one of the three days, then C3 is not tested either', () => {
    // C2 is first tested on day 7 (baseline days 0–4); C3 needs days 7, 8, 9.
    expect(days[8].untested).toBe('insufficient baseline');
    expect(days[9].untested).toBeUndefined();
  });
});

describe('CUSUM', () => {
  // Nine days of 2, then four days of 4. Baseline (7 days, 2 guard) for days 9–11 holds only 2s: mean 2, sd 0 → 1, z = 2.
  const days = detect(series([...repeat(2, 9), 4, 4, 4, 4]), 'cusum');

  it('when z = 2 three days running, then S = 1.5, 3.0, 4.5 (k = 0.5) and it alarms on the third (> h = 4), then restarts from 0', () => {
    expect(days.slice(7, 9).map((d) => d.statistic)).toEqual([0, 0]);
    expect(days.slice(9, 12).map((d) => d.statistic)).toEqual([1.5, 3, 4.5]);
    expect(days.slice(9, 12).map((d) => d.alarm)).toEqual([false, false, true]);
    // Day 12: baseline days 3–9 = six 2s and one 4: mean 16/7 = 2.285714, sd 0.755929 → floor 1; z = 1.714286;
    // S restarts at 0 after the alarm: S = 0 + 1.714286 − 0.5 = 1.214286.
    expect(days[12].statistic).toBeCloseTo(1.214286, 6);
    expect(days[12].alarm).toBe(false);
  });

  it('when the baseline is too short, then the day is untested and the sum does not start', () => {
    expect(days[6]).toMatchObject({ untested: 'insufficient baseline', alarm: false });
  });
});

describe('rates: counts against a denominator', () => {
  // Positives 1,2,1,2,1,2,1 out of 10,20,10,20,10,20,10 studies: every day's rate is 0.1, sd 0.
  const counts = [1, 2, 1, 2, 1, 2, 1];
  const studies = [10, 20, 10, 20, 10, 20, 10];

  it('when studies triple with the same positivity, then the expected count scales: 6 of 60 is expected 0.1 × 60 = 6, z = 0, no alarm', () => {
    const day = detect(series([...counts, 6], [...studies, 60]), 'ears-c1')[7];
    expect(day).toMatchObject({ statistic: expect.closeTo(0, 9), alarm: false, baseline: { mean: expect.closeTo(6, 9), sd: 1 } });
    // The plain count sees 6 against a mean of 10/7 = 1.428571 (sd 0.534522 → floor 1): z = 4.571429, an alarm.
    expect(detect(series([...counts, 6]), 'ears-c1')[7].statistic).toBeCloseTo(4.571429, 6);
  });

  it('when positivity rises, then 6 of 20 against an expected 0.1 × 20 = 2 gives z = (6 − 2) / 1 = 4, an alarm', () => {
    expect(detect(series([...counts, 6], [...studies, 20]), 'ears-c1')[7]).toMatchObject({ statistic: expect.closeTo(4, 9), alarm: true });
  });

  it('when a day has no studies, then it is not tested, and baseline days without studies are skipped', () => {
    const days = detect(series([...counts, 0, 3], [...studies, 0, 10]), 'ears-c1');
    expect(days[7].untested).toBe('no denominator');
    // Day 8: baseline days 1–7, day 7 has no studies: six usable days, all rate 0.1 → expected 1, z = (3 − 1) / 1 = 2.
    expect(days[8]).toMatchObject({ statistic: expect.closeTo(2, 9), baseline: { days: 6, mean: expect.closeTo(1, 9) } });
  });
});

describe('moving percentile (CIDARS)', () => {
  it('then percentiles interpolate between order statistics (type 7): P80 of 1..5 is 1 + 4 × 0.8 = 4.2', () => {
    expect(percentileOf([5, 1, 4, 2, 3], 80)).toBeCloseTo(4.2, 10);
    expect(percentileOf([0, 7, 14], 50)).toBe(7);
  });

  // Twelve weeks, week j's days all (j mod 3): weekly counts 0, 7, 14 four times each; then a week of 3 a day (21).
  const weeks = Array.from({ length: 12 }, (_, j) => repeat(j % 3, 7)).flat();
  const recent = detect(series([...weeks, ...repeat(3, 7)]), 'moving-percentile');

  it('when under 3 years exist, then recent-weeks: 21 against P80 of the 12 previous weeks {0×4, 7×4, 14×4} = 14 (h = 11 × 0.8 = 8.8, between 14 and 14) alarms', () => {
    expect(recent[90]).toMatchObject({ statistic: 21, threshold: 14, alarm: true, baseline: { percentile: 14, mean: 7, days: 84, basis: 'recent-weeks' } });
    // At P50 (h = 5.5, between 7 and 7) the threshold is 7.
    expect(detect(series([...weeks, ...repeat(3, 7)]), 'moving-percentile', { percentile: 50 })[90].threshold).toBe(7);
  });

  it('when fewer than 6 earlier weeks exist, then the day is not tested', () => {
    // Day 47's earlier windows end on days 40, 33, 26, 19, 12 (five); day 48's on 41 … 6 (six).
    expect(recent[47].untested).toBe('insufficient baseline');
    expect(recent[48].untested).toBeUndefined();
  });

  // Over three years of 1 a day, except last year's season (35 days around day t − 364) at 5 a day; the current week 2 a day.
  const t = 1200;
  const long = repeat(1, t + 1);
  for (let i = t - 364 - 20; i <= t - 364 + 14; i++) long[i] = 5;
  for (let i = t - 6; i <= t; i++) long[i] = 2;

  it('when 3 past years exist and last year\'s season was high, then the seasonal baseline (15 windows: 5 × 35, 10 × 7; P80 = 35) stays quiet at 14', () => {
    expect(detect(series(long), 'moving-percentile')[t]).toMatchObject({ statistic: 14, threshold: 35, alarm: false, baseline: { days: 105, basis: 'seasonal' } });
  });

  it('when the seasonal history is refused (4 years asked), then recent-weeks (twelve weeks of 7) judges the same week an outbreak: 14 > 7', () => {
    expect(detect(series(long), 'moving-percentile', { years: 4, minYears: 4 })[t]).toMatchObject({ threshold: 7, alarm: true, baseline: { basis: 'recent-weeks' } });
  });
});

describe('input', () => {
  it('when a series is malformed, then detect refuses it and says what is wrong', () => {
    expect(() => detect({ start: '2026-02-30', counts: [1] }, 'ears-c1')).toThrow(SurveillanceInputError);
    expect(() => detect(series([1, -1]), 'ears-c1')).toThrow(/count 1 \(-1\) is not a finite number ≥ 0/);
    expect(() => detect(series([1, 2], [1]), 'ears-c1')).toThrow(/1 denominators for 2 counts/);
  });

  it('then every method gives one day per count, dated from the start', () => {
    for (const method of ['ears-c1', 'ears-c2', 'ears-c3', 'cusum', 'moving-percentile'] as const) {
      const days = detect({ start: '2026-12-30', counts: repeat(1, 4) }, method);
      expect(days.map((d) => d.date)).toEqual(['2026-12-30', '2026-12-31', '2027-01-01', '2027-01-02']);
    }
  });
});
