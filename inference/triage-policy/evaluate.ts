import type { TriageLevel, TriageReason, TriageResult } from '../../contract/studies.ts';
import { evaluateCondition, type Evaluation } from '../rules/conditions.ts';
import { resolveFacts, thresholdOf, type DeclinedScores, type FactValues, type ResolvedFacts } from './fact-values.ts';
import type { FactCatalogue } from './facts.ts';
import { checkPolicy, findingStatus, STATUS_RANK, type Finding, type PolicyCondition, type TriageCardLike, type TriagePolicy } from './policy.ts';
import { fillBoth, fillIn, whyLine, type Lang, type Mention, type TextContext } from './reason-text.ts';

/**
 * Applies a checked policy to one patient or study. `policy.ts` gives the format and the
 * formula (level, floor, contributions, clamp), and why the priority it gives is monotone.
 */

export interface TriageInput {
  /** Triage facts by `<source>.<fact>` (facts.ts): what the scores and risks gave. */
  facts?: FactValues;
  /** Scores asked for whose card declined the patient, with the card's reason: in no fact, so named first. */
  notApplicable?: DeclinedScores;
  findings?: Finding[];
}

/**
 * Scores a patient or study against the policy. Pure; inputs are trusted (the API validates
 * them). `catalogue` is the loaded cards' facts (`factCatalogue(registry.models)`).
 */
export function triage(card: TriageCardLike, input: TriageInput, catalogue: FactCatalogue): TriageResult {
  const policy = checkPolicy(card, catalogue);
  const findings = (input.findings ?? []).filter((f) => Number.isFinite(f.probability));
  const facts = resolveFacts(catalogue, input.facts ?? {});
  addFindingFacts(facts, findings);
  const ctx: Ctx = { catalogue, findings, facts };

  const levelIndex = (l: TriageLevel) => policy.levels.findIndex((x) => x.level === l);
  let level = 0;
  let floor = 0;
  const reasons: (TriageReason & { mentions: Mention[] })[] = [];

  // Measurements given for a score that declined the patient are in no rule: without this, a child
  // with a fast respiratory rate on oxygen would read as level IV, as if the vital signs were reassuring.
  const declined = notCalculated(policy, input.notApplicable ?? {}, ctx);
  if (declined.length) {
    level = levelIndex(policy.notCalculated.level);
    floor = declined[0].weight;
  }
  const held = new Map(policy.rules.map((rule) => [rule.code, holds(rule.when, ctx)]));
  for (const rule of policy.rules) {
    const result = held.get(rule.code)!;
    if (!result.ok) continue;
    const range = policy.levels[levelIndex(rule.level)].priority;
    const ruleFloor = rule.floor ?? range[0];
    level = Math.max(level, levelIndex(rule.level));
    floor = Math.max(floor, ruleFloor);
    if (rule.subsumedBy?.some((code) => held.get(code)?.ok)) continue;
    reasons.push({ code: rule.code, ...fillBoth(rule, ctx, result.matched), weight: ruleFloor, mentions: result.matched });
  }

  let added = 0;
  const contributionReasons: typeof reasons = [];
  for (const c of policy.contributions) {
    const value = facts.get(c.fact)?.value;
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

  const ruleHeld = [...held.values()].some((r) => r.ok);
  const nothingHeld = !ruleHeld && declined.length === 0;
  if (nothingHeld) reasons.push({ code: 'nothing', ...fillBoth(policy.nothing, ctx, []), weight: 0, mentions: [] });
  // A declined score comes first whatever its weight: every other reason was weighed without its measurements.
  const ordered = [...declined, ...reasons.sort((a, b) => b.weight - a.weight), ...contributionReasons.sort((a, b) => b.weight - a.weight)];

  // The worklist line names what drove the level, led by what could not be scored; contributions only when no rule held.
  const whyIn = (lang: Lang) => whyLine(ruleHeld ? reasons : ordered, ctx, lang, [
    ...declined.map((d) => d.why[lang]),
    ...(nothingHeld ? [fillIn(lang === 'en' ? policy.nothing.why : policy.nothing.whyZh, ctx, [], lang)] : []),
  ]);
  const news2Band = policy.news2Band ? facts.get(policy.news2Band)?.text : undefined;
  return {
    priority,
    level: chosen.level,
    levelDisplay: chosen.display,
    levelDisplayZh: chosen.displayZh,
    ...(news2Band !== undefined ? { news2Band } : {}),
    reasons: ordered.map(({ code, text, textZh, weight }) => ({ code, text, textZh, weight })),
    why: whyIn('en'),
    whyZh: whyIn('zh'),
  };
}

type Ctx = TextContext & { findings: Finding[] };

/**
 * One reason per declined score the policy would have read (a card declaring triage facts), in
 * both languages with the card's title and reason; a score no policy reads changes nothing here.
 */
function notCalculated(policy: TriagePolicy, declined: DeclinedScores, ctx: Ctx) {
  const template = policy.notCalculated;
  const weight = template.floor ?? policy.levels.find((l) => l.level === template.level)!.priority[0];
  return Object.entries(declined).flatMap(([modelId, reason]) => {
    const title = ctx.catalogue.sources.get(modelId)?.title;
    if (!title) return [];
    const en = { score: title.en, reason: reason.text };
    const zh = { score: title.zh, reason: reason.textZh };
    return [{
      code: `${modelId}-not-calculated`,
      text: fillIn(template.text, ctx, [], 'en', en),
      textZh: fillIn(template.textZh, ctx, [], 'zh', zh),
      weight,
      mentions: [] as Mention[],
      why: { en: fillIn(template.why, ctx, [], 'en', en), zh: fillIn(template.whyZh, ctx, [], 'zh', zh) },
    }];
  });
}

/** The built-in `finding` facts, from the findings themselves. */
function addFindingFacts(facts: ResolvedFacts, findings: Finding[]): void {
  const positives = findings.filter((f) => f.positive);
  const max = (fs: Finding[]) => Math.max(...fs.map((f) => f.probability));
  if (positives.length) facts.set('finding.positive.maxProbability', { value: max(positives), text: String(max(positives)) });
  if (findings.length) facts.set('finding.any.maxProbability', { value: max(findings), text: String(max(findings)) });
}

function holds(c: PolicyCondition, ctx: Ctx): Evaluation<Mention> {
  return evaluateCondition(c, 'fact', {
    value: (fact) => ctx.facts.get(fact)?.value,
    threshold: (cmp) => thresholdOf(ctx.catalogue, cmp.fact, cmp.value),
    match: (cmp) => mentionsOfFact(cmp.fact, ctx)[0],
    atom: ({ finding: { labels, atLeast, minProbability } }) => {
      const match = ctx.findings
        .filter((f) => (!labels || labels.includes(f.label)) && STATUS_RANK[findingStatus(f)] >= STATUS_RANK[atLeast] && f.probability >= (minProbability ?? 0))
        .sort((a, b) => STATUS_RANK[findingStatus(b)] - STATUS_RANK[findingStatus(a)] || b.probability - a.probability)[0];
      return match ? { ok: true, matched: [{ kind: 'finding', finding: match }] } : { ok: false, matched: [] };
    },
  });
}

function mentionsOfFact(fact: string, ctx: Ctx): Mention[] {
  const source = ctx.catalogue.facts.get(fact)?.source;
  if (source !== 'finding') return source ? [{ kind: 'source', source }] : [];
  const pool = fact === 'finding.positive.maxProbability' ? ctx.findings.filter((f) => f.positive) : ctx.findings;
  const top = [...pool].sort((a, b) => b.probability - a.probability)[0];
  return top ? [{ kind: 'finding', finding: top }] : [];
}

const round1 = (x: number) => Math.round(x * 10) / 10;
