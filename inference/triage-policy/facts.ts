import { z } from 'zod';
import { conditionSchema, namesRead, type Condition } from '../rules/conditions.ts';
import { bandOrder } from '../scores/table.ts';
import { compareVersions } from '../versions.ts';

/**
 * Triage facts: the values the triage policy may read, each named `<source>.<fact>`. A score or
 * risk card declares which of its answer's outputs are facts (`triageFacts`); the registry builds
 * the catalogue of every fact from the loaded cards, and the policy is checked against it at
 * start. No model id is written in code: a new card that declares a fact can be read by a new
 * policy rule with no code change.
 *
 * This file is what is known at start: the declarations, checked, and the catalogue built from
 * them. One patient's values of the facts are read and resolved in `fact-values.ts`.
 *
 * ## On a score or risk card
 *
 * ```jsonc
 * "triageFacts": [
 *   { "name": "score", "from": "score", "meaning": "NEWS2 total, 0–20; higher is sicker" },
 *   { "name": "band", "from": "band", "meaning": "clinical-response band" },   // ranked least severe first
 *   { "name": "redScore", "meaning": "1 when a single parameter scored 3",
 *     "when": { "anyOf": [ { "output": "band", "op": "eq", "value": "low-medium" },
 *                          { "output": "redFlags", "op": "ge", "value": 1 } ] } }
 * ],
 * "triageMention": { "text": "NEWS2 {score} ({band})" }   // how the worklist's "why" names it
 * ```
 *
 * A fact reads one output of the model's answer (`from`) or is a flag, 1 when a condition on the
 * answer holds (`when`, the one condition language with the key `output`). Outputs: a score's
 * `score` (points), `band` and `redFlags` (how many); a risk's `risk` (probability 0–1, shown as a
 * percentage) and `band`. A `band` fact is shown as its label and compared by rank, least severe
 * first (a rule-only band such as NEWS2 "low-medium" just above the band it names), so a policy
 * may write `{ "fact": "news2.band", "op": "ge", "value": "medium" }`. `unit` and `format`
 * default from the output. `pool` adds the fact to a pool read as `<pool>.max`: the highest value
 * over every model in the pool that was given (every risk model's `risk` is in pool `risk`, so
 * `risk.max` is the highest chronic risk, whichever model gave it).
 *
 * `triageMention` (optional; default `<id> {<first fact>}`) fills the worklist's "why" and the
 * placeholder `{<model id>}`; its own placeholders are the card's fact names.
 *
 * ## Built in
 *
 * The policy's own input, imaging findings, gives the source `finding`:
 * `finding.positive.maxProbability` and `finding.any.maxProbability`.
 */

const camelCase = z.string().regex(/^[a-z][A-Za-z0-9]*$/, 'camelCase');

export const triageFactSchema = z.object({
  name: camelCase,
  /** The answer output the fact is. */
  from: z.string().min(1).optional(),
  /** …or a flag: 1 when this condition on the answer holds, else 0. */
  when: conditionSchema('output').optional(),
  /** Defaults from the output: points, probability, count, band, flag. */
  unit: z.string().min(1).optional(),
  /** How the fact is written in texts (default: percent for a risk, else the number). */
  format: z.enum(['number', 'percent']).optional(),
  /** What the fact means, for whoever writes a policy rule on it. */
  meaning: z.string().min(1),
  meaningZh: z.string().optional(),
  pool: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case pool name').optional(),
}).strict().refine((f) => (f.from === undefined) !== (f.when === undefined), 'a triage fact needs exactly one of from (an output) or when (a flag)');

export const triageFactsSchema = z.array(triageFactSchema).superRefine((facts, ctx) => {
  const seen = new Set<string>();
  facts.forEach((f, i) => {
    if (seen.has(f.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `triage fact ${f.name} appears twice` });
    seen.add(f.name);
  });
});

export const triageMentionSchema = z.object({ text: z.string().min(1), textZh: z.string().min(1).optional() }).strict();

export type TriageFactSpec = z.infer<typeof triageFactSchema>;
export type TriageMention = z.infer<typeof triageMentionSchema>;

/** What the catalogue reads of a score or risk card (inference/model-card.ts). */
export type FactSourceCard = {
  id: string;
  version: string;
  title: string;
  titleZh?: string;
  triageFacts?: TriageFactSpec[];
  triageMention?: TriageMention;
  bands: { label: string; display: string; displayZh?: string; below?: number }[];
} & ({ task: 'score'; scoring: Record<string, unknown> } | { task: 'risk' });

type Kind = 'number' | 'band' | 'flag';

/** The outputs of an answer a fact may read, by task, with their kind, unit and format. */
const OUTPUTS: Record<FactSourceCard['task'], Record<string, { kind: Kind; unit: string; format: 'number' | 'percent' }>> = {
  score: {
    score: { kind: 'number', unit: 'points', format: 'number' },
    band: { kind: 'band', unit: 'band', format: 'number' },
    redFlags: { kind: 'number', unit: 'count', format: 'number' },
  },
  risk: {
    risk: { kind: 'number', unit: 'probability', format: 'percent' },
    band: { kind: 'band', unit: 'band', format: 'number' },
  },
};

export interface FactDef {
  /** `<source>.<name>`, as the policy writes it. */
  key: string;
  source: string;
  name: string;
  kind: Kind;
  unit: string;
  format: 'number' | 'percent';
  meaning: string;
  meaningZh?: string;
  from?: string;
  when?: Condition<'output'>;
  /** Band facts: the labels, least severe first; the fact compares as the index. */
  bands?: string[];
  /** Pool facts: the member facts it is the highest of. */
  members?: string[];
}

export interface FactSource {
  id: string;
  kind: 'model' | 'pool' | 'finding';
  /** Models: the "why" text over the model's own fact names. */
  mention?: TriageMention;
  /** Models: the card's title, naming a score the policy could not read because its card declined the patient. */
  title?: { en: string; zh: string };
  facts: string[];
}

export interface FactCatalogue {
  facts: ReadonlyMap<string, FactDef>;
  sources: ReadonlyMap<string, FactSource>;
}

/** The sources of facts that do not come from a card. */
export const FINDING_FACTS: readonly { name: string; meaning: string }[] = [
  { name: 'positive.maxProbability', meaning: 'highest probability among positive imaging findings (0–1)' },
  { name: 'any.maxProbability', meaning: 'highest probability among all imaging findings, positive or not (0–1)' },
];

/** A card's triage facts that cannot be read: refuse the card (or the set of cards) at start. */
export class TriageFactError extends Error {
  readonly code = 'TRIAGE_FACT';
  constructor(readonly modelId: string, problem: string) {
    super(`${modelId}: ${problem}`);
  }
}

/** Checks one card's `triageFacts` and `triageMention` against what its answer has; throws TriageFactError. */
export function checkTriageFacts(card: FactSourceCard): FactDef[] {
  const outputs = OUTPUTS[card.task];
  const specs = card.triageFacts ?? [];
  const known = Object.keys(outputs).join(', ');
  const defs = specs.map((spec): FactDef => {
    const common = { key: `${card.id}.${spec.name}`, source: card.id, name: spec.name, meaning: spec.meaning, ...(spec.meaningZh ? { meaningZh: spec.meaningZh } : {}) };
    if (spec.when) {
      const unknown = namesRead(spec.when, 'output').filter((o) => !(o in outputs));
      if (unknown.length) throw new TriageFactError(card.id, `triage fact ${spec.name} reads ${unknown.join(', ')}, which a ${card.task} answer does not have (it has ${known})`);
      return { ...common, kind: 'flag', unit: spec.unit ?? 'flag (1 = yes, 0 = no)', format: spec.format ?? 'number', when: spec.when };
    }
    const output = outputs[spec.from!];
    if (!output) throw new TriageFactError(card.id, `triage fact ${spec.name} is from ${spec.from}, which a ${card.task} answer does not have (it has ${known})`);
    return {
      ...common,
      kind: output.kind,
      unit: spec.unit ?? output.unit,
      format: spec.format ?? output.format,
      from: spec.from,
      ...(output.kind === 'band' ? { bands: bandLabels(card) } : {}),
    };
  });
  if (card.triageMention) {
    for (const text of [card.triageMention.text, card.triageMention.textZh ?? '']) {
      for (const [, name] of text.matchAll(/\{([\w.]+)\}/g)) {
        if (!specs.some((s) => s.name === name)) throw new TriageFactError(card.id, `triageMention uses {${name}}, which is not one of the card's triage facts (${specs.map((s) => `{${s.name}}`).join(' ') || 'none'})`);
      }
    }
  }
  return defs;
}

function bandLabels(card: FactSourceCard): string[] {
  return card.task === 'score' ? bandOrder({ id: card.id, scoring: card.scoring, bands: card.bands }).map((b) => b.label) : card.bands.map((b) => b.label);
}

const catalogues = new WeakMap<object, FactCatalogue>();

/**
 * Every fact the loaded cards declare, their pools and the built-in finding facts. Memoised per
 * list, so the registry, the route and the prioritiser share one. Throws TriageFactError when a
 * card's facts cannot be read, a pool mixes units, or a pool is named like a model.
 */
export function factCatalogue(models: readonly { card: { task: string } }[]): FactCatalogue {
  const cached = catalogues.get(models);
  if (cached) return cached;
  const facts = new Map<string, FactDef>();
  const sources = new Map<string, FactSource>();
  sources.set('finding', { id: 'finding', kind: 'finding', facts: FINDING_FACTS.map((f) => `finding.${f.name}`) });
  for (const f of FINDING_FACTS) facts.set(`finding.${f.name}`, { key: `finding.${f.name}`, source: 'finding', name: f.name, kind: 'number', unit: 'probability', format: 'number', meaning: f.meaning });

  // The route evaluates the highest loaded version of a model id; its card says what triage reads.
  const cards = models.map((m) => m.card).filter((c): c is FactSourceCard => (c.task === 'score' || c.task === 'risk'))
    .sort((a, b) => compareVersions(b.version, a.version))
    .filter((c, i, all) => all.findIndex((x) => x.id === c.id) === i);
  for (const card of cards) {
    const defs = checkTriageFacts(card);
    if (!defs.length) continue;
    if (sources.has(card.id)) throw new TriageFactError(card.id, `the id ${card.id} is reserved for a triage fact source`);
    sources.set(card.id, {
      id: card.id, kind: 'model', mention: card.triageMention ?? { text: `${card.id} {${defs[0].name}}` }, facts: defs.map((d) => d.key),
      title: { en: card.title, zh: card.titleZh ?? card.title },
    });
    for (const d of defs) facts.set(d.key, d);
  }
  for (const d of [...facts.values()]) {
    const pool = cards.find((c) => c.id === d.source)?.triageFacts?.find((s) => s.name === d.name)?.pool;
    if (!pool) continue;
    const key = `${pool}.max`;
    const existing = facts.get(key);
    if (!existing) {
      if (sources.has(pool)) throw new TriageFactError(d.source, `pool ${pool} is named like a model or source; name the pool differently`);
      facts.set(key, { key, source: pool, name: 'max', kind: 'number', unit: d.unit, format: d.format, meaning: `highest of ${pool} pool: ${d.meaning}`, members: [d.key] });
      sources.set(pool, { id: pool, kind: 'pool', facts: [key] });
    } else {
      if (existing.unit !== d.unit || existing.format !== d.format || d.kind === 'band') {
        throw new TriageFactError(d.source, `triage fact ${d.name} joins pool ${pool} with unit ${d.unit} (${d.kind}), but the pool is in ${existing.unit}`);
      }
      existing.members!.push(d.key);
    }
  }
  const catalogue = { facts, sources };
  catalogues.set(models, catalogue);
  return catalogue;
}
