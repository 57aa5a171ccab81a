import { mentionText, type ResolvedFacts } from './fact-values.ts';
import type { FactCatalogue } from './facts.ts';
import { findingStatus, type Finding } from './policy.ts';

/**
 * How the policy's reasons and the worklist's "why" line are written, in English and Chinese:
 * placeholders filled from the facts and from the finding a rule matched.
 */

/** Things a reason or the worklist line can mention: a fact's source (a model or pool), or one finding. */
export type Mention = { kind: 'source'; source: string } | { kind: 'finding'; finding: Finding };

export type Lang = 'en' | 'zh';

/** What the texts read: the loaded cards' facts and this patient's values of them. */
export interface TextContext {
  catalogue: FactCatalogue;
  facts: ResolvedFacts;
}

function findingText(f: Finding, lang: Lang): string {
  const s = findingStatus(f);
  const p = `p=${f.probability.toFixed(2)}`;
  if (lang === 'zh') return `${f.displayZh ?? f.label} ${s === 'refer' ? '不确定 ' : ''}${p}${s === 'negative' ? '（阴性）' : ''}`;
  return `${f.label} ${s === 'refer' ? 'indeterminate ' : ''}${p}${s === 'negative' ? ' (negative)' : ''}`;
}

/** A placeholder's value: `{finding}` (the mentioned finding), `{<source>}` (its mention), `{<source>.<fact>}` (its text); '–' when not given. */
function variable(ctx: TextContext, mentions: Mention[], lang: Lang, name: string): string | undefined {
  if (name === 'finding') {
    const finding = mentions.find((m): m is Extract<Mention, { kind: 'finding' }> => m.kind === 'finding')?.finding;
    return finding ? findingText(finding, lang) : '–';
  }
  if (ctx.catalogue.facts.has(name)) return ctx.facts.get(name)?.text ?? '–';
  if (ctx.catalogue.sources.has(name)) return mentionText(ctx.catalogue, ctx.facts, name, lang) ?? '–';
  return undefined;
}

const fill = (text: string, value: (name: string) => string | undefined) => text.replace(/\{([\w.]+)\}/g, (_, name: string) => value(name) ?? `{${name}}`);
export const fillIn = (text: string, ctx: TextContext, mentions: Mention[], lang: Lang, extra: Record<string, string> = {}) =>
  fill(text, (name) => extra[name] ?? variable(ctx, mentions, lang, name));
export const fillBoth = (t: { text: string; textZh: string }, ctx: TextContext, mentions: Mention[], extra: Record<string, string> = {}) => ({
  text: fillIn(t.text, ctx, mentions, 'en', extra),
  textZh: fillIn(t.textZh, ctx, mentions, 'zh', extra),
});

/** `leads`, then the facts behind the reasons, in reason order, each once: "pneumonia p=0.91 · NEWS2 7 (high)". */
export function whyLine(reasons: { mentions: Mention[] }[], ctx: TextContext, lang: Lang, leads: string[]): string {
  const parts: string[] = [...leads];
  const add = (s: string | undefined) => { if (s && !parts.includes(s)) parts.push(s); };
  for (const r of reasons) {
    for (const m of r.mentions) add(m.kind === 'finding' ? findingText(m.finding, lang) : mentionText(ctx.catalogue, ctx.facts, m.source, lang));
  }
  return parts.slice(0, 4).join(' · ');
}
