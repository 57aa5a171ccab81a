/** Words the worklist and the study screen share, so both say the same thing in both languages. */
import type { Decision } from './api.ts';
import { defineMessages } from './i18n.ts';

const msg = defineMessages({
  en: {
    accept: 'Accepted',
    override: 'Overridden',
    minutes: (n: number) => `${n} min`,
    hours: (h: number, min: number) => (min ? `${h} h ${min} min` : `${h} h`),
  },
  zh: {
    accept: '已接受',
    override: '已否决',
    minutes: (n: number) => `${n} 分钟`,
    hours: (h: number, min: number) => (min ? `${h} 小时 ${min} 分钟` : `${h} 小时`),
  },
});

export function decisionText(decision: Decision): string {
  return msg()[decision];
}

/** Whole minutes as "12 min", or "2 h 5 min" from two hours on (a shift's worth reads better in hours). */
export function waitingText(minutes: number): string {
  const m = Math.max(0, Math.floor(minutes));
  return m < 120 ? msg().minutes(m) : msg().hours(Math.floor(m / 60), m % 60);
}
