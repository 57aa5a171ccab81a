import type { MultiPointRule } from '../../contract/surveillance.ts';
import type { DetectionDay } from './detection.ts';
import { dateOfDay, dayNumber } from './series.ts';

/** Several points rising together: the sites of a group that alarmed within the window ending on `date`. */
export interface MultiPointAlarm {
  date: string;
  /** First day of the window (`date` − withinDays + 1). */
  from: string;
  /** Sites with at least one alarm in [from, date], sorted. */
  sites: string[];
  /** Each of those sites' alarm days in the window: the evidence. */
  alarms: { site: string; day: DetectionDay }[];
}

/**
 * 多点触发: alert on day D when at least `minSites` sites of a group have alarmed within the
 * `withinDays` days ending on D. Raised only on days on which some site alarms, so a window that
 * merely still holds yesterday's alarms does not re-raise the same alert each day after.
 */
export function multiPoint(perSite: ReadonlyMap<string, DetectionDay[]>, rule: MultiPointRule): MultiPointAlarm[] {
  const alarms = [...perSite].flatMap(([site, days]) => days.filter((d) => d.alarm).map((day) => ({ site, day, n: dayNumber(day.date) })))
    .sort((a, b) => a.n - b.n);
  const raised: MultiPointAlarm[] = [];
  // Sliding window over the alarms in day order: [lo, hi) holds those within the window ending on alarms[hi - 1]'s day.
  let lo = 0;
  for (let hi = 0; hi < alarms.length;) {
    const n = alarms[hi].n;
    while (hi < alarms.length && alarms[hi].n === n) hi++;
    while (alarms[lo].n <= n - rule.withinDays) lo++;
    const inWindow = alarms.slice(lo, hi).sort((a, b) => a.site.localeCompare(b.site) || a.n - b.n);
    const sites = [...new Set(inWindow.map((a) => a.site))];
    if (sites.length < rule.minSites) continue;
    raised.push({ date: dateOfDay(n), from: dateOfDay(n - rule.withinDays + 1), sites, alarms: inWindow.map(({ site, day }) => ({ site, day })) });
  }
  return raised;
}
