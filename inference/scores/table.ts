import { z } from 'zod';
import { bandTableProblems } from '../rules/bands.ts';
import { conditionSchema, namesRead, OPS, type Condition as AnyCondition } from '../rules/conditions.ts';

/**
 * The points table of every published score (NEWS2, qSOFA, CURB-65, CDRS, FINDRISC, …): its
 * format, its schema, and the checks a card must pass when it loads. A score is data:
 * `models/<id>/model.json` (task `score`) holds the table in `scoring` and the bands in `bands`;
 * adding a score never means editing this file or `evaluate.ts`, which scores inputs against a
 * table checked here.
 *
 * Inputs arrive already validated and in canonical units (inference/features.ts does units,
 * `accept` and `validated`). A score reads only `card.scoring` and `card.bands`.
 *
 * ## `scoring` format
 *
 * ```jsonc
 * {
 *   "terms": [                                  // one row of the published table each; points add up
 *     { "term": "respiratoryRate", "display": "Respiration rate", "displayZh": "呼吸频率",
 *       "feature": "respiratoryRate",           // (1) band lookup on a number
 *       "bands": [ { "upTo": 8, "points": 3 },  //     rows in ascending order; each row bounds its top with
 *                  { "upTo": 11, "points": 1 }, //     `upTo` (inclusive, "≤ 8", "9–11") or `below` (exclusive, "< 110"),
 *                  { "upTo": 20, "points": 0 }, //     written as the publication writes it; the last row has
 *                  { "upTo": 24, "points": 2 }, //     neither and is open ("≥ 25"). An optional `label` ("21–24")
 *                  { "points": 3 } ] },         //     is used in the explanation instead of the computed range.
 *     { "term": "consciousness", …, "feature": "consciousness",
 *       "map": { "alert": 0, "confusion": 3 } },   // (2) enum or boolean (keys "true"/"false") → points
 *     { "term": "bp", …, "when": { "anyOf": [     // (3) condition → `points`, else `otherwise` (default 0)
 *         { "feature": "systolicBp", "op": "lt", "value": 90 },
 *         { "feature": "diastolicBp", "op": "le", "value": 60 } ] }, "points": 1 },
 *     { "term": "spo2", …, "select": "spo2Scale", // (4) the rule depends on another feature's value:
 *       "cases": { "1": { "feature": "spo2", "bands": […] },   // each case is itself a rule (1)–(4),
 *                  "2": { "select": "supplementalOxygen", "cases": { … } } } }  // so selections nest
 *   ],
 *   "bandRules": [                              // optional: raise the band beyond what the total says
 *     { "when": { "anyTermPoints": { "op": "ge", "value": 3 } },
 *       "band": { "label": "low-medium", "display": "…", "displayZh": "…", "above": "low" },
 *       "redFlag": "red score: a single parameter scoring 3", "because": "…" },
 *     { "when": { "feature": "gcs", "op": "le", "value": 8 }, "atLeast": "high" }
 *   ]
 * }
 * ```
 *
 * Conditions are Lantern's one condition language (`inference/rules/conditions.ts`) with the key
 * `feature`: `{feature, op, value}` (op `lt` | `le` | `gt` | `ge` | `eq`; booleans compare as
 * true = 1) or `{anyOf: […]}` / `{allOf: […]}` of conditions, nested freely.
 *
 * Band rows (`upTo` / `below`, why both) are checked and looked up by `inference/rules/bands.ts`,
 * the same code that bands a total or a risk: rows out of order or leaving an empty band are
 * refused when the card loads.
 *
 * ## Bands
 *
 * `card.bands` in ascending order of severity, `below` a strictly increasing exclusive upper bound on
 * the total, the last band open. A band rule either raises to one of those (`atLeast`), or to a band
 * that no total reaches and that exists only by rule (`band`, ranked just above the band it names in
 * `above`): NEWS2 "low-medium" is a red score with a total under 5. Rules move the band up, never down.
 */

const op = z.enum(OPS);

export type Condition = AnyCondition<'feature'>;

const condition = conditionSchema('feature');

const bandRow = z.object({
  upTo: z.number().optional(),
  below: z.number().optional(),
  points: z.number(),
  label: z.string().optional(),
}).strict();

type BandRow = z.infer<typeof bandRow>;

/** Rows ascend, every row but the last is bounded, the last is open, and no band is empty. */
const bandTable = z.array(bandRow).min(1).superRefine((rows, ctx) => {
  // Table rows are named by position; a row's `label` is display text, not a name.
  for (const p of bandTableProblems(rows.map(({ upTo, below }) => ({ upTo, below })))) ctx.addIssue({ code: 'custom', path: [p.index], message: p.message });
});

export type Rule =
  | { feature: string; bands: BandRow[] }
  | { feature: string; map: Record<string, number> }
  | { when: Condition; points: number; otherwise?: number }
  | { select: string; cases: Record<string, Rule>; default?: string };

const rule: z.ZodType<Rule> = z.lazy(() => z.union([
  z.object({ feature: z.string().min(1), bands: bandTable }).strict(),
  z.object({ feature: z.string().min(1), map: z.record(z.string(), z.number()).refine((m) => Object.keys(m).length > 0, 'map is empty') }).strict(),
  z.object({ when: condition, points: z.number(), otherwise: z.number().optional() }).strict(),
  z.object({
    select: z.string().min(1),
    cases: z.record(z.string(), rule).refine((m) => Object.keys(m).length > 0, 'cases is empty'),
    /** Case used when the selector's value has no case of its own. */
    default: z.string().optional(),
  }).strict().refine((s) => s.default === undefined || s.default in s.cases, 'default names a case that does not exist'),
]));

const termMeta = z.object({
  term: z.string().regex(/^[a-z][A-Za-z0-9]*$/, 'camelCase'),
  display: z.string().min(1),
  displayZh: z.string().optional(),
});

/** A term is its display metadata plus one rule; parsed in two steps so errors name the rule shape. */
const term = z.custom<TermSpec>((raw) => typeof raw === 'object' && raw !== null).superRefine((raw, ctx) => {
  const { term: t, display, displayZh, ...body } = raw as Record<string, unknown>;
  const meta = termMeta.safeParse({ term: t, display, displayZh });
  if (!meta.success) for (const issue of meta.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  const parsed = rule.safeParse(body);
  if (!parsed.success) {
    ctx.addIssue({
      code: 'custom',
      message: `term ${String(t)} is not a band table, map, condition or selection: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(rule)'}: ${i.message}`).join('; ')}`,
    });
  }
});

export type TermSpec = z.infer<typeof termMeta> & Rule;

const bandRule = z.object({
  when: z.union([
    z.object({ anyTermPoints: z.object({ op, value: z.number() }).strict() }).strict(),
    condition,
  ]),
  /** Raise to at least this band of `card.bands`… */
  atLeast: z.string().min(1).optional(),
  /** …or to this band, reached only by the rule, ranked just above `card.bands` band `above`. */
  band: z.object({ label: z.string().min(1), display: z.string().min(1), displayZh: z.string().optional(), above: z.string().min(1) }).strict().optional(),
  /** Shown in `redFlags`, once per term that triggered it (or once for a feature condition). */
  redFlag: z.string().optional(),
  because: z.string().optional(),
}).strict().refine((r) => (r.atLeast === undefined) !== (r.band === undefined), 'a band rule needs exactly one of atLeast or band');

export const scoringSchema = z.object({
  terms: z.array(term).min(1).superRefine((terms, ctx) => {
    const seen = new Set<string>();
    terms.forEach((t, i) => {
      if (seen.has(t.term)) ctx.addIssue({ code: 'custom', path: [i, 'term'], message: `term ${t.term} appears twice` });
      seen.add(t.term);
    });
  }),
  bandRules: z.array(bandRule).default([]),
}).strict();

export type Scoring = z.infer<typeof scoringSchema>;

export interface ScoreBand { label: string; display: string; displayZh?: string; below?: number }

/** The part of a ScoreCard (inference/model-card.ts) the evaluator reads. */
export interface ScoreCardLike {
  id: string;
  scoring: Record<string, unknown>;
  bands: ScoreBand[];
}

/** A score table that cannot be evaluated: refuse the card at start, naming the problem. */
export class ScoringTableError extends Error {
  readonly code = 'SCORING_TABLE';
  constructor(readonly scoreId: string, problem: string) {
    super(`score ${scoreId}: ${problem}`);
  }
}

const parsedCache = new WeakMap<object, Scoring>();

/**
 * Validates `card.scoring` and `card.bands` and returns the parsed table. Call it when the card
 * is loaded: a bad table throws ScoringTableError there, not on the first request. When
 * `featureNames` is given, every feature the table reads must be one of them.
 */
export function checkScoring(card: ScoreCardLike, featureNames?: readonly string[]): Scoring {
  const cached = parsedCache.get(card);
  if (cached && !featureNames) return cached;
  const parsed = scoringSchema.safeParse(card.scoring);
  if (!parsed.success) {
    throw new ScoringTableError(card.id, `scoring is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  const scoring = parsed.data;
  checkBands(card);
  const labels = card.bands.map((b) => b.label);
  for (const r of scoring.bandRules) {
    const target = r.atLeast ?? r.band!.above;
    if (!labels.includes(target)) throw new ScoringTableError(card.id, `band rule names "${target}", which is not one of the bands [${labels.join(', ')}]`);
    if (r.band && labels.includes(r.band.label)) throw new ScoringTableError(card.id, `band rule defines band "${r.band.label}", which card.bands already has: use atLeast`);
  }
  if (featureNames) {
    const known = new Set(featureNames);
    const read = new Set<string>();
    for (const t of scoring.terms) featuresOf(t, read);
    for (const r of scoring.bandRules) if (!('anyTermPoints' in r.when)) namesRead(r.when, 'feature').forEach((f) => read.add(f));
    const unknown = [...read].filter((f) => !known.has(f));
    if (unknown.length) throw new ScoringTableError(card.id, `scoring reads ${unknown.join(', ')}, which the card's features do not declare`);
  }
  parsedCache.set(card, scoring);
  return scoring;
}

function checkBands(card: ScoreCardLike): void {
  const [problem] = bandTableProblems(card.bands);
  if (problem) throw new ScoringTableError(card.id, problem.message);
}

function featuresOf(r: Rule, out: Set<string>): void {
  if ('select' in r) {
    out.add(r.select);
    for (const c of Object.values(r.cases)) featuresOf(c, out);
  } else if ('when' in r) namesRead(r.when, 'feature').forEach((f) => out.add(f));
  else out.add(r.feature);
}

/** The highest total the table can give (selections take their highest case). */
export function maxScore(card: ScoreCardLike): number {
  return checkScoring(card).terms.reduce((sum, t) => sum + maxOf(t), 0);
}

function maxOf(r: Rule): number {
  if ('select' in r) return Math.max(...Object.values(r.cases).map(maxOf));
  if ('when' in r) return Math.max(r.points, r.otherwise ?? 0);
  if ('map' in r) return Math.max(...Object.values(r.map));
  return Math.max(...r.bands.map((b) => b.points));
}

/**
 * Every band the score can answer, least severe first: the card's bands, each followed by the
 * bands that exist only by rule just above it (NEWS2 "low-medium" after "low"). A band rule
 * raises the band to a later one here, never to an earlier one.
 */
export function bandOrder(card: ScoreCardLike): Omit<ScoreBand, 'below'>[] {
  const ruleBands = checkScoring(card).bandRules.flatMap((r) => (r.band ? [r.band] : []));
  return card.bands.flatMap((b) => [b, ...ruleBands.filter((r, i) => r.above === b.label && ruleBands.findIndex((x) => x.label === r.label) === i)]);
}
