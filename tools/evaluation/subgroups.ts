/**
 * What else a dataset's CSV knows about each image (view, age, site, follow-up number...)
 * turned into two checks a model team needs before trusting an AUROC:
 *
 * - breakdowns: the model's discrimination and operating point within each value of a column;
 * - metadata-only baselines: how well the column alone predicts the label, so a model that
 *   only reads the projection (AP portable films are more common among the sick) is seen.
 *
 * Shared by `npm run eval` (image-csv columns) and `npm run bench:model` (`--labels` CSV columns).
 */
import { auroc, confusion, wilson, type Auroc, type Confusion, type Proportion } from './metrics.ts';

/** A column's cells, one per image, in the order of the scores ('' = empty). */
export type Column = readonly string[];

export interface SkippedColumn { column: string; why: string }

export interface ColumnChoice {
  used: string[];
  skipped: SkippedColumn[];
}

/** Fewer than half the rows filled: a breakdown would describe the few that are. */
const MOSTLY_EMPTY = 0.5;
/** More distinct values than this share of the filled rows (and more than 20): an identifier, not a grouping. */
const IDENTIFIER_LIKE = 0.5;
/** Numeric columns with more distinct values than this are binned (quartiles) for breakdowns. */
const MAX_NUMERIC_LEVELS = 6;
/** A subgroup gets an AUROC only with at least this many positives and negatives. */
export const MIN_CLASS_FOR_AUROC = 5;

const isEmpty = (cell: string) => cell.trim() === '';

/**
 * Which columns to break down by. `named` (from `--by`) restricts the choice; a named
 * column that does not exist is an error, never silently ignored. A column empty for
 * most rows or holding a different value on nearly every row is skipped, with the reason.
 */
export function chooseColumns(columns: Record<string, Column>, named?: readonly string[]): ColumnChoice {
  const available = Object.keys(columns);
  const unknown = (named ?? []).filter((c) => !(c in columns));
  if (unknown.length > 0) throw new RangeError(`no column ${unknown.map((c) => `"${c}"`).join(', ')} to break down by (columns: ${available.join(', ') || 'none'})`);
  const used: string[] = [];
  const skipped: SkippedColumn[] = [];
  for (const column of named && named.length > 0 ? named : available) {
    const cells = columns[column];
    const filled = cells.filter((c) => !isEmpty(c));
    const distinct = new Set(filled.map((c) => c.trim())).size;
    if (filled.length < cells.length * MOSTLY_EMPTY) skipped.push({ column, why: `empty for ${cells.length - filled.length} of ${cells.length} rows` });
    else if (distinct < 2) skipped.push({ column, why: `one value (${filled[0]?.trim()}) on every filled row` });
    else if (!isNumeric(filled) && distinct > 20 && distinct > filled.length * IDENTIFIER_LIKE) skipped.push({ column, why: `${distinct} different values in ${filled.length} rows: an identifier, not a grouping` });
    else used.push(column);
  }
  return { used, skipped };
}

const isNumeric = (filled: readonly string[]) => filled.length > 0 && filled.every((c) => c.trim() !== '' && Number.isFinite(Number(c)));

/** Numeric with more than a handful of levels: compared as a number, grouped in quartile bins. */
function kindOf(cells: Column): 'numeric' | 'categorical' {
  const filled = cells.filter((c) => !isEmpty(c));
  return isNumeric(filled) && new Set(filled.map(Number)).size > MAX_NUMERIC_LEVELS ? 'numeric' : 'categorical';
}

export interface Subgroup {
  value: string;
  n: number;
  positives: number;
  /** Only with at least MIN_CLASS_FOR_AUROC positives and negatives. */
  auroc?: Auroc;
  sensitivity?: Proportion;
  specificity?: Proportion;
}

export interface Breakdown {
  column: string;
  kind: 'numeric' | 'categorical';
  /** How numeric values were grouped, in words. */
  grouping: string;
  groups: Subgroup[];
}

/**
 * The model within each value of `cells` (numeric columns with many levels: quartile bins;
 * empty cells: their own group "(empty)"). Sensitivity/specificity at `threshold` with
 * Wilson CIs; AUROC (DeLong CI, images taken as independent) when both classes have ≥ 5.
 */
export function breakdown(column: string, cells: Column, scores: ArrayLike<number>, labels: ArrayLike<number>, threshold: number): Breakdown {
  const kind = kindOf(cells);
  let groupOf: (cell: string) => string;
  let grouping = 'one group per value';
  let order: string[];
  if (kind === 'numeric') {
    const values = cells.filter((c) => !isEmpty(c)).map(Number).sort((a, b) => a - b);
    const cuts = [0.25, 0.5, 0.75].map((q) => values[Math.floor(q * (values.length - 1))]);
    const edges = [...new Set(cuts)];
    const bins = [values[0], ...edges, values[values.length - 1]];
    const names = edges.length + 1;
    const label = (b: number) => (b === 0 ? `≤ ${fmt(bins[1])}` : b === names - 1 ? `> ${fmt(bins[b])}` : `${fmt(bins[b])} < x ≤ ${fmt(bins[b + 1])}`);
    groupOf = (cell) => {
      const x = Number(cell);
      const b = edges.findIndex((e) => x <= e);
      return label(b < 0 ? names - 1 : b);
    };
    order = Array.from({ length: names }, (_, b) => label(b));
    grouping = `quartile bins of the ${new Set(values).size} distinct values (cut at ${edges.map(fmt).join(', ')})`;
  } else {
    groupOf = (cell) => cell.trim();
    order = [...new Set(cells.filter((c) => !isEmpty(c)).map((c) => c.trim()))].sort(naturalOrder);
  }
  const members = new Map<string, number[]>(order.map((v) => [v, []]));
  const EMPTY = '(empty)';
  cells.forEach((cell, i) => {
    const key = isEmpty(cell) ? EMPTY : groupOf(cell);
    if (!members.has(key)) members.set(key, []);
    members.get(key)!.push(i);
  });
  const groups = [...members].filter(([, idx]) => idx.length > 0).map(([value, idx]): Subgroup => {
    const s = idx.map((i) => scores[i]);
    const y = idx.map((i) => labels[i]);
    const positives = y.reduce((a, b) => a + b, 0);
    const { sensitivity, specificity } = atThresholdSafe(s, y, threshold);
    return {
      value, n: idx.length, positives,
      ...(positives >= MIN_CLASS_FOR_AUROC && idx.length - positives >= MIN_CLASS_FOR_AUROC ? { auroc: auroc(s, y) } : {}),
      ...(sensitivity ? { sensitivity } : {}),
      ...(specificity ? { specificity } : {}),
    };
  });
  return { column, kind, grouping, groups };
}

/** Sensitivity, specificity and accuracy at `score >= threshold` (Wilson CIs), each left out when its denominator is 0. */
export interface AtThreshold { threshold: number; confusion: Confusion; sensitivity?: Proportion; specificity?: Proportion; accuracy?: Proportion }

export function atThresholdSafe(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold: number): AtThreshold {
  const c = confusion(scores, labels, threshold);
  return {
    threshold, confusion: c,
    ...(c.tp + c.fn > 0 ? { sensitivity: wilson(c.tp, c.tp + c.fn) } : {}),
    ...(c.tn + c.fp > 0 ? { specificity: wilson(c.tn, c.tn + c.fp) } : {}),
    ...(labels.length > 0 ? { accuracy: wilson(c.tp + c.tn, labels.length) } : {}),
  };
}

const fmt = (x: number) => String(Math.round(x * 1000) / 1000);
const naturalOrder = (a: string, b: string) => (Number.isFinite(Number(a)) && Number.isFinite(Number(b)) ? Number(a) - Number(b) : a.localeCompare(b));

export interface Baseline {
  column: string;
  kind: 'numeric' | 'categorical';
  /** Rows with a value (empty cells are left out of both AUROCs). */
  n: number;
  auroc: Auroc;
  /** How the column was turned into a score, and which way round. */
  scoring: string;
  /** The column alone separates the classes perfectly: it is the label in other words, not a shortcut check. */
  restatesLabel: boolean;
  /** The model's AUROC on the same rows. */
  model: Auroc;
  /** One line: the model against the column alone. */
  comparison: string;
}

/**
 * AUROC of a metadata column alone. Categorical: each value scored by its positive rate in
 * these same rows (in-sample, so optimistic: it is the best any rule on that column could
 * do here). Numeric: the value itself, or its negative when that ranks better (so the
 * AUROC is ≥ 0.5; the direction is stated). Undefined with fewer than 2 positives or
 * negatives among the filled rows.
 */
export function metadataBaseline(column: string, cells: Column, scores: ArrayLike<number>, labels: ArrayLike<number>): Baseline | undefined {
  const rows = cells.map((_, i) => i).filter((i) => !isEmpty(cells[i]));
  const y = rows.map((i) => labels[i]);
  const positives = y.reduce((a, b) => a + b, 0);
  if (positives < 2 || rows.length - positives < 2) return undefined;
  const kind = kindOf(cells);
  let score: number[];
  let scoring: string;
  let restatesLabel: boolean;
  if (kind === 'numeric') {
    const x = rows.map((i) => Number(cells[i]));
    const up = auroc(x, y).value;
    score = up >= 0.5 ? x : x.map((v) => -v);
    scoring = `the number itself, ${up >= 0.5 ? 'higher' : 'lower'} → more likely positive`;
    restatesLabel = Math.max(up, 1 - up) === 1;
  } else {
    const rate = new Map<string, { n: number; pos: number }>();
    rows.forEach((i, j) => {
      const r = rate.get(cells[i].trim()) ?? { n: 0, pos: 0 };
      r.n++; r.pos += y[j];
      rate.set(cells[i].trim(), r);
    });
    score = rows.map((i) => { const r = rate.get(cells[i].trim())!; return r.pos / r.n; });
    scoring = `each value scored by its positive rate in these rows (${[...rate].sort((a, b) => naturalOrder(a[0], b[0])).slice(0, 6).map(([v, r]) => `${v} ${r.pos}/${r.n}`).join(', ')}${rate.size > 6 ? ', …' : ''}); in-sample, so optimistic`;
    restatesLabel = [...rate.values()].every((r) => r.pos === 0 || r.pos === r.n);
  }
  const alone = auroc(score, y);
  const model = auroc(rows.map((i) => scores[i]), y);
  return { column, kind, n: rows.length, auroc: alone, scoring, restatesLabel, model, comparison: compare(column, alone.value, model.value, rows.length, cells.length, restatesLabel) };
}

/** Within this margin of the model, a column alone "does about as well". */
export const CLOSE = 0.03;

function compare(column: string, alone: number, model: number, n: number, total: number, restatesLabel: boolean): string {
  const rows = n === total ? `the same ${n} images` : `the ${n} images with a ${column}`;
  if (restatesLabel) return `${column} alone separates the classes perfectly on ${rows}: it restates the label, so it is no shortcut check.`;
  const a = alone.toFixed(2);
  const m = model.toFixed(2);
  if (alone > model + CLOSE) return `${column} alone (${a}) ranks better than the model (${m}) on ${rows}: the label goes with ${column} in this data; check that the model is not reading ${column} instead of the finding.`;
  if (alone >= model - CLOSE) return `${column} alone (${a}) does about as well as the model (${m}) on ${rows}: check that the model is not reading ${column} instead of the finding.`;
  return `the model (${m}) ranks better than ${column} alone (${a}) on ${rows}, by ${(model - alone).toFixed(2)}.`;
}
