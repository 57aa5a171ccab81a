import { z } from 'zod';

/**
 * The one condition language of Lantern's declarative cards: a score table's terms and band
 * rules (`inference/scores`), a score or risk card's derived triage facts
 * (`inference/triage-policy/facts.ts`) and the triage policy's rules all write conditions
 * here, are parsed by `conditionSchema` and evaluated by `evaluateCondition`.
 *
 * ```jsonc
 * { "feature": "systolicBp", "op": "lt", "value": 90 }          // a comparison
 * { "anyOf": [ …conditions ] }  { "allOf": [ …conditions ] }     // nested freely
 * ```
 *
 * A comparison names one value and compares it: `op` is `lt` | `le` | `gt` | `ge` | `eq`;
 * booleans compare as true = 1; `eq` with a string compares text. The key that names the
 * value says what it is, so a card reads unambiguously:
 *
 * | where                               | key       | names                                   |
 * |-------------------------------------|-----------|-----------------------------------------|
 * | a score card's `scoring`            | `feature` | one of the card's inputs                |
 * | a card's `triageFacts[].when`       | `output`  | the model's answer: `score`, `band`, …  |
 * | the triage policy's `rules[].when`  | `fact`    | a triage fact, `<model id>.<fact>`      |
 *
 * A context may narrow the language (the triage policy allows only `ge`/`gt`, so that a more
 * severe input never lowers a priority) or add its own atoms (the policy's `finding`, a band
 * rule's `anyTermPoints`); nesting, evaluation and explanation stay the same.
 */

export const OPS = ['lt', 'le', 'gt', 'ge', 'eq'] as const;
export type Op = (typeof OPS)[number];
export type Scalar = number | boolean | string;

/** What a comparison's key names: see the table above. */
export type Scope = 'feature' | 'output' | 'fact';

export type Comparison<S extends Scope, V extends Scalar = Scalar> = { [K in S]: string } & { op: Op; value: V };

export type Condition<S extends Scope, A = never, V extends Scalar = Scalar> =
  | Comparison<S, V>
  | A
  | { anyOf: Condition<S, A, V>[] }
  | { allOf: Condition<S, A, V>[] };

export interface ConditionOptions<A, V extends Scalar> {
  /** Comparisons allowed here (default all); the message names the context's reason. */
  ops?: readonly Op[];
  opsReason?: string;
  /** What a comparison's `value` may be (default number, boolean or string). */
  value?: z.ZodType<V>;
  /** A context's own atom, e.g. the triage policy's `{finding: …}`. */
  atom?: z.ZodType<A>;
}

const scalar = z.union([z.number(), z.boolean(), z.string()]);

/** The zod schema of a condition in one scope; parse with it when the card loads. */
export function conditionSchema<S extends Scope, A = never, V extends Scalar = Scalar>(scope: S, options: ConditionOptions<A, V> = {}): z.ZodType<Condition<S, A, V>> {
  const ops = options.ops ?? OPS;
  const comparison = z.object({
    [scope]: z.string().min(1),
    op: z.enum(OPS).refine((o) => ops.includes(o), { message: `op must be one of ${ops.join(', ')}${options.opsReason ? ` (${options.opsReason})` : ''}` }),
    value: options.value ?? scalar,
  }).strict();
  const schema: z.ZodType<Condition<S, A, V>> = z.lazy(() => z.union([
    comparison,
    z.object({ anyOf: z.array(schema).min(1) }).strict(),
    z.object({ allOf: z.array(schema).min(1) }).strict(),
    ...(options.atom ? [options.atom] : []),
  ] as unknown as [z.ZodTypeAny, z.ZodTypeAny]) as unknown as z.ZodType<Condition<S, A, V>>);
  return schema;
}

export function isComparison<S extends Scope>(c: unknown, scope: S): c is Comparison<S> {
  return typeof c === 'object' && c !== null && scope in c && 'op' in c;
}
const isAnyOf = <C>(c: unknown): c is { anyOf: C[] } => typeof c === 'object' && c !== null && 'anyOf' in c;
const isAllOf = <C>(c: unknown): c is { allOf: C[] } => typeof c === 'object' && c !== null && 'allOf' in c;

/** Every comparison in a condition, in reading order (atoms are skipped). */
export function comparisonsIn<S extends Scope, A, V extends Scalar>(c: Condition<S, A, V>, scope: S): Comparison<S, V>[] {
  if (isAnyOf<Condition<S, A, V>>(c)) return c.anyOf.flatMap((x) => comparisonsIn(x, scope));
  if (isAllOf<Condition<S, A, V>>(c)) return c.allOf.flatMap((x) => comparisonsIn(x, scope));
  return isComparison(c, scope) ? [c as Comparison<S, V>] : [];
}

/** Every context atom in a condition, in reading order. */
export function atomsIn<S extends Scope, A, V extends Scalar>(c: Condition<S, A, V>, scope: S): A[] {
  if (isAnyOf<Condition<S, A, V>>(c)) return c.anyOf.flatMap((x) => atomsIn(x, scope));
  if (isAllOf<Condition<S, A, V>>(c)) return c.allOf.flatMap((x) => atomsIn(x, scope));
  return isComparison(c, scope) ? [] : [c as A];
}

/** The names a condition reads, each once. */
export const namesRead = <S extends Scope, A, V extends Scalar>(c: Condition<S, A, V>, scope: S): string[] =>
  [...new Set(comparisonsIn(c, scope).map((x) => x[scope] as string))];

export const toNumber = (value: Scalar): number | undefined =>
  typeof value === 'number' ? value : typeof value === 'boolean' ? (value ? 1 : 0) : undefined;

/** `x op y`; undefined when the two cannot be compared (text with lt/le/gt/ge). */
export function compare(x: Scalar, op: Op, y: Scalar): boolean | undefined {
  if (op === 'eq' && (typeof x === 'string' || typeof y === 'string')) return String(x) === String(y);
  const a = toNumber(x);
  const b = toNumber(y);
  if (a === undefined || b === undefined) return undefined;
  switch (op) {
    case 'lt': return a < b;
    case 'le': return a <= b;
    case 'gt': return a > b;
    case 'ge': return a >= b;
    case 'eq': return a === b;
  }
}

export interface Evaluation<M> {
  ok: boolean;
  /** What made it hold: from each comparison and atom that held, in the branches that held. */
  matched: M[];
}

export interface EvaluateHooks<S extends Scope, A, V extends Scalar, M> {
  /** The value a comparison names; undefined = not known, and the comparison does not hold. May throw (a score's missing input). */
  value(name: string): Scalar | undefined;
  /** The threshold a comparison's `value` stands for, when the context resolves it (a band label to its rank). */
  threshold?(comparison: Comparison<S, V>): Scalar;
  /** A comparison whose value cannot be compared with its threshold: throw, or return false. */
  incomparable?(comparison: Comparison<S, V>, value: Scalar): boolean;
  /** Evaluates a context atom. */
  atom?(atom: A): Evaluation<M>;
  /**
   * What a comparison that held contributes to `matched`. Given, `anyOf` evaluates every branch
   * (a triage reason mentions every fact that held); absent, it stops at the first that holds,
   * so a later branch's input is not needed (a score reads no input it does not have to).
   */
  match?(comparison: Comparison<S, V>): M;
}

/** Evaluates a condition. Pure; what it reads and how an atom holds come from the context's hooks. */
export function evaluateCondition<S extends Scope, A, V extends Scalar, M = never>(
  c: Condition<S, A, V>, scope: S, hooks: EvaluateHooks<S, A, V, M>,
): Evaluation<M> {
  if (isAnyOf<Condition<S, A, V>>(c)) {
    if (!hooks.match && !hooks.atom) return { ok: c.anyOf.some((x) => evaluateCondition(x, scope, hooks).ok), matched: [] };
    const held = c.anyOf.map((x) => evaluateCondition(x, scope, hooks)).filter((r) => r.ok);
    return { ok: held.length > 0, matched: held.flatMap((r) => r.matched) };
  }
  if (isAllOf<Condition<S, A, V>>(c)) {
    const all: Evaluation<M>[] = [];
    for (const x of c.allOf) {
      const r = evaluateCondition(x, scope, hooks);
      if (!r.ok) return { ok: false, matched: [] };
      all.push(r);
    }
    return { ok: true, matched: all.flatMap((r) => r.matched) };
  }
  if (!isComparison(c, scope)) {
    if (!hooks.atom) throw new Error(`condition ${JSON.stringify(c)} is not a comparison on ${scope} and this context has no atoms`);
    return hooks.atom(c as A);
  }
  const cmp = c as Comparison<S, V>;
  const value = hooks.value(cmp[scope] as string);
  if (value === undefined) return { ok: false, matched: [] };
  const result = compare(value, cmp.op, hooks.threshold ? hooks.threshold(cmp) : cmp.value);
  const ok = result ?? hooks.incomparable?.(cmp, value) ?? false;
  return { ok, matched: ok && hooks.match ? [hooks.match(cmp)] : [] };
}

const opText: Record<Op, string> = { lt: '<', le: '≤', gt: '>', ge: '≥', eq: '=' };

/** "systolicBp < 90 or (age ≥ 65 and confusion = true)". Atoms are written by `atomText`. */
export function conditionText<S extends Scope, A, V extends Scalar>(c: Condition<S, A, V>, scope: S, atomText: (a: A) => string = (a) => JSON.stringify(a)): string {
  const inner = (x: Condition<S, A, V>) => (isAnyOf(x) || isAllOf(x) ? `(${conditionText(x, scope, atomText)})` : conditionText(x, scope, atomText));
  if (isAnyOf<Condition<S, A, V>>(c)) return c.anyOf.map(inner).join(' or ');
  if (isAllOf<Condition<S, A, V>>(c)) return c.allOf.map(inner).join(' and ');
  if (!isComparison(c, scope)) return atomText(c as A);
  const cmp = c as Comparison<S, V>;
  return `${cmp[scope] as string} ${opText[cmp.op]} ${String(cmp.value)}`;
}
