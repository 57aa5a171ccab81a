import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../config.ts';
import type { ScoreModel } from '../../inference/registry.ts';
import { loadScoreCard } from '../../inference/scores/test-support.ts';
import { episodeAlerts, escalationOf, inputsAt, news2Series, withNews2, type SeriesReading } from './news2-series.ts';

const dir = path.join(repoRoot, 'models', 'news2');
const model: ScoreModel = { card: loadScoreCard(dir), dir, key: 'news2@1.2.0', sha256: 'card' };
const t0 = Date.parse('2026-12-01T08:00:00Z');
const at = (minutes: number) => new Date(t0 + minutes * 60_000);
const well = { respiratoryRate: 16, spo2: 97, supplementalOxygen: false, systolicBp: 125, pulse: 72, consciousness: 'alert', temperature: 37.0 } as const;
const set = (minutes: number, values: Partial<Record<keyof typeof well, number | string | boolean>> = {}): SeriesReading[] =>
  Object.entries({ ...well, ...values }).map(([parameter, value]) => ({ parameter: parameter as SeriesReading['parameter'], value, at: at(minutes), deviceId: 'd' }));
const one = (minutes: number, parameter: SeriesReading['parameter'], value: number | string | boolean): SeriesReading => ({ parameter, value, at: at(minutes), deviceId: 'd' });

describe('NEWS2 over time', () => {
  it('when a parameter was measured within its window, then it is carried forward and marked with when it was measured', () => {
    const readings = [...set(0), one(45, 'pulse', 95)];
    const inputs = inputsAt(readings, at(45))!;
    expect(inputs.pulse).toEqual({ value: 95, from: at(45), carried: false });
    expect(inputs.respiratoryRate).toEqual({ value: 16, from: at(0), carried: true });
  });

  it('when a measured parameter is older than 60 minutes, then no NEWS2 is evaluated at that time; consciousness and oxygen stand for 12 hours', () => {
    const readings = [...set(0), one(61, 'pulse', 95)];
    expect(inputsAt(readings, at(61))).toBeUndefined();
    const later = [...set(0), ...set(600, {}).filter((r) => r.parameter !== 'consciousness' && r.parameter !== 'supplementalOxygen')];
    expect(inputsAt(later, at(600))!.consciousness).toEqual({ value: 'alert', from: at(0), carried: true });
    expect(inputsAt(later, at(721))).toBeUndefined();
  });

  it('when readings arrive over time, then a point is scored by the card at each reading time with a complete set', () => {
    const series = news2Series(model, [...set(0), one(30, 'respiratoryRate', 22), one(40, 'spo2', 93), one(90, 'pulse', 80)], at(0), at(200));
    // 0: all well; 30: RR 22 → 2; 40: RR 2 + SpO2 93 → 2 = 4; 90: the readings of minute 0 are over 60 minutes old, so the set is incomplete.
    expect(series.map((p) => [p.at.toISOString(), p.score])).toEqual([[at(0).toISOString(), 0], [at(30).toISOString(), 2], [at(40).toISOString(), 4]]);
    expect(series[2].points).toMatchObject({ respiratoryRate: 2, spo2: 2 });
    expect(series[2].inputs.pulse.carried).toBe(true);
  });

  it.each([
    [4, { respiratoryRate: 2, spo2: 2 }, null, []],
    [5, { respiratoryRate: 2, spo2: 2, temperature: 1 }, 'urgent', ['aggregate-5']],
    [3, { consciousness: 3 }, 'urgent', ['single-parameter-3']],
    [7, { respiratoryRate: 3, spo2: 2, pulse: 2 }, 'emergency', ['aggregate-7', 'single-parameter-3']],
  ] as const)('when NEWS2 is %d with points %o, then the escalation is %s (%o)', (score, points, level, codes) => {
    const { escalation, reasons } = escalationOf(score, { ...points }, { consciousness: { en: 'Consciousness', zh: '意识' } });
    expect(escalation).toBe(level);
    expect(reasons.map((r) => r.code)).toEqual(codes);
    for (const r of reasons) expect(r.textZh).toMatch(/响应/);
  });

  it('when one parameter scores 3 with a low total, then the point is urgent with the red-score reason', () => {
    const [p] = news2Series(model, set(0, { consciousness: 'voice' }), at(0), at(0));
    expect([p.score, p.band, p.escalation]).toEqual([3, 'low-medium', 'urgent']);
    expect(p.reasons[0].text).toMatch(/Consciousness scored 3/);
  });

  it('when the score stays high for many readings, then one alert is raised for the episode, another only when it rises to emergency, and a new episode after a calm point raises again', () => {
    const levels = ['urgent', 'urgent', 'urgent', 'emergency', 'emergency', null, 'urgent'] as const;
    const alerts = episodeAlerts(levels.map((escalation, i) => ({ at: at(i * 5), escalation })));
    expect(alerts.map((a) => [a.level, a.at.getTime(), a.episodeStart.getTime()])).toEqual([
      ['urgent', at(0).getTime(), at(0).getTime()], ['emergency', at(15).getTime(), at(0).getTime()], ['urgent', at(30).getTime(), at(30).getTime()],
    ]);
  });

  it('when an episode starts at emergency, then a later urgent point in it raises nothing', () => {
    expect(episodeAlerts([{ at: at(0), escalation: 'emergency' }, { at: at(5), escalation: 'urgent' }]).map((a) => a.level)).toEqual(['emergency']);
  });

  it('when the same points are evaluated again, then the same alerts (same episode starts) come out', () => {
    const points = [{ at: at(0), escalation: null }, { at: at(5), escalation: 'urgent' as const }, { at: at(10), escalation: 'urgent' as const }];
    expect(episodeAlerts(points)).toEqual(episodeAlerts(points.slice(1)));
  });

  it('when a study already holds a doctor\'s assessment, then a home NEWS2 replaces only its NEWS2 facts and inputs and keeps the other scores', () => {
    const previous = { facts: { 'news2.score': 2, 'news2.band': 'low', 'qsofa.score': 2 }, scoreInputs: { news2: { pulse: 80 }, qsofa: { gcs: 14 } } };
    const merged = withNews2(previous, { facts: { 'news2.score': 7, 'news2.band': 'high' }, scoreInputs: { news2: { pulse: 125 } } }, 'news2');
    expect(merged).toEqual({ facts: { 'qsofa.score': 2, 'news2.score': 7, 'news2.band': 'high' }, scoreInputs: { news2: { pulse: 125 }, qsofa: { gcs: 14 } } });
    expect(withNews2(undefined, { facts: { 'news2.score': 0 } }, 'news2')).toEqual({ facts: { 'news2.score': 0 } });
  });
});
