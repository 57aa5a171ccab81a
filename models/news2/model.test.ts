/**
 * NEWS2 against RISK-EQUATIONS.md section 4: every worked example and the chart's band edges,
 * through the one generic evaluator with canonical inputs.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InputValidationError } from '../../inference/features.ts';
import type { ScoreModel } from '../../inference/registry.ts';
import { evaluateScoreModel, isNotApplicable } from '../../inference/score.ts';
import { evaluateScore } from '../../inference/scores/evaluate.ts';
import { maxScore } from '../../inference/scores/table.ts';
import { loadScoreCard, toCanonical } from '../../inference/scores/test-support.ts';

const dir = dirname(fileURLToPath(import.meta.url));
const card = loadScoreCard(dir);
const model: ScoreModel = { card, dir, key: `news2@${card.version}`, sha256: 'card' };

const normal = { respiratoryRate: 16, spo2: 97, spo2Scale: '1', supplementalOxygen: false, systolicBp: 125, pulse: 72, consciousness: 'alert', temperature: 37.0 };
type Obs = typeof normal;
const score = (o: Partial<Obs>) => evaluateScore(card, { ...normal, ...o });
const points = (o: Partial<Obs>, term: string) => score(o).terms.find((t) => t.term === term)!.points;

describe('NEWS2', () => {
  it.each([
    // RR, SpO2, scale, O2, SBP, HR, consciousness, T, total, band
    [16, 97, '1', false, 125, 72, 'alert', 37.0, 0, 'low'],
    [22, 94, '1', true, 105, 105, 'alert', 38.4, 8, 'high'],
    [26, 90, '1', true, 88, 135, 'voice', 34.8, 20, 'high'],
    [18, 96, '1', false, 140, 80, 'confusion', 37.0, 3, 'low-medium'],
    [20, 89, '2', true, 120, 80, 'alert', 37.0, 2, 'low'],
    [20, 97, '2', true, 120, 80, 'alert', 37.0, 5, 'medium'],
  ] as const)('when RR %d, SpO2 %d (scale %s, O2 %s), SBP %d, HR %d, %s, T %d, then NEWS2 is %d (%s)',
    (respiratoryRate, spo2, spo2Scale, supplementalOxygen, systolicBp, pulse, consciousness, temperature, total, band) => {
      const r = score({ respiratoryRate, spo2, spo2Scale, supplementalOxygen, systolicBp, pulse, consciousness, temperature });
      expect(r.score).toBe(total);
      expect(r.band.label).toBe(band);
    });

  it('when the maximum is reached, then it is the chart maximum of 20', () => {
    expect(maxScore(card)).toBe(20);
  });

  it('when a single parameter scores 3 with a total under 5, then the band is low-medium with a red flag naming it', () => {
    const r = score({ consciousness: 'confusion' });
    expect(r.band.label).toBe('low-medium');
    expect(r.band.rule).toMatch(/red score/);
    expect(r.redFlags).toEqual([expect.stringMatching(/red score.*Consciousness: 3/)]);
    expect(r.band.displayZh).toMatch(/红色评分/);
  });

  it('when a red score comes with a total of 7 or more, then the band stays high', () => {
    const r = score({ respiratoryRate: 26, systolicBp: 88, supplementalOxygen: true });
    expect(r.score).toBe(8);
    expect(r.band.label).toBe('high');
    expect(r.band.rule).toBeUndefined();
    expect(r.redFlags).toHaveLength(2);
  });

  it('when no parameter scores 3, then there are no red flags', () => {
    expect(score({ respiratoryRate: 22, pulse: 105 }).redFlags).toBeUndefined();
  });

  it('when temperature sits on the chart edges, then 35.0 → 3, 35.1 → 1, 36.0 → 1, 36.1 → 0, 38.0 → 0, 38.1 → 1, 39.0 → 1, 39.1 → 2', () => {
    const cases: [number, number][] = [[35.0, 3], [35.1, 1], [36.0, 1], [36.1, 0], [38.0, 0], [38.1, 1], [39.0, 1], [39.1, 2]];
    for (const [t, p] of cases) expect([t, points({ temperature: t }, 'temperature')]).toEqual([t, p]);
  });

  it('when temperature arrives in °F, then the card converts it to the same °C points (98.6 °F = 37 °C, 95 °F = 35 °C → 3)', () => {
    expect(toCanonical(card, 'temperature', 98.6, '°F')).toBeCloseTo(37, 9);
    expect(points({ temperature: toCanonical(card, 'temperature', 95, '°F') }, 'temperature')).toBe(3);
  });

  it('when respiration rate sits on the edges, then 8 → 3, 9 → 1, 11 → 1, 12 → 0, 20 → 0, 21 → 2, 24 → 2, 25 → 3', () => {
    for (const [rr, p] of [[8, 3], [9, 1], [11, 1], [12, 0], [20, 0], [21, 2], [24, 2], [25, 3]]) expect([rr, points({ respiratoryRate: rr }, 'respiratoryRate')]).toEqual([rr, p]);
  });

  it('when systolic BP sits on the edges, then 90 → 3, 91 → 2, 100 → 2, 101 → 1, 110 → 1, 111 → 0, 219 → 0, 220 → 3', () => {
    for (const [sbp, p] of [[90, 3], [91, 2], [100, 2], [101, 1], [110, 1], [111, 0], [219, 0], [220, 3]]) expect([sbp, points({ systolicBp: sbp }, 'systolicBp')]).toEqual([sbp, p]);
  });

  it('when pulse sits on the edges, then 40 → 3, 41 → 1, 50 → 1, 51 → 0, 90 → 0, 91 → 1, 110 → 1, 111 → 2, 130 → 2, 131 → 3', () => {
    for (const [hr, p] of [[40, 3], [41, 1], [50, 1], [51, 0], [90, 0], [91, 1], [110, 1], [111, 2], [130, 2], [131, 3]]) expect([hr, points({ pulse: hr }, 'pulse')]).toEqual([hr, p]);
  });

  it('when SpO2 is on Scale 1, then 91 → 3, 92 → 2, 93 → 2, 94 → 1, 95 → 1, 96 → 0, and oxygen adds 2 on its own line', () => {
    for (const [s, p] of [[91, 3], [92, 2], [93, 2], [94, 1], [95, 1], [96, 0]]) expect([s, points({ spo2: s }, 'spo2')]).toEqual([s, p]);
    expect(points({ supplementalOxygen: true }, 'airOrOxygen')).toBe(2);
  });

  // RCP NEWS2 Chart 1, SpO2 Scale 2 (target 88–92 %, only when prescribed), written out from the
  // chart rather than from the card: ≤83 → 3, 84–85 → 2, 86–87 → 1, 88–92 → 0, ≥93 on air → 0,
  // 93–94 on oxygen → 1, 95–96 on oxygen → 2, ≥97 on oxygen → 3. Both sides of every edge, on air
  // and on oxygen; a value between two chart rows falls in the higher row, as for every parameter.
  it.each([
    // SpO2, on air, on oxygen
    [40, 3, 3], [83, 3, 3], [83.5, 2, 2], [84, 2, 2], [85, 2, 2], [86, 1, 1], [87, 1, 1], [88, 0, 0], [90, 0, 0], [92, 0, 0],
    [92.5, 0, 1], [93, 0, 1], [94, 0, 1], [95, 0, 2], [96, 0, 2], [97, 0, 3], [100, 0, 3],
  ] as const)('when SpO2 is %d % on Scale 2, then it scores %d on air and %d on oxygen (RCP chart)', (spo2, onAir, onOxygen) => {
    const s2 = (supplementalOxygen: boolean) => points({ spo2, spo2Scale: '2', supplementalOxygen }, 'spo2');
    expect([s2(false), s2(true)]).toEqual([onAir, onOxygen]);
  });

  it('when the same saturations are on Scale 1, then they score as Scale 1 whatever the oxygen (88 → 3, 93 → 2, 97 → 0)', () => {
    for (const supplementalOxygen of [false, true]) {
      expect([88, 93, 97].map((spo2) => points({ spo2, spo2Scale: '1', supplementalOxygen }, 'spo2'))).toEqual([3, 2, 0]);
    }
  });

  it('when consciousness is new confusion, voice, pain or unresponsive, then it scores 3; alert scores 0', () => {
    for (const c of ['confusion', 'voice', 'pain', 'unresponsive']) expect(points({ consciousness: c }, 'consciousness')).toBe(3);
    expect(points({ consciousness: 'alert' }, 'consciousness')).toBe(0);
  });

  it('when a total is 4, 5, 6 or 7, then the band edges are low | medium | medium | high', () => {
    // RR 21–24 → 2, pulse 111–130 → 2, temperature ≥39.1 → 2, SBP 101–110 → 1: no red score.
    expect(score({ respiratoryRate: 22, pulse: 115 }).band.label).toBe('low');
    expect(score({ respiratoryRate: 22, pulse: 115, systolicBp: 105 }).band.label).toBe('medium');
    expect(score({ respiratoryRate: 22, pulse: 115, temperature: 39.5 }).band.label).toBe('medium');
    expect(score({ respiratoryRate: 22, pulse: 115, temperature: 39.5, systolicBp: 105 }).band.label).toBe('high');
  });

  it('when a term is explained, then the reason names the value and the chart row', () => {
    const rr = score({ respiratoryRate: 22 }).terms[0];
    expect(rr).toMatchObject({ term: 'respiratoryRate', display: 'Respiration rate', displayZh: '呼吸频率', points: 2 });
    expect(rr.because).toBe('respiratoryRate 22 in 21–24 → 2 points');
    expect(score({ spo2: 97, spo2Scale: '2', supplementalOxygen: true }).terms[1].because).toMatch(/≥97 on oxygen.*spo2Scale 2.*→ 3 points/);
  });
});

/** What a request body gets back: through the card's inputs (units, defaults) and its population gate. */
describe('NEWS2 requests: the adult population and the SpO2 scale as inputs', () => {
  const body = { ...normal, systolicBp: { value: 125, unit: 'mmHg' }, temperature: { value: 37.0, unit: '°C' } };
  const ask = (extra: Record<string, unknown>) => evaluateScoreModel(model, { ...body, ...extra });

  it('when the patient is 15, then NEWS2 is not applicable with the reason in both languages, and there is no score or band', () => {
    const answer = ask({ age: 15 });
    expect(isNotApplicable(answer)).toBe(true);
    expect(answer.applicability).toEqual({
      applicable: false,
      reason: { code: 'OUTSIDE_POPULATION_AGE', text: 'patient age 15 y outside 16–120 y', textZh: '患者年龄 15 岁 不在 16–120 岁之内' },
      caveats: [],
    });
    expect(answer).not.toHaveProperty('score');
    expect(answer).not.toHaveProperty('band');
    expect(answer.inputs.age).toEqual({ value: 15, unit: 'years' });
  });

  it('when a sick child would score high, then it is still not applicable: the gate comes before the table', () => {
    expect(isNotApplicable(ask({ age: 6, respiratoryRate: 30, pulse: 140 }))).toBe(true);
    expect(isNotApplicable(ask({ age: 15.9 }))).toBe(true);
  });

  it('when the patient is 16 or older and not pregnant (or cannot be), then NEWS2 is scored with nothing left unchecked', () => {
    for (const patient of [{ age: 16, sex: 'male' }, { age: 45, pregnant: 'no' }, { age: 45, sex: 'female', pregnant: 'no' }, { age: 120 }]) {
      const answer = ask(patient);
      expect(answer).toMatchObject({ score: 0, band: { label: 'low' }, applicability: { applicable: true, caveats: [] } });
    }
  });

  it('when neither age nor pregnancy is given (home readings carry neither), then NEWS2 is scored with both caveats', () => {
    const answer = ask({});
    expect(answer).toMatchObject({ score: 0, applicability: { applicable: true, caveats: [
      { code: 'AGE_NOT_RECORDED', text: 'patient age not recorded', textZh: '未记录患者年龄' },
      { code: 'PREGNANCY_NOT_RECORDED', text: 'pregnancy not recorded', textZh: '未记录是否妊娠' },
    ] } });
  });

  it('when the patient is pregnant, then NEWS2 is not applicable, naming MEOWS, even with a score that would be high: the gate comes before the table', () => {
    const answer = ask({ age: 29, sex: 'female', pregnant: 'yes', respiratoryRate: 26, pulse: 135 });
    expect(isNotApplicable(answer)).toBe(true);
    expect(answer.applicability).toMatchObject({ applicable: false, reason: { code: 'OUTSIDE_POPULATION_PREGNANCY', text: expect.stringMatching(/pregnant.*obstetric early-warning chart \(e\.g\. MEOWS\)/), textZh: expect.stringContaining('MEOWS') } });
    expect(answer).not.toHaveProperty('score');
    expect(answer.inputs.pregnant).toEqual({ value: 'yes' });
  });

  it('when a woman of 30 gives no pregnancy status, then NEWS2 is scored with that caveat; a man of 30, or a woman of 70, gets none', () => {
    expect(ask({ age: 30, sex: 'female' }).applicability!.caveats.map((c) => c.code)).toEqual(['PREGNANCY_NOT_RECORDED']);
    expect(ask({ age: 30, sex: 'male' }).applicability!.caveats).toEqual([]);
    expect(ask({ age: 70, sex: 'female' }).applicability!.caveats).toEqual([]);
  });

  it('when pregnancy is anything but yes or no, then the request is refused by name', () => {
    expect(() => ask({ pregnant: true })).toThrow(/pregnant/);
    expect(() => ask({ pregnant: 'maybe' })).toThrow(/pregnant: expected one of no, yes/);
  });

  it('when the age is impossible, then the request is refused by name (422), not declined', () => {
    expect(() => ask({ age: 130 })).toThrow(InputValidationError);
  });

  it('when spo2Scale is not given, then Scale 1 is used and the answer says so (88 % on oxygen → 3)', () => {
    const answer = ask({ spo2: 88, supplementalOxygen: true });
    if (isNotApplicable(answer)) throw new Error('declined');
    expect(answer.inputs.spo2Scale).toEqual({ value: '1' });
    expect(answer.terms.find((t) => t.term === 'spo2')).toMatchObject({ points: 3, because: expect.stringMatching(/Scale 1.*spo2Scale 1/) });
  });

  it('when spo2Scale 2 is prescribed, then the same 88 % on oxygen scores 0, and the answer records scale 2', () => {
    const answer = ask({ spo2: 88, supplementalOxygen: true, spo2Scale: '2', age: 70 });
    if (isNotApplicable(answer)) throw new Error('declined');
    expect(answer.inputs.spo2Scale).toEqual({ value: '2' });
    expect(answer.terms.find((t) => t.term === 'spo2')).toMatchObject({ points: 0, because: expect.stringMatching(/88–92 \(Scale 2\).*spo2Scale 2/) });
    expect(answer.score).toBe(2);
  });

  it('when spo2Scale is anything but 1 or 2, then the request is refused by name', () => {
    expect(() => ask({ spo2Scale: '3' })).toThrow(/spo2Scale: expected one of 1, 2/);
    expect(() => ask({ spo2Scale: 2 })).toThrow(/spo2Scale/);
  });
});
