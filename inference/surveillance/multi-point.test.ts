import { describe, expect, it } from 'vitest';
import type { DetectionDay } from './detection.ts';
import { multiPoint } from './multi-point.ts';
import { addDays, aggregateSeries, groupsByParent } from './series.ts';
import { detect } from './detect.ts';

/** A site's verdicts over March 2026 with alarms on the given days of the month. */
function site(alarmDays: number[]): DetectionDay[] {
  return Array.from({ length: 31 }, (_, i) => ({
    date: addDays('2026-03-01', i), statistic: alarmDays.includes(i + 1) ? 4 : 0, threshold: 3, alarm: alarmDays.includes(i + 1), baseline: { mean: 1, sd: 1, days: 7 },
  }));
}

describe('multi-point rule (多点触发)', () => {
  const perSite = new Map([['township-a', site([1])], ['township-b', site([3])], ['township-c', site([10])]]);

  it('when two sites alarm within 3 days, then one alert on the day the second alarms, naming both sites and their alarm days', () => {
    const alerts = multiPoint(perSite, { minSites: 2, withinDays: 3 });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ date: '2026-03-03', from: '2026-03-01', sites: ['township-a', 'township-b'] });
    expect(alerts[0].alarms.map((a) => [a.site, a.day.date, a.day.statistic])).toEqual([['township-a', '2026-03-01', 4], ['township-b', '2026-03-03', 4]]);
  });

  it('when the alarms are further apart than the window, or fewer sites than asked alarm, then no alert', () => {
    expect(multiPoint(perSite, { minSites: 2, withinDays: 2 })).toEqual([]);
    expect(multiPoint(perSite, { minSites: 3, withinDays: 3 })).toEqual([]);
  });

  it('when all three alarm within 10 days, then the three-site rule holds on the tenth', () => {
    expect(multiPoint(perSite, { minSites: 3, withinDays: 10 }).map((a) => [a.date, a.sites.length])).toEqual([['2026-03-10', 3]]);
  });

  it('when one site alarms on several days, then it counts once', () => {
    expect(multiPoint(new Map([['a', site([1, 2, 3])], ['b', site([])]]), { minSites: 2, withinDays: 3 })).toEqual([]);
  });
});

describe('neighbour groups', () => {
  it('when sites share a parent, then they form a group keyed by the parent', () => {
    const groups = groupsByParent([{ id: 'v2', parentId: 't1' }, { id: 'v1', parentId: 't1' }, { id: 't1', parentId: 'c1' }, { id: 'c1' }]);
    expect([...groups]).toEqual([['t1', ['v1', 'v2']], ['c1', ['t1']]]);
  });

  it('when series of a group start on different days, then the aggregate sums them day by day over the union', () => {
    expect(aggregateSeries([
      { start: '2026-03-01', counts: [1, 2, 3], denominators: [10, 10, 10] },
      { start: '2026-03-02', counts: [5, 5, 5], denominators: [20, 20, 20] },
    ])).toEqual({ start: '2026-03-01', counts: [1, 7, 8, 5], denominators: [10, 30, 30, 20] });
    // A member without denominators leaves the group a count series.
    expect(aggregateSeries([{ start: '2026-03-01', counts: [1] }, { start: '2026-03-01', counts: [2], denominators: [4] }])).toEqual({ start: '2026-03-01', counts: [3] });
  });

  it('when three small sites each rise a little, then their aggregate alarms though none alone does (EARS C1)', () => {
    // Each site: a week alternating 1, 2 (mean 11/7 = 1.571, sd 0.535 → floor 1), then 4: z = 2.43 each, quiet.
    // The group: 3, 6, 3, 6, 3, 6, 6 (mean 33/7 = 4.714, sd 1.604), then 12: z = (12 − 4.714) / 1.604 = 4.54, an alarm.
    const one = { start: '2026-03-01', counts: [1, 2, 1, 2, 1, 2, 2, 4] };
    expect(detect(one, 'ears-c1')[7].alarm).toBe(false);
    const group = detect(aggregateSeries([one, one, one]), 'ears-c1')[7];
    expect(group.statistic).toBeCloseTo(4.54, 2);
    expect(group.alarm).toBe(true);
  });
});
