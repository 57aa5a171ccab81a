import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../config.ts';
import { InputValidationError } from '../../inference/features.ts';
import type { ScoreModel } from '../../inference/registry.ts';
import { loadScoreCard } from '../../inference/scores/test-support.ts';
import { checkReadings, type RawReading } from './observations.ts';

const dir = path.join(repoRoot, 'models', 'news2');
const model: ScoreModel = { card: loadScoreCard(dir), dir, key: 'news2@1.2.0', sha256: 'card' };
const now = new Date('2026-12-01T12:00:00Z');
const reading = (parameter: RawReading['parameter'], value: unknown, unit?: string, at = '2026-12-01T11:00:00Z'): RawReading =>
  ({ parameter, value, unit, at, deviceId: 'watch-1', source: 'json', field: `observations.${parameter}` });

const refusal = (readings: RawReading[]) => {
  try {
    checkReadings(model, readings, now);
  } catch (error) {
    if (error instanceof InputValidationError) return error.issues;
    throw error;
  }
  throw new Error('accepted');
};

describe('checking readings with the NEWS2 card', () => {
  it('when readings come in the card\'s other units, then they are converted to its canonical units and what was sent is kept', () => {
    const [t, bp, o2, avpu] = checkReadings(model, [reading('temperature', 101.3, '°F'), reading('systolicBp', 12, 'kPa'), reading('supplementalOxygen', true), reading('consciousness', 'voice')], now);
    expect(t.value).toBeCloseTo(38.5, 3);
    expect(t).toMatchObject({ unit: '°C', original: { value: '101.3', unit: '°F' }, deviceId: 'watch-1' });
    expect(bp.value).toBeCloseTo(90.0, 1);
    expect(bp.unit).toBe('mmHg');
    expect([o2.value, avpu.value]).toEqual([true, 'voice']);
  });

  it.each([
    ['SpO2 130 %', reading('spo2', 130, '%'), /outside the possible range 40–100/],
    ['RR 90/min', reading('respiratoryRate', 90, '/min'), /outside the possible range 1–80/],
    ['RR 0/min', reading('respiratoryRate', 0, '/min'), /outside the possible range 1–80/],
    ['98.6 sent as °C', reading('temperature', 98.6, '°C'), /outside the possible range 25–45/],
    ['a unit the card does not take', reading('temperature', 37, 'K'), /unit "K" is not accepted/],
    ['consciousness not ACVPU', reading('consciousness', 'drowsy'), /expected one of alert, confusion/],
  ])('when a reading is implausible (%s), then it is refused naming the reading and the reason', (_, bad, reason) => {
    const issues = refusal([reading('pulse', 80, '/min'), bad]);
    expect(issues).toHaveLength(1);
    expect(issues[0].field).toBe(bad.field);
    expect(issues[0].message).toMatch(reason);
  });

  it('when a reading is stamped beyond the allowed clock skew, then it is refused; within the skew it is taken', () => {
    expect(refusal([reading('pulse', 80, '/min', '2026-12-01T12:06:00Z')])[0].message).toMatch(/in the future/);
    expect(checkReadings(model, [reading('pulse', 80, '/min', '2026-12-01T12:04:00Z')], now)).toHaveLength(1);
  });

  it('when several readings are bad, then every one is named in one refusal', () => {
    expect(refusal([reading('spo2', 130, '%'), reading('pulse', 80, '/min'), reading('respiratoryRate', 90, '/min')]).map((i) => i.field)).toEqual(['observations.spo2', 'observations.respiratoryRate']);
  });
});
