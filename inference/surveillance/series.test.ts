import { describe, expect, it } from 'vitest';
import { addDays, dateOfDay, dayNumber, SurveillanceInputError } from './series.ts';

describe('calendar days', () => {
  it('when a day number is written as a date, then it matches the calendar across leap days and centuries, 1900–2100', () => {
    const wrong: string[] = [];
    for (let day = dayNumber('1900-01-01'); day <= dayNumber('2100-12-31'); day += 1) {
      const date = new Date(day * 86_400_000).toISOString().slice(0, 10);
      if (dateOfDay(day) !== date) wrong.push(`${date} written ${dateOfDay(day)}`);
    }
    expect(wrong).toEqual([]);
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2100-02-28', 1)).toBe('2100-03-01');
  });

  it('when a date is not on the calendar, then it is refused', () => {
    for (const bad of ['2026-02-29', '2026-13-01', '26-01-01', '2026-1-1', '']) expect(() => dayNumber(bad)).toThrow(SurveillanceInputError);
  });
});
