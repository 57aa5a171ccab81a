import { z } from 'zod';
import { triageLevel } from '../../contract/studies.ts';
import { comparisonsIn, conditionSchema as sharedConditionSchema, type Condition } from '../rules/conditions.ts';
import type { FactCatalogue } from './facts.ts';

/**
 * The triage policy: imaging findings and the triage facts of score and risk answers (NEWS2,
 * qSOFA, CURB-65, chronic risk, whatever the loaded cards declare) for one patient or study
 * become one priority (0–100), a level on the Chinese four-level emergency scale
 * (I 濒危, II 危重, III 急症, IV 非急症), and the reasons. The policy is data
 * (`models/triage-policy/model.json`, task `triage`, field `policy`); this file reads and checks
 * it, `evaluate.ts` applies it to one patient or study and `reason-text.ts` writes its reasons.
 *
 * ## `policy` format
 *
 * ```jsonc
 * {
 *   "levels": [                      // least urgent first; priority ranges contiguous and ascending
 *     { "level": "IV", "display": "IV — non-urgent", "displayZh": "Ⅳ级 非急症", "priority": [0, 25],
 *       "targetMinutes": 240,         // reading target: a study waiting longer is overdue (0 = immediately)
 *       "aiResultTargetMinutes": 60 }, // upload → AI result target: past it the AI is "delayed" (readiness, degradation)
 *     { "level": "III", …, "priority": [25, 55] }, { "level": "II", …, "priority": [55, 85] },
 *     { "level": "I", …, "priority": [85, 100] }
 *   ],
 *   "rules": [                       // each rule that holds sets a minimum level and a priority floor
 *     { "code": "news2-high", "when": { "fact": "news2.score", "op": "ge", "value": 7 },
 *       "level": "II", "floor": 62,   // floor defaults to the level's lower bound and must lie in its range
 *       "text": "NEWS2 {news2.score} ({news2.band}) …", "textZh": "…",
 *       "subsumedBy": ["…"] }         // optional: hide this reason when a stronger rule holds too
 *   ],
 *   "contributions": [               // continuous, order cases inside a level: min(max, per × fact)
 *     { "code": "news2-score", "fact": "news2.score", "per": 1, "max": 10, "text": "…", "textZh": "…" }
 *   ],
 *   "nothing": { "text": "…", "textZh": "…", "why": "no urgent finding or score", "whyZh": "…" },  // when no rule holds
 *   "notCalculated": {               // a score asked for whose card declined the patient (NEWS2 under 16)
 *     "level": "III", "floor": 26,   // as a rule's: its measurements were given but are in no rule
 *     "text": "{score}: not calculated — {reason}. …", "textZh": "…", "why": "{score} not calculated: {reason}", "whyZh": "…" },
 *   "news2Band": "news2.band"        // optional: the band fact the result reports as news2Band
 * }
 * ```
 *
 * Conditions are Lantern's one condition language (`inference/rules/conditions.ts`) with the key
 * `fact`: `{fact, op, value}` or `{anyOf: […]}` / `{allOf: […]}`, plus the policy's own atom
 * `{finding: {labels?, atLeast: 'refer' | 'positive', minProbability?}}` (some finding with one of
 * the labels, or any label, at least that status). A fact is `<source>.<fact>` from the catalogue
 * the registry builds from the loaded cards (`facts.ts`): `news2.score`, `news2.redScore`,
 * `qsofa.score`, `curb65.score`, `risk.max` (the highest of pool `risk`), the built-in
 * `finding.positive.maxProbability` and `finding.any.maxProbability`, and whatever a new card
 * declares. A band fact may be compared with a band label (`"value": "medium"`). A fact that was
 * not given satisfies no condition and contributes 0. The registry refuses at start a policy
 * naming a fact, band or placeholder no loaded card declares.
 *
 * Text templates may use `{<source>.<fact>}` (the fact: `{news2.score}` → "7", `{news2.band}` →
 * "high"), `{<source>}` (how the worklist's "why" names it: `{risk}` → "pce-ascvd 24.0% (high)"),
 * `{finding}` (the finding the rule matched; in Chinese by its `displayZh` when the caller gives
 * one) and, in contributions, `{points}`. A source or fact not given reads "–".
 *
 * ## Monotone by construction
 *
 * More severe inputs (a higher score, a red score, a higher probability, a finding moving
 * negative → refer → positive, one more finding or risk) must never lower the priority. The schema
 * only allows what keeps that true: comparisons are `ge`/`gt` only, `atLeast` statuses, `per`
 * and `max` ≥ 0. Then every rule's truth and every contribution is non-decreasing in severity;
 *   level    = the highest level of the rules that hold and, when a score was declined,
 *              of `notCalculated` (else the first level),
 *   raw      = max(floors of those, 0) + Σ contributions,
 *   priority = raw clamped into the level's range, rounded to 0.1.
 * With contiguous ranges a higher level's floor is ≥ a lower level's ceiling, so the clamp is
 * monotone too, and sorting a worklist by priority never contradicts the levels. A declined score
 * only adds a level and a floor to those maxima, so one more declined score never lowers anything.
 */

const LEVELS = triageLevel.options;

type FindingAtom = { finding: { labels?: string[]; atLeast: 'refer' | 'positive'; minProbability?: number } };
export type PolicyCondition = Condition<'fact', FindingAtom, number | string>;

const conditionSchema = sharedConditionSchema('fact', {
  ops: ['ge', 'gt'],
  opsReason: 'a more severe input must never lower the priority',
  value: z.union([z.number(), z.string().min(1)]),
  atom: z.object({
    finding: z.object({
      labels: z.array(z.string().min(1)).min(1).optional(),
      atLeast: z.enum(['refer', 'positive']),
      minProbability: z.number().min(0).max(1).optional(),
    }).strict(),
  }).strict(),
});

/** Placeholders are checked against the catalogue in `checkPolicy`, where the loaded cards are known. */
const template = z.string().min(1);

export const policySchema = z.object({
  levels: z.array(z.object({
    level: z.enum(LEVELS),
    display: z.string().min(1),
    displayZh: z.string().min(1),
    priority: z.tuple([z.number().min(0).max(100), z.number().min(0).max(100)]),
    /** Minutes a study of this level may wait to be read (its service-level target); 0 = immediately. */
    targetMinutes: z.number().min(0),
    /**
     * Minutes from upload to the AI result this level is promised (its latency target): later, the
     * worklist says "AI delayed", readiness names the level breaching, and the degradation ladder
     * (queue/degradation.ts) steps in. Positive: no pipeline answers in no time.
     */
    aiResultTargetMinutes: z.number().positive(),
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
    fact: z.string().min(1),
    per: z.number().min(0, 'per must be ≥ 0 so that priority stays monotone'),
    max: z.number().min(0, 'max must be ≥ 0 so that priority stays monotone'),
    text: template,
    textZh: template,
  }).strict()).default([]),
  /** The reason when no rule holds and no score was declined, and the start of the worklist line then. */
  nothing: z.object({ text: template, textZh: template, why: template, whyZh: template }).strict(),
  /**
   * A score asked for whose card declined the patient (NEWS2 under 16): its measurements were
   * given but could not be scored, so they are in no rule. One reason per such score, listed
   * first and leading the worklist line, and a minimum level and floor like a rule's, so that
   * unscored measurements never read as a reassuring level. Placeholders: `{score}` (the card's
   * title) and `{reason}` (the card's reason for declining).
   */
  notCalculated: z.object({
    level: z.enum(LEVELS),
    floor: z.number().min(0).max(100).optional(),
    text: template,
    textZh: template,
    why: template,
    whyZh: template,
    rationale: z.string().optional(),
  }).strict(),
  /** The band fact whose label the result reports as `news2Band` (the worklist shows it), e.g. `news2.band`. */
  news2Band: z.string().min(1).optional(),
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
    if (prev && l.aiResultTargetMinutes > prev.aiResultTargetMinutes) {
      ctx.addIssue({ code: 'custom', path: ['levels', i, 'aiResultTargetMinutes'], message: `level ${l.level} may wait ${l.aiResultTargetMinutes} min for its AI result, longer than the less urgent ${prev.level} (${prev.aiResultTargetMinutes} min)` });
    }
    // The AI result is there to help the read; promised after the reading target, it cannot.
    if (l.targetMinutes > 0 && l.aiResultTargetMinutes > l.targetMinutes) {
      ctx.addIssue({ code: 'custom', path: ['levels', i, 'aiResultTargetMinutes'], message: `level ${l.level}'s AI result target (${l.aiResultTargetMinutes} min) is after its reading target (${l.targetMinutes} min)` });
    }
  });
  const codes = new Set<string>();
  [...p.rules, ...p.contributions].forEach((r) => {
    if (codes.has(r.code)) ctx.addIssue({ code: 'custom', path: ['rules'], message: `code ${r.code} is used twice` });
    codes.add(r.code);
  });
  const checkLevel = (path: (string | number)[], name: string, r: { level: string; floor?: number }) => {
    const level = p.levels.find((l) => l.level === r.level);
    if (!level) {
      ctx.addIssue({ code: 'custom', path: [...path, 'level'], message: `${name} sets level ${r.level}, which the policy's levels do not define` });
    } else if (r.floor !== undefined && (r.floor < level.priority[0] || r.floor > level.priority[1])) {
      ctx.addIssue({ code: 'custom', path: [...path, 'floor'], message: `${name} floor ${r.floor} lies outside level ${r.level}'s range [${level.priority}]` });
    }
  };
  p.rules.forEach((r, i) => {
    for (const code of r.subsumedBy ?? []) {
      if (!p.rules.some((x) => x.code === code)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'subsumedBy'], message: `rule ${r.code} is subsumed by ${code}, which is not a rule` });
    }
    checkLevel(['rules', i], `rule ${r.code}`, r);
  });
  checkLevel(['notCalculated'], 'notCalculated', p.notCalculated);
});

export type TriagePolicy = z.infer<typeof policySchema>;

/** The part of a TriageCard (inference/model-card.ts) the evaluator reads. */
export interface TriageCardLike {
  id: string;
  policy: Record<string, unknown>;
}

/** An imaging finding as the policy reads it; `displayZh` (the model card's Chinese label name) names it in Chinese text. */
export type Finding = { label: string; display: string; displayZh?: string; probability: number; positive: boolean; refer?: boolean; modelId: string };

/** A finding's status, ranked so that `atLeast` means "this status or a more severe one". */
export const STATUS_RANK = { negative: 0, refer: 1, positive: 2 } as const;
export const findingStatus = (f: Finding): keyof typeof STATUS_RANK => (f.positive ? 'positive' : f.refer ? 'refer' : 'negative');

/** A policy that cannot be evaluated: refuse the card at start, naming the problem. */
export class TriagePolicyError extends Error {
  readonly code = 'TRIAGE_POLICY';
  constructor(readonly policyId: string, problem: string) {
    super(`triage policy ${policyId}: ${problem}`);
  }
}

const cache = new WeakMap<object, TriagePolicy>();
const checkedAgainst = new WeakMap<object, WeakSet<FactCatalogue>>();

/**
 * Validates `card.policy`; call it when the card loads so a bad policy refuses to start. With the
 * catalogue of the loaded cards' facts, every fact, band label and placeholder the policy names
 * must be in it; without, only the policy's structure is checked (e.g. to read its levels).
 */
export function checkPolicy(card: TriageCardLike, catalogue?: FactCatalogue): TriagePolicy {
  let policy = cache.get(card);
  if (!policy) {
    const parsed = policySchema.safeParse(card.policy);
    if (!parsed.success) {
      throw new TriagePolicyError(card.id, `policy is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    }
    policy = parsed.data;
    cache.set(card, policy);
  }
  if (catalogue && !checkedAgainst.get(card)?.has(catalogue)) {
    const problems = policyFactProblems(policy, catalogue);
    if (problems.length) throw new TriagePolicyError(card.id, problems.join('; '));
    if (!checkedAgainst.has(card)) checkedAgainst.set(card, new WeakSet());
    checkedAgainst.get(card)!.add(catalogue);
  }
  return policy;
}

/** What a `notCalculated` text may say: the declined score and the card's reason, nothing it did not compute. */
const NOT_CALCULATED_PLACEHOLDERS: ReadonlySet<string> = new Set(['score', 'reason']);

/** Every fact, band label and placeholder the policy names that the loaded cards do not declare. */
function policyFactProblems(policy: TriagePolicy, catalogue: FactCatalogue): string[] {
  const problems: string[] = [];
  const knownFacts = [...catalogue.facts.keys()];
  const unknownFact = (fact: string) => `fact ${fact} is not declared by any loaded card (known: ${knownFacts.join(', ')})`;
  const checkFact = (where: string, fact: string, value?: number | string) => {
    const def = catalogue.facts.get(fact);
    if (!def) problems.push(`${where}: ${unknownFact(fact)}`);
    else if (typeof value === 'string' && !def.bands?.includes(value)) {
      problems.push(`${where}: ${fact} ${def.bands ? `has no band "${value}" (bands: ${def.bands.join(', ')})` : `is a number (${def.unit}); compare it with a number, not "${value}"`}`);
    }
  };
  const placeholders = new Set(['finding', 'points', ...catalogue.sources.keys(), ...knownFacts]);
  const checkText = (where: string, text: string, known: ReadonlySet<string> = placeholders) => {
    for (const [, name] of text.matchAll(/\{([\w.]+)\}/g)) {
      if (!known.has(name)) problems.push(`${where}: unknown placeholder {${name}}; known: ${[...known].map((p) => `{${p}}`).join(' ')}`);
    }
  };
  policy.rules.forEach((r, i) => {
    for (const c of comparisonsIn(r.when, 'fact')) checkFact(`rules.${i}.when`, c.fact, c.value);
    checkText(`rules.${i}.text`, r.text);
    checkText(`rules.${i}.textZh`, r.textZh);
  });
  policy.contributions.forEach((c, i) => {
    checkFact(`contributions.${i}.fact`, c.fact);
    checkText(`contributions.${i}.text`, c.text);
    checkText(`contributions.${i}.textZh`, c.textZh);
  });
  for (const key of ['text', 'textZh', 'why', 'whyZh'] as const) {
    checkText(`nothing.${key}`, policy.nothing[key]);
    checkText(`notCalculated.${key}`, policy.notCalculated[key], NOT_CALCULATED_PLACEHOLDERS);
  }
  if (policy.news2Band) {
    checkFact('news2Band', policy.news2Band);
    if (catalogue.facts.get(policy.news2Band) && !catalogue.facts.get(policy.news2Band)!.bands) problems.push(`news2Band: ${policy.news2Band} is not a band fact`);
  }
  return problems;
}
