import type { EscalationLevel, EscalationReason, VitalParameter } from '../../contract/vitals.ts';
import type { FeatureSpec } from '../../inference/model-card.ts';
import type { ScoreModel } from '../../inference/registry.ts';
import type { ClinicalAssessment } from '../../inference/triage.ts';
import type { ApplicabilityNote } from '../../contract/findings.ts';
import { checkScorePopulation } from '../../inference/applicability.ts';
import { evaluateScoreModel, isNotApplicable } from '../../inference/score.ts';
import type { EvaluatedPoint, SeriesReadingRow, VitalsRules } from '../../store/vitals.ts';
import { vitalFeatures } from './observations.ts';

/**
 * NEWS2 over time. A point is evaluated at each time a reading was taken, when every parameter
 * has a value at or before that time within its carry-forward window; the NEWS2 card (through
 * the registry, inference/score.ts) scores it, so there is one NEWS2 implementation. Each point
 * says which values were carried forward and from when.
 */

/**
 * How long a parameter's last value stands in for a new one, in minutes. Measured signs
 * (respiration, SpO2, pulse, blood pressure, temperature): 60 min — a wearable sends every few
 * minutes and a home cuff or thermometer at least hourly when someone is unwell (RCP: hourly
 * monitoring from a score of 5), so a value older than that no longer describes the patient.
 * Consciousness and supplemental oxygen are stated, not sensed (a carer's ACVPU, an oxygen
 * concentrator that is on or off) and change rarely at home: 12 h, about one carer's check per shift.
 */
export const CARRY_FORWARD_MINUTES: Record<VitalParameter, number> = {
  respiratoryRate: 60, spo2: 60, pulse: 60, systolicBp: 60, temperature: 60, consciousness: 720, supplementalOxygen: 720,
};

export const LONGEST_CARRY_MS = Math.max(...Object.values(CARRY_FORWARD_MINUTES)) * 60_000;

/** RCP NEWS2 thresholds and triggers: an aggregate of 5 asks for an urgent response, 7 for an emergency one. */
export const NEWS2_THRESHOLDS = { urgent: 5, emergency: 7 } as const;

/** A stored reading as the series reads it. */
export type SeriesReading = SeriesReadingRow;

/** The readings each parameter had at `at`, within its window: the latest one (ties: the highest device id, to be repeatable). */
export function inputsAt(readings: readonly SeriesReading[], at: Date): EvaluatedPoint['inputs'] | undefined {
  const inputs: EvaluatedPoint['inputs'] = {};
  for (const parameter of Object.keys(CARRY_FORWARD_MINUTES) as VitalParameter[]) {
    const oldest = at.getTime() - CARRY_FORWARD_MINUTES[parameter] * 60_000;
    let best: SeriesReading | undefined;
    for (const r of readings) {
      if (r.parameter !== parameter || r.at.getTime() > at.getTime() || r.at.getTime() < oldest) continue;
      if (!best || r.at.getTime() > best.at.getTime() || (r.at.getTime() === best.at.getTime() && r.deviceId > best.deviceId)) best = r;
    }
    if (!best) return undefined;
    inputs[parameter] = { value: best.value, from: best.at, carried: best.at.getTime() < at.getTime() };
  }
  return inputs;
}

/** RCP escalation of one NEWS2 answer: emergency at 7 or more, urgent at 5 or more or when a single parameter scores 3. */
export function escalationOf(score: number, points: Record<string, number>, display: Record<string, { en: string; zh: string }>): Pick<EvaluatedPoint, 'escalation' | 'reasons'> {
  const reasons: EscalationReason[] = [];
  if (score >= NEWS2_THRESHOLDS.emergency) {
    reasons.push({ code: 'aggregate-7', text: `NEWS2 ${score} (7 or more): emergency response`, textZh: `NEWS2 ${score}分（≥7）：紧急抢救响应` });
  } else if (score >= NEWS2_THRESHOLDS.urgent) {
    reasons.push({ code: 'aggregate-5', text: `NEWS2 ${score} (5 or more): urgent response`, textZh: `NEWS2 ${score}分（≥5）：紧急响应` });
  }
  for (const [term, p] of Object.entries(points)) {
    if (p < 3) continue;
    const name = display[term] ?? { en: term, zh: term };
    reasons.push({ code: 'single-parameter-3', text: `${name.en} scored 3 (red score): urgent response`, textZh: `${name.zh}单项3分（红色评分）：紧急响应` });
  }
  const escalation = score >= NEWS2_THRESHOLDS.emergency ? 'emergency' : reasons.length ? 'urgent' : null;
  return { escalation, reasons };
}

/**
 * The NEWS2 points at each distinct reading time in [from, to] that has a complete set, scored
 * by the card. `readings` must cover [from − LONGEST_CARRY_MS, to].
 */
export function news2Series(model: ScoreModel, readings: readonly SeriesReading[], from: Date, to: Date): EvaluatedPoint[] {
  const features = vitalFeatures(model);
  const times = [...new Set(readings.map((r) => r.at.getTime()).filter((t) => t >= from.getTime() && t <= to.getTime()))].sort((a, b) => a - b);
  const termDisplay = Object.fromEntries((model.card.scoring as { terms: { term: string; display: string; displayZh?: string }[] }).terms
    .map((t) => [t.term, { en: t.display, zh: t.displayZh ?? t.display }]));
  const series: EvaluatedPoint[] = [];
  for (const time of times) {
    const at = new Date(time);
    const inputs = inputsAt(readings, at);
    if (!inputs) continue;
    const answer = evaluateScoreModel(model, news2Body(features, inputs));
    // Home readings carry no birth date and no pregnancy status, so the card's gate cannot decline
    // them: NEWS2 is computed with the caveats that both are unknown (the card's populationGate, whenMissing).
    if (isNotApplicable(answer)) throw new Error(`NEWS2 declined a home reading set: ${answer.applicability.reason.text}`);
    const points = Object.fromEntries(answer.terms.map((t) => [t.term, t.points]));
    series.push({
      at, score: answer.score, band: answer.band.label, points, inputs, model: { id: model.card.id, version: model.card.version },
      ...escalationOf(answer.score, points, termDisplay),
    });
  }
  return series;
}

/**
 * What every home NEWS2 point leaves unchecked of the card's population: readings carry neither a
 * birth date nor a pregnancy status, so the gate answers as its `whenMissing` says (NEWS2: scored,
 * `AGE_NOT_RECORDED` and `PREGNANCY_NOT_RECORDED`).
 */
export function homeReadingCaveats(model: ScoreModel): ApplicabilityNote[] {
  return model.card.populationGate ? checkScorePopulation({}, model.card.populationGate).caveats : [];
}

/** Canonical inputs as the NEWS2 card's request body: numbers with the card's canonical unit, as the card asks of a number with several units. */
export function news2Body(features: Map<VitalParameter, FeatureSpec>, inputs: EvaluatedPoint['inputs']): Record<string, unknown> {
  return Object.fromEntries(Object.entries(inputs).map(([name, { value }]) => {
    const unit = features.get(name as VitalParameter)!.unit;
    return [name, typeof value === 'number' && unit ? { value, unit } : value];
  }));
}

export const ESCALATION_RANK: Record<EscalationLevel, number> = { urgent: 1, emergency: 2 };

/** A point of the series as the episode rule reads it. */
export interface EpisodePoint {
  at: Date;
  escalation: EscalationLevel | null;
}

/** An alert the episode rule raises: at `at`, at `level`, in the episode that began at `episodeStart`. */
export interface RaisedAlert {
  at: Date;
  level: EscalationLevel;
  episodeStart: Date;
}

/**
 * Alerts once per episode. An episode is a run of consecutive escalated points (it ends at the
 * first point that is not); its first point raises an alert at its level, and a later point in
 * it raises another only when its level is higher than any raised in the episode (urgent, then
 * emergency) — never one per reading while the score stays high. Deterministic in the points,
 * so re-evaluating the same readings raises the same alerts (their keys make that a no-op).
 */
export function episodeAlerts(points: readonly EpisodePoint[]): RaisedAlert[] {
  const alerts: RaisedAlert[] = [];
  let episodeStart: Date | undefined;
  let highest = 0;
  for (const p of points) {
    if (!p.escalation) {
      episodeStart = undefined;
      highest = 0;
      continue;
    }
    episodeStart ??= p.at;
    if (ESCALATION_RANK[p.escalation] > highest) {
      highest = ESCALATION_RANK[p.escalation];
      alerts.push({ at: p.at, level: p.escalation, episodeStart });
    }
  }
  return alerts;
}

/** How far back an alert's trend reaches: the points a clinician sees with it. */
export const ALERT_TREND_MS = 6 * 3600_000;

/** The rules the store runs inside the ingest transaction (store/vitals.ts), with this card. */
export function vitalsRules(model: ScoreModel): VitalsRules {
  return { lookbackMs: LONGEST_CARRY_MS, evaluate: (readings, from, to) => news2Series(model, readings, from, to), alerts: episodeAlerts, trendMs: ALERT_TREND_MS };
}

/** Each parameter's scoring as the card has it — rows for a number (SpO2: Scale 1), points per value for a coded one — for drawing its bands. */
export function scoringBands(model: ScoreModel): ParameterBands[] {
  const terms = (model.card.scoring as { terms: Record<string, unknown>[] }).terms;
  const out: ParameterBands[] = [];
  for (const [parameter, feature] of vitalFeatures(model)) {
    const term = terms.find((t) => t.feature === parameter);
    // A selection (SpO2) is drawn with its default case: Scale 1, the one that applies unless prescribed otherwise.
    const rule = (term ?? terms.find((t) => t.term === parameter && 'select' in t)) as Record<string, unknown> | undefined;
    const chosen = (rule && 'select' in rule ? (rule.cases as Record<string, Record<string, unknown>>)['1'] : rule) as { bands?: { upTo?: number; points: number }[]; map?: Record<string, number> } | undefined;
    if (!chosen) continue;
    out.push({
      parameter, display: feature.display, ...(feature.displayZh ? { displayZh: feature.displayZh } : {}), ...(feature.unit ? { unit: feature.unit } : {}),
      bands: (chosen.bands ?? []).map(({ upTo, points }) => ({ ...(upTo !== undefined ? { upTo } : {}), points })),
      ...(chosen.map ? { categories: chosen.map } : {}),
    });
  }
  return out;
}

type ParameterBands = { parameter: string; display: string; displayZh?: string; unit?: string; bands: { upTo?: number; points: number }[]; categories?: Record<string, number> };

/**
 * A study's assessment with a new NEWS2 from home: the NEWS2 facts and inputs replaced, every
 * other score's kept (a doctor's qSOFA or CURB-65 on the film is not undone by a wearable).
 * Facts are named `<model>.<fact>` (inference/triage-policy/fact-values.ts).
 */
export function withNews2(previous: ClinicalAssessment | undefined, news2: ClinicalAssessment, modelId: string): ClinicalAssessment {
  const others = Object.fromEntries(Object.entries(previous?.facts ?? {}).filter(([name]) => !name.startsWith(`${modelId}.`)));
  const inputs = { ...previous?.scoreInputs, ...news2.scoreInputs };
  return { facts: { ...others, ...news2.facts }, ...(Object.keys(inputs).length ? { scoreInputs: inputs } : {}) };
}
