import { bandIndex, type BandBound } from '../rules/bands.ts';
import { compare, conditionText, evaluateCondition, namesRead, toNumber } from '../rules/conditions.ts';
import { bandOrder, checkScoring, type Condition, type Rule, type ScoreBand, type ScoreCardLike } from './table.ts';

/**
 * One evaluator for every score table (`table.ts` holds the format and checks it at start): the
 * total, its band after the band rules, and one explained line per term, so a clinician can see
 * which row each point came from.
 */

export type ScoreInputs = Record<string, number | boolean | string>;

export interface ScoreResult {
  score: number;
  /** `rule` is set when a band rule, not the total, decided the band. */
  band: { label: string; display: string; displayZh?: string; rule?: string };
  terms: { term: string; display: string; displayZh?: string; points: number; because: string }[];
  redFlags?: string[];
}

/** An input the table needs is missing or has a value the table has no row for (a bug upstream: features.ts should have refused it). */
export class ScoreInputError extends Error {
  readonly code = 'SCORE_INPUT';
  constructor(readonly scoreId: string, problem: string) {
    super(`score ${scoreId}: ${problem}`);
  }
}

/**
 * Scores canonical inputs against the card's table: the total, its band, one explained line
 * per term (in table order) and any red flags from band rules. Pure; throws ScoreInputError
 * when an input the table needs is missing or has no row.
 */
export function evaluateScore(card: ScoreCardLike, inputs: ScoreInputs): ScoreResult {
  const scoring = checkScoring(card);
  const terms = scoring.terms.map((t) => {
    const { points, because } = applyRule(card.id, t, inputs);
    return {
      term: t.term,
      display: t.display,
      ...(t.displayZh ? { displayZh: t.displayZh } : {}),
      points,
      because: `${because} → ${points} ${points === 1 ? 'point' : 'points'}`,
    };
  });
  const score = roundPoints(terms.reduce((sum, t) => sum + t.points, 0));

  const order = bandOrder(card);
  const rankOf = (label: string) => order.findIndex((b) => b.label === label);
  let band: Omit<ScoreBand, 'below'> = card.bands[bandIndex(card.bands, score)];
  let raisedBy: string | undefined;
  const redFlags: string[] = [];
  for (const r of scoring.bandRules) {
    let fired: string[] = [];
    if ('anyTermPoints' in r.when) {
      const cmp = r.when.anyTermPoints;
      fired = terms.filter((t) => compare(t.points, cmp.op, cmp.value)).map((t) => `${t.display}: ${t.points}`);
    } else if (holds(card.id, r.when, inputs)) {
      fired = [describeCondition(r.when, inputs)];
    }
    if (!fired.length) continue;
    if (r.redFlag) redFlags.push(...fired.map((f) => `${r.redFlag} (${f})`));
    const target = r.atLeast !== undefined ? card.bands.find((b) => b.label === r.atLeast)! : r.band!;
    if (rankOf(target.label) > rankOf(band.label)) {
      band = target;
      raisedBy = r.because ?? r.redFlag ?? `band rule: at least ${band.label}`;
    }
  }
  return {
    score,
    band: { label: band.label, display: band.display, ...(band.displayZh ? { displayZh: band.displayZh } : {}), ...(raisedBy ? { rule: raisedBy } : {}) },
    terms,
    ...(redFlags.length ? { redFlags } : {}),
  };
}

function applyRule(scoreId: string, r: Rule, inputs: ScoreInputs): { points: number; because: string } {
  if ('select' in r) {
    const value = need(scoreId, inputs, r.select);
    const key = caseKey(value, r.cases) ?? r.default;
    if (key === undefined) throw new ScoreInputError(scoreId, `${r.select} = ${String(value)} selects no rule (cases: ${Object.keys(r.cases).join(', ')})`);
    const inner = applyRule(scoreId, r.cases[key], inputs);
    return { points: inner.points, because: `${inner.because} [${r.select} ${key}]` };
  }
  if ('when' in r) {
    const met = holds(scoreId, r.when, inputs);
    return { points: met ? r.points : r.otherwise ?? 0, because: `${describeCondition(r.when, inputs)}: ${met ? 'yes' : 'no'}` };
  }
  const value = need(scoreId, inputs, r.feature);
  if ('map' in r) {
    const key = caseKey(value, r.map);
    if (key === undefined) throw new ScoreInputError(scoreId, `${r.feature} = ${String(value)} has no points in the table (known: ${Object.keys(r.map).join(', ')})`);
    return { points: r.map[key], because: `${r.feature} ${key}` };
  }
  const x = toNumber(value);
  if (x === undefined) throw new ScoreInputError(scoreId, `${r.feature} = ${String(value)} is not a number`);
  const i = bandIndex(r.bands, x);
  return { points: r.bands[i].points, because: `${r.feature} ${formatNumber(x)} in ${r.bands[i].label ?? rangeText(r.bands, i)}` };
}

function need(scoreId: string, inputs: ScoreInputs, feature: string): number | boolean | string {
  const value = inputs[feature];
  if (value === undefined || value === null || (typeof value === 'number' && !Number.isFinite(value))) {
    throw new ScoreInputError(scoreId, `input ${feature} is missing`);
  }
  return value;
}

/** Map/case keys are strings; booleans are "true"/"false" (0/1 accepted), numbers their decimal form. */
function caseKey(value: number | boolean | string, table: Record<string, unknown>): string | undefined {
  const candidates = [String(value)];
  if (typeof value === 'boolean') candidates.push(value ? '1' : '0');
  if (value === 1 || value === 0) candidates.push(value === 1 ? 'true' : 'false');
  return candidates.find((c) => Object.prototype.hasOwnProperty.call(table, c));
}

function holds(scoreId: string, c: Condition, inputs: ScoreInputs): boolean {
  return evaluateCondition(c, 'feature', {
    value: (feature) => need(scoreId, inputs, feature),
    incomparable: (cmp, value) => {
      throw new ScoreInputError(scoreId, `${cmp.feature} = ${String(value)} cannot be compared with ${cmp.op} ${String(cmp.value)}`);
    },
  }).ok;
}

/** "systolicBp < 90 or diastolicBp ≤ 60 (systolicBp 85, diastolicBp 50)": the rule, then the values it read. */
function describeCondition(c: Condition, inputs: ScoreInputs): string {
  const values = namesRead(c, 'feature').map((f) => `${f} ${typeof inputs[f] === 'number' ? formatNumber(inputs[f] as number) : String(inputs[f])}`);
  return `${conditionText(c, 'feature')} (${values.join(', ')})`;
}

function rangeText(rows: BandBound[], i: number): string {
  const row = rows[i];
  const prev = i > 0 ? rows[i - 1] : undefined;
  const lower = prev ? (prev.upTo !== undefined ? `> ${prev.upTo}` : `≥ ${prev.below}`) : undefined;
  const upper = row.upTo !== undefined ? `≤ ${row.upTo}` : row.below !== undefined ? `< ${row.below}` : undefined;
  if (lower && upper) return `${lower} and ${upper}`;
  return lower ?? upper ?? 'any value';
}

const formatNumber = (x: number) => String(Math.round(x * 1000) / 1000);
/** Points may be fractional in some tables; keep sums free of float noise. */
const roundPoints = (x: number) => Math.round(x * 1e9) / 1e9;
