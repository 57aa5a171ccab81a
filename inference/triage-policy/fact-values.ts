import { z } from 'zod';
import { applicabilityNote } from '../../contract/findings.ts';
import { evaluateCondition, type Scalar } from '../rules/conditions.ts';
import type { FactCatalogue, FactDef } from './facts.ts';

/**
 * One patient's triage fact values: read from a model's answer as the route has it, or from a
 * study's stored assessment of today or of before triage facts, then resolved against the
 * catalogue (`facts.ts`) into what the policy compares and writes.
 */

/** Fact values as a route stores them: numbers, and band labels for band facts. */
export type FactValues = Record<string, number | string>;

/**
 * What the triage route stores as a study's bedside assessment: every triage fact of every score
 * and risk it evaluated. Studies assessed before triage facts existed hold the answers by model id
 * instead (`{ news2: {score, band, redFlags}, qsofa: {score, band}, risks: [{modelId, risk, band}] }`);
 * `readAssessment` converts those on read with the cards' own declarations, so they are prioritised
 * as before.
 */
export interface ClinicalAssessment {
  facts: FactValues;
  /** The scores asked for whose card declined the patient, with the card's reason (`DeclinedScores`). */
  notApplicable?: DeclinedScores;
  /**
   * Each score's inputs in its card's canonical unit (`news2.temperature` in °C), kept beside the
   * facts so the measurements behind an assessment can be counted (surveillance: fever, tachypnoea);
   * triage reads only `facts`.
   */
  scoreInputs?: Record<string, Record<string, number | boolean | string>>;
}

/**
 * Scores asked for whose card declined the patient (NEWS2 under 16), by model id, with the card's
 * reason: their measurements were given but are in no fact, and the policy says so (`notCalculated`).
 */
export type DeclinedScores = Record<string, z.infer<typeof applicabilityNote>>;
const declinedScores = z.record(z.string(), applicabilityNote);

/** One answer's outputs, as the route has them or an older assessment stored them. */
export type AnswerOutputs = Record<string, unknown>;

/** The triage facts of one model's answer, by `<model id>.<fact>`; none when the card declares none. */
export function answerFacts(catalogue: FactCatalogue, modelId: string, answer: AnswerOutputs): FactValues {
  const source = catalogue.sources.get(modelId);
  if (source?.kind !== 'model') return {};
  const outputs = normaliseOutputs(answer);
  const values: FactValues = {};
  for (const key of source.facts) {
    const def = catalogue.facts.get(key)!;
    if (def.when) {
      values[key] = evaluateCondition(def.when, 'output', { value: (o) => outputs[o] }).ok ? 1 : 0;
    } else {
      const value = outputs[def.from!];
      if (value !== undefined) values[key] = typeof value === 'boolean' ? (value ? 1 : 0) : value;
    }
  }
  return values;
}

/** Bands become their label, lists (red flags) their length; what is not a number or text is dropped. */
function normaliseOutputs(answer: AnswerOutputs): Record<string, number | string | boolean> {
  const out: Record<string, number | string | boolean> = {};
  for (const [name, value] of Object.entries(answer)) {
    if (typeof value === 'number' && Number.isFinite(value)) out[name] = value;
    else if (typeof value === 'string' || typeof value === 'boolean') out[name] = value;
    else if (Array.isArray(value)) out[name] = value.length;
    else if (value && typeof value === 'object' && typeof (value as { label?: unknown }).label === 'string') out[name] = (value as { label: string }).label;
  }
  return out;
}

/**
 * What the policy reads of a stored assessment: its fact values, from the stored form of today or
 * of before triage facts, and the scores it declined (none before scores could decline).
 */
export function readAssessment(stored: unknown, catalogue: FactCatalogue): { facts: FactValues; notApplicable?: DeclinedScores } {
  if (!stored || typeof stored !== 'object') return { facts: {} };
  const record = stored as Record<string, unknown>;
  if (record.facts && typeof record.facts === 'object' && !Array.isArray(record.facts)) {
    const declined = declinedScores.safeParse(record.notApplicable);
    return { facts: record.facts as FactValues, ...(declined.success ? { notApplicable: declined.data } : {}) };
  }
  return { facts: factsAssessedBefore(record, catalogue) };
}

/** The facts of an assessment stored before triage facts: answers by model id, risks as a list. */
function factsAssessedBefore(record: Record<string, unknown>, catalogue: FactCatalogue): FactValues {
  const values: FactValues = {};
  for (const [id, answer] of Object.entries(record)) {
    if (id === 'risks' && Array.isArray(answer)) {
      for (const r of answer as { modelId?: unknown }[]) if (typeof r?.modelId === 'string') Object.assign(values, answerFacts(catalogue, r.modelId, r as AnswerOutputs));
    } else if (answer && typeof answer === 'object') {
      Object.assign(values, answerFacts(catalogue, id, answer as AnswerOutputs));
    }
  }
  return values;
}

/** A fact as the policy sees it: a number to compare (absent for a band label the card does not know) and its text. */
export interface ResolvedFact {
  value?: number;
  text: string;
}

/** Every fact given, resolved; a pool fact also names the member source that gave its value. */
export type ResolvedFacts = Map<string, ResolvedFact & { member?: string }>;

const formatValue = (def: Pick<FactDef, 'format'>, x: number) => (def.format === 'percent' ? `${(x * 100).toFixed(1)}%` : String(x));

/** Fact values resolved against the catalogue: band labels to ranks, pools to their highest member. Unknown keys are dropped. */
export function resolveFacts(catalogue: FactCatalogue, values: FactValues): ResolvedFacts {
  const resolved: ResolvedFacts = new Map();
  for (const [key, raw] of Object.entries(values)) {
    const def = catalogue.facts.get(key);
    if (!def || def.members) continue;
    if (def.kind === 'band') {
      const rank = def.bands!.indexOf(String(raw));
      resolved.set(key, { ...(rank >= 0 ? { value: rank } : {}), text: String(raw) });
    } else if (typeof raw === 'number' && Number.isFinite(raw)) {
      resolved.set(key, { value: raw, text: formatValue(def, raw) });
    }
  }
  for (const def of catalogue.facts.values()) {
    if (!def.members) continue;
    const best = def.members
      .map((m) => ({ m, v: resolved.get(m)?.value }))
      .filter((x): x is { m: string; v: number } => x.v !== undefined)
      .sort((a, b) => b.v - a.v)[0];
    if (best) resolved.set(def.key, { value: best.v, text: formatValue(def, best.v), member: catalogue.facts.get(best.m)!.source });
  }
  return resolved;
}

/** The threshold a comparison's value stands for: a band label becomes its rank. */
export function thresholdOf(catalogue: FactCatalogue, fact: string, value: Scalar): Scalar {
  if (typeof value !== 'string') return value;
  return catalogue.facts.get(fact)?.bands?.indexOf(value) ?? value;
}

/**
 * How a source is named in a "why" and in `{<source>}`: a model's mention over its own facts, a
 * pool's as the mention of the model with the highest value. Undefined when the source gave nothing.
 */
export function mentionText(catalogue: FactCatalogue, facts: ResolvedFacts, sourceId: string, lang: 'en' | 'zh'): string | undefined {
  const source = catalogue.sources.get(sourceId);
  if (!source) return undefined;
  if (source.kind === 'pool') {
    const member = facts.get(source.facts[0])?.member;
    return member ? mentionText(catalogue, facts, member, lang) : undefined;
  }
  if (source.kind !== 'model' || !source.facts.some((k) => facts.has(k))) return undefined;
  const template = lang === 'zh' ? source.mention!.textZh ?? source.mention!.text : source.mention!.text;
  return template.replace(/\{(\w+)\}/g, (_, name: string) => facts.get(`${sourceId}.${name}`)?.text ?? '–');
}
