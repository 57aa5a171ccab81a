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
  const alarms = [...perSite].flatMap(([site, days]) => days.filter((d) => d.alarm).map((day) => ({ site, day, n: dayNumber(day.date) })));
  const alarmDays = [...new Set(alarms.map((a) => a.n))].sort((a, b) => a - b);
  const raised: MultiPointAlarm[] = [];
  for (const n of alarmDays) {
    const inWindow = alarms.filter((a) => a.n > n - rule.withinDays && a.n <= n)
      .sort((a, b) => a.site.localeCompare(b.site) || a.n - b.n);
    const sites = [...new Set(inWindow.map((a) => a.site))];
    if (sites.length < rule.minSites) continue;
    raised.push({ date: dateOfDay(n), from: dateOfDay(n - rule.withinDays + 1), sites, alarms: inWindow.map(({ site, day }) => ({ site, day })) });
  }
  return raised;
}
