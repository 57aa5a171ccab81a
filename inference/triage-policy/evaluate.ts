import { z } from 'zod';
import { triageLevel, type TriageLevel, type TriageReason, type TriageResult } from '../../contract/studies.ts';

/**
 * The triage policy: imaging findings, NEWS2, qSOFA, CURB-65 and risk answers for one patient
 * or study become one priority (0–100), a level on the Chinese four-level emergency scale
 * (I 濒危, II 危重, III 急症, IV 非急症), and the reasons. The policy is data
 * (`models/triage-policy/model.json`, task `triage`, field `policy`); this file only reads it.
 *
 * ## `policy` format
 *
 * ```jsonc
 * {
 *   "levels": [                      // least urgent first; priority ranges contiguous and ascending
 *     { "level": "IV", "display": "IV — non-urgent", "displayZh": "Ⅳ级 非急症", "priority": [0, 25],
 *       "targetMinutes": 240 },       // reading target: a study waiting longer is overdue (0 = immediately)
 *     { "level": "III", …, "priority": [25, 55] }, { "level": "II", …, "priority": [55, 85] },
 *     { "level": "I", …, "priority": [85, 100] }
 *   ],
 *   "rules": [                       // each rule that holds sets a minimum level and a priority floor
 *     { "code": "news2-high", "when": { "fact": "news2.score", "op": "ge", "value": 7 },
 *       "level": "II", "floor": 62,   // floor defaults to the level's lower bound and must lie in its range
 *       "text": "NEWS2 {news2} ({news2Band}) …", "textZh": "…",
 *       "subsumedBy": ["…"] }         // optional: hide this reason when a stronger rule holds too
 *   ],
 *   "contributions": [               // continuous, order cases inside a level: min(max, per × fact)
 *     { "code": "news2-score", "fact": "news2.score", "per": 1, "max": 10, "text": "…", "textZh": "…" }
 *   ],
 *   "nothing": { "text": "…", "textZh": "…", "why": "no urgent finding or score", "whyZh": "…" }   // when no rule holds
 * }
 * ```
 *
 * A condition is `{fact, op, value}`, `{finding: {labels?, atLeast: 'refer' | 'positive',
 * minProbability?}}` (some finding with one of the labels, or any label, at least that status),
 * or `{anyOf: […]}` / `{allOf: […]}`. Facts: `news2.score`, `news2.redScore` (1 when NEWS2 has a
 * red score: band low-medium or red flags), `qsofa.score`, `curb65.score`, `risk.max` (highest
 * risk 0..1), `finding.positive.maxProbability`, `finding.any.maxProbability`. A fact that was not
 * given satisfies no condition and contributes 0. Text templates may use {news2} {news2Band}
 * {qsofa} {curb65} {finding} {risk} {points}; in Chinese templates {finding} names the finding by
 * its `displayZh` when the caller gives one.
 *
 * ## Monotone by construction
 *
 * More severe inputs (a higher score, a red score, a higher probability, a finding moving
 * negative → refer → positive, one more finding or risk) must never lower the priority. The schema
 * only allows what keeps that true: comparisons are `ge`/`gt` only, `atLeast` statuses, `per`
 * and `max` ≥ 0. Then every rule's truth and every contribution is non-decreasing in severity;
 *   level    = the highest level of the rules that hold (else the first level),
 *   raw      = max(floors of the rules that hold, 0) + Σ contributions,
 *   priority = raw clamped into the level's range, rounded to 0.1.
 * With contiguous ranges a higher level's floor is ≥ a lower level's ceiling, so the clamp is
 * monotone too, and sorting a worklist by priority never contradicts the levels.
 */

const LEVELS = triageLevel.options;
export type { TriageLevel, TriageReason, TriageResult } from '../../contract/studies.ts';

const FACTS = ['news2.score', 'news2.redScore', 'qsofa.score', 'curb65.score', 'risk.max', 'finding.positive.maxProbability', 'finding.any.maxProbability'] as const;
type Fact = (typeof FACTS)[number];
const PLACEHOLDERS = ['news2', 'news2Band', 'qsofa', 'curb65', 'finding', 'risk', 'points'];

export type PolicyCondition =
  | { fact: Fact; op: 'ge' | 'gt'; value: number }
  | { finding: { labels?: string[]; atLeast: 'refer' | 'positive'; minProbability?: number } }
  | { anyOf: PolicyCondition[] }
  | { allOf: PolicyCondition[] };

const conditionSchema: z.ZodType<PolicyCondition> = z.lazy(() => z.union([
  z.object({ fact: z.enum(FACTS), op: z.enum(['ge', 'gt']), value: z.number() }).strict(),
  z.object({
    finding: z.object({
      labels: z.array(z.string().min(1)).min(1).optional(),
      atLeast: z.enum(['refer', 'positive']),
      minProbability: z.number().min(0).max(1).optional(),
    }).strict(),
  }).strict(),
  z.object({ anyOf: z.array(conditionSchema).min(1) }).strict(),
  z.object({ allOf: z.array(conditionSchema).min(1) }).strict(),
]));

const template = z.string().min(1).superRefine((text, ctx) => {
  for (const [, name] of text.matchAll(/\{(\w+)\}/g)) {
    if (!PLACEHOLDERS.includes(name)) ctx.addIssue({ code: 'custom', message: `unknown placeholder {${name}}; known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}` });
  }
});

export const policySchema = z.object({
  levels: z.array(z.object({
    level: z.enum(LEVELS),
    display: z.string().min(1),
    displayZh: z.string().min(1),
    priority: z.tuple([z.number().min(0).max(100), z.number().min(0).max(100)]),
    /** Minutes a study of this level may wait to be read (its service-level target); 0 = immediately. */
    targetMinutes: z.number().min(0),
  }).strict()).min(1),
  rules: z.array(z.object({
    code: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case code'),
    when: conditionSchema,
    level: z.enum(LEVELS),
    floor: z.number().min(0).max(100).optional(),
    text: template,
    textZh: template,
    /** Codes of rules that say the same thing more strongly: when one of them holds too, this rule's
     *  reason is not listed (its level and floor still count, so priority stays monotone). */
    subsumedBy: z.array(z.string()).optional(),
    rationale: z.string().optional(),
  }).strict()),
  contributions: z.array(z.object({
    code: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case code'),
    fact: z.enum(FACTS),
    per: z.number().min(0, 'per must be ≥ 0 so that priority stays monotone'),
    max: z.number().min(0, 'max must be ≥ 0 so that priority stays monotone'),
    text: template,
    textZh: template,
  }).strict()).default([]),
  /** The reason when no rule holds, and the start of the worklist line then. */
  nothing: z.object({ text: template, textZh: template, why: template, whyZh: template }).strict(),
}).strict().superRefine((p, ctx) => {
  const seen = new Set<string>();
  p.levels.forEach((l, i) => {
    if (seen.has(l.level)) ctx.addIssue({ code: 'custom', path: ['levels', i], message: `level ${l.level} appears twice` });
    seen.add(l.level);
    if (l.priority[0] > l.priority[1]) ctx.addIssue({ code: 'custom', path: ['levels', i], message: `level ${l.level} priority range [${l.priority}] is reversed` });
    const prev = p.levels[i - 1];
    if (prev && prev.priority[1] !== l.priority[0]) {
      ctx.addIssue({ code: 'custom', path: ['levels', i], message: `level ${l.level} starts at ${l.priority[0]} but ${prev.level} ends at ${prev.priority[1]}: ranges must be contiguous and ascending (least urgent first)` });
    }
    if (prev && l.targetMinutes > prev.targetMinutes) {
      ctx.addIssue({ code: 'custom', path: ['levels', i, 'targetMinutes'], message: `level ${l.level} may wait ${l.targetMinutes} min, longer than the less urgent ${prev.level} (${prev.targetMinutes} min)` });
    }
  });
  const codes = new Set<string>();
  [...p.rules, ...p.contributions].forEach((r) => {
    if (codes.has(r.code)) ctx.addIssue({ code: 'custom', path: ['rules'], message: `code ${r.code} is used twice` });
    codes.add(r.code);
  });
  p.rules.forEach((r, i) => {
    for (const code of r.subsumedBy ?? []) {
      if (!p.rules.some((x) => x.code === code)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'subsumedBy'], message: `rule ${r.code} is subsumed by ${code}, which is not a rule` });
    }
    const level = p.levels.find((l) => l.level === r.level);
    if (!level) {
      ctx.addIssue({ code: 'custom', path: ['rules', i, 'level'], message: `rule ${r.code} sets level ${r.level}, which the policy's levels do not define` });
    } else if (r.floor !== undefined && (r.floor < level.priority[0] || r.floor > level.priority[1])) {
      ctx.addIssue({ code: 'custom', path: ['rules', i, 'floor'], message: `rule ${r.code} floor ${r.floor} lies outside level ${r.level}'s range [${level.priority}]` });
    }
  });
});

export type TriagePolicy = z.infer<typeof policySchema>;

/** The part of a TriageCard (inference/model-card.ts) the evaluator reads. */
export interface TriageCardLike {
  id: string;
  policy: Record<string, unknown>;
}

export interface TriageInput {
  /** `displayZh` (the model card's Chinese label name) names the finding in Chinese text. */
  findings?: { label: string; display: string; displayZh?: string; probability: number; positive: boolean; refer?: boolean; modelId: string }[];
  news2?: { score: number; band: string; redFlags?: string[] };
  qsofa?: { score: number };
  curb65?: { score: number };
  /** e.g. CVD risk: low weight, not acute. */
  risks?: { modelId: string; risk: number; band: string }[];
}



/** A policy that cannot be evaluated: refuse the card at start, naming the problem. */
export class TriagePolicyError extends Error {
  readonly code = 'TRIAGE_POLICY';
  constructor(readonly policyId: string, problem: string) {
    super(`triage policy ${policyId}: ${problem}`);
  }
}

const cache = new WeakMap<object, TriagePolicy>();

/** Validates `card.policy`; call it when the card loads so a bad policy refuses to start. */
export function checkPolicy(card: TriageCardLike): TriagePolicy {
  const cached = cache.get(card);
  if (cached) return cached;
  const parsed = policySchema.safeParse(card.policy);
  if (!parsed.success) {
    throw new TriagePolicyError(card.id, `policy is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  cache.set(card, parsed.data);
  return parsed.data;
}

type Finding = NonNullable<TriageInput['findings']>[number];
const STATUS_RANK = { negative: 0, refer: 1, positive: 2 } as const;
const status = (f: Finding): keyof typeof STATUS_RANK => (f.positive ? 'positive' : f.refer ? 'refer' : 'negative');

/** Things a reason or the worklist line can mention. */
type Mention = { kind: 'news2' | 'qsofa' | 'curb65' | 'risk' } | { kind: 'finding'; finding: Finding };

/** Scores a patient or study against the policy. Pure; inputs are trusted (the API validates them). */
export function triage(card: TriageCardLike, input: TriageInput): TriageResult {
  const policy = checkPolicy(card);
  const findings = (input.findings ?? []).filter((f) => Number.isFinite(f.probability));
  const facts = factsOf(input, findings);
  const ctx = { input, findings, facts };

  const levelIndex = (l: TriageLevel) => policy.levels.findIndex((x) => x.level === l);
  let level = 0;
  let floor = 0;
  const reasons: (TriageReason & { mentions: Mention[] })[] = [];
  const held = new Map(policy.rules.map((rule) => [rule.code, evalCondition(rule.when, ctx)]));
  for (const rule of policy.rules) {
    const result = held.get(rule.code)!;
    if (!result.ok) continue;
    const range = policy.levels[levelIndex(rule.level)].priority;
    const ruleFloor = rule.floor ?? range[0];
    level = Math.max(level, levelIndex(rule.level));
    floor = Math.max(floor, ruleFloor);
    if (rule.subsumedBy?.some((code) => held.get(code)?.ok)) continue;
    reasons.push({ code: rule.code, ...fillBoth(rule, ctx, result.mentions), weight: ruleFloor, mentions: result.mentions });
  }

  let added = 0;
  const contributionReasons: typeof reasons = [];
  for (const c of policy.contributions) {
    const value = facts[c.fact];
    if (value === undefined) continue;
    const points = Math.min(c.max, c.per * value);
    if (!(points > 0)) continue;
    added += points;
    const mentions = mentionsOfFact(c.fact, ctx);
    contributionReasons.push({ code: c.code, ...fillBoth(c, ctx, mentions, { points: round1(points).toFixed(1) }), weight: round1(points), mentions });
  }

  const chosen = policy.levels[level];
  const [lo, hi] = chosen.priority;
  const priority = round1(Math.min(hi, Math.max(lo, floor + added)));

  const nothingHeld = ![...held.values()].some((r) => r.ok);
  if (nothingHeld) reasons.push({ code: 'nothing', ...fillBoth(policy.nothing, ctx, []), weight: 0, mentions: [] });
  const ordered = [...reasons.sort((a, b) => b.weight - a.weight), ...contributionReasons.sort((a, b) => b.weight - a.weight)];

  // The worklist line names what drove the level; contributions only when no rule held.
  const whyIn = (lang: Lang) => (nothingHeld
    ? whyLine(ordered, ctx, lang, fill(lang === 'en' ? policy.nothing.why : policy.nothing.whyZh, variables(ctx, [], lang)))
    : whyLine(reasons, ctx, lang, undefined));
  return {
    priority,
    level: chosen.level,
    levelDisplay: chosen.display,
    levelDisplayZh: chosen.displayZh,
    ...(input.news2 ? { news2Band: input.news2.band } : {}),
    reasons: ordered.map(({ mentions: _m, ...r }) => r),
    why: whyIn('en'),
    whyZh: whyIn('zh'),
  };
}

type Ctx = { input: TriageInput; findings: Finding[]; facts: Partial<Record<Fact, number>> };

function factsOf(input: TriageInput, findings: Finding[]): Partial<Record<Fact, number>> {
  const facts: Partial<Record<Fact, number>> = {};
  if (input.news2) {
    facts['news2.score'] = input.news2.score;
    facts['news2.redScore'] = input.news2.band === 'low-medium' || (input.news2.redFlags?.length ?? 0) > 0 ? 1 : 0;
  }
  if (input.qsofa) facts['qsofa.score'] = input.qsofa.score;
  if (input.curb65) facts['curb65.score'] = input.curb65.score;
  const risks = (input.risks ?? []).filter((r) => Number.isFinite(r.risk));
  if (risks.length) facts['risk.max'] = Math.max(...risks.map((r) => r.risk));
  const positives = findings.filter((f) => f.positive);
  if (positives.length) facts['finding.positive.maxProbability'] = Math.max(...positives.map((f) => f.probability));
  if (findings.length) facts['finding.any.maxProbability'] = Math.max(...findings.map((f) => f.probability));
  return facts;
}

function evalCondition(c: PolicyCondition, ctx: Ctx): { ok: boolean; mentions: Mention[] } {
  if ('anyOf' in c) {
    const held = c.anyOf.map((x) => evalCondition(x, ctx)).filter((r) => r.ok);
    return { ok: held.length > 0, mentions: held.flatMap((r) => r.mentions) };
  }
  if ('allOf' in c) {
    const all = c.allOf.map((x) => evalCondition(x, ctx));
    return all.every((r) => r.ok) ? { ok: true, mentions: all.flatMap((r) => r.mentions) } : { ok: false, mentions: [] };
  }
  if ('finding' in c) {
    const { labels, atLeast, minProbability } = c.finding;
    const match = ctx.findings
      .filter((f) => (!labels || labels.includes(f.label)) && STATUS_RANK[status(f)] >= STATUS_RANK[atLeast] && f.probability >= (minProbability ?? 0))
      .sort((a, b) => STATUS_RANK[status(b)] - STATUS_RANK[status(a)] || b.probability - a.probability)[0];
    return match ? { ok: true, mentions: [{ kind: 'finding', finding: match }] } : { ok: false, mentions: [] };
  }
  const value = ctx.facts[c.fact];
  const ok = value !== undefined && (c.op === 'ge' ? value >= c.value : value > c.value);
  return { ok, mentions: ok ? mentionsOfFact(c.fact, ctx) : [] };
}

function mentionsOfFact(fact: Fact, ctx: Ctx): Mention[] {
  if (fact.startsWith('news2.')) return [{ kind: 'news2' }];
  if (fact === 'qsofa.score') return [{ kind: 'qsofa' }];
  if (fact === 'curb65.score') return [{ kind: 'curb65' }];
  if (fact === 'risk.max') return [{ kind: 'risk' }];
  const pool = fact === 'finding.positive.maxProbability' ? ctx.findings.filter((f) => f.positive) : ctx.findings;
  const top = [...pool].sort((a, b) => b.probability - a.probability)[0];
  return top ? [{ kind: 'finding', finding: top }] : [];
}

type Lang = 'en' | 'zh';

function findingText(f: Finding, lang: Lang): string {
  const s = status(f);
  const p = `p=${f.probability.toFixed(2)}`;
  if (lang === 'zh') return `${f.displayZh ?? f.label} ${s === 'refer' ? '不确定 ' : ''}${p}${s === 'negative' ? '（阴性）' : ''}`;
  return `${f.label} ${s === 'refer' ? 'indeterminate ' : ''}${p}${s === 'negative' ? ' (negative)' : ''}`;
}

function variables(ctx: Ctx, mentions: Mention[], lang: Lang): Record<string, string> {
  const { input } = ctx;
  const finding = mentions.find((m): m is Extract<Mention, { kind: 'finding' }> => m.kind === 'finding')?.finding;
  const topRisk = [...(input.risks ?? [])].sort((a, b) => b.risk - a.risk)[0];
  return {
    news2: input.news2 ? String(input.news2.score) : '–',
    news2Band: input.news2?.band ?? '–',
    qsofa: input.qsofa ? String(input.qsofa.score) : '–',
    curb65: input.curb65 ? String(input.curb65.score) : '–',
    finding: finding ? findingText(finding, lang) : '–',
    risk: topRisk ? `${topRisk.modelId} ${(topRisk.risk * 100).toFixed(1)}% (${topRisk.band})` : '–',
  };
}

const fill = (text: string, vars: Record<string, string>) => text.replace(/\{(\w+)\}/g, (_, name: string) => vars[name] ?? `{${name}}`);
const fillBoth = (t: { text: string; textZh: string }, ctx: Ctx, mentions: Mention[], extra: Record<string, string> = {}) => ({
  text: fill(t.text, { ...variables(ctx, mentions, 'en'), ...extra }),
  textZh: fill(t.textZh, { ...variables(ctx, mentions, 'zh'), ...extra }),
});

/** The facts behind the reasons, in reason order, each once: "pneumonia p=0.91 · NEWS2 7 (high)". */
function whyLine(reasons: { mentions: Mention[] }[], ctx: Ctx, lang: Lang, lead: string | undefined): string {
  const parts: string[] = lead ? [lead] : [];
  const add = (s: string) => { if (!parts.includes(s)) parts.push(s); };
  for (const r of reasons) {
    for (const m of r.mentions) {
      if (m.kind === 'finding') add(findingText(m.finding, lang));
      else if (m.kind === 'news2' && ctx.input.news2) add(`NEWS2 ${ctx.input.news2.score} (${ctx.input.news2.band})`);
      else if (m.kind === 'qsofa' && ctx.input.qsofa) add(`qSOFA ${ctx.input.qsofa.score}`);
      else if (m.kind === 'curb65' && ctx.input.curb65) add(`CURB-65 ${ctx.input.curb65.score}`);
      else if (m.kind === 'risk') add(variables(ctx, [], lang).risk);
    }
  }
  return parts.slice(0, 4).join(' · ');
}

const round1 = (x: number) => Math.round(x * 10) / 10;
