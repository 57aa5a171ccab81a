import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { surveillancePolicyCard, type SignalPolicy, type SurveillancePolicyCard } from '../../contract/surveillance.ts';
import { ModelContractError } from '../errors.ts';
import { methodParamsFor } from './params.ts';

/**
 * The surveillance policy card (`models/surveillance-policy/model.json`, task `surveillance`):
 * which detection methods watch which signal, with which parameters, and the several-points rule.
 * Like the triage policy it is data, checked at start: the model registry loads it with the
 * models and refuses to start on a card that breaks the schema or these rules.
 */
export interface SurveillancePolicy {
  card: SurveillancePolicyCard;
  dir: string;
  /** `id@version`: recorded with every alert so an alert names the policy that raised it. */
  key: string;
  /** SHA-256 of the card's bytes. */
  sha256: string;
}

/** A models folder holding a surveillance policy rather than a model (the registry loads it apart). */
export function isSurveillancePolicyFolder(dir: string): boolean {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as { task?: unknown }).task === 'surveillance';
  } catch {
    return false; // unreadable cards are the model loader's to report
  }
}

export function loadSurveillancePolicy(dir: string): SurveillancePolicy {
  let text: string;
  let raw: unknown;
  try {
    text = fs.readFileSync(path.join(dir, 'model.json'), 'utf8');
    raw = JSON.parse(text);
  } catch (error) {
    throw new ModelContractError(dir, `model.json is not readable JSON: ${(error as Error).message}`);
  }
  const parsed = surveillancePolicyCard.safeParse(raw);
  if (!parsed.success) {
    throw new ModelContractError(dir, `model.json breaks the surveillance policy schema: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  const [problem] = policyProblems(parsed.data);
  if (problem) throw new ModelContractError(dir, problem);
  const card = parsed.data;
  return { card, dir, key: `${card.id}@${card.version}`, sha256: createHash('sha256').update(text).digest('hex') };
}

/** What the schema alone cannot say: one entry per pattern, a default, methods once each, consistent parameters. */
export function policyProblems(card: SurveillancePolicyCard): string[] {
  const problems: string[] = [];
  const patterns = card.signals.map((s) => s.signal);
  const repeated = patterns.filter((p, i) => patterns.indexOf(p) !== i);
  if (repeated.length) problems.push(`signal ${repeated[0]} has two entries; one each`);
  if (!patterns.includes('*')) problems.push('no default entry "*": a new signal would go unwatched');
  for (const entry of card.signals) {
    const methods = entry.methods.map((m) => m.method);
    const twice = methods.find((m, i) => methods.indexOf(m) !== i);
    if (twice) problems.push(`signal ${entry.signal} lists ${twice} twice`);
    if (entry.multiPoint && !methods.includes(entry.multiPoint.method)) {
      problems.push(`signal ${entry.signal}: the multi-point rule reads ${entry.multiPoint.method}, which the signal does not run`);
    }
    for (const { method, params } of entry.methods) {
      const p = methodParamsFor(method, params);
      if (p.minBaselineDays > p.baselineDays) problems.push(`signal ${entry.signal} ${method}: minBaselineDays ${p.minBaselineDays} exceeds baselineDays ${p.baselineDays}`);
      if (p.minYears > p.years) problems.push(`signal ${entry.signal} ${method}: minYears ${p.minYears} exceeds years ${p.years}`);
      if (p.minRecentWindows > p.recentWindows) problems.push(`signal ${entry.signal} ${method}: minRecentWindows ${p.minRecentWindows} exceeds recentWindows ${p.recentWindows}`);
    }
  }
  return problems;
}

/** The entry that governs a signal: its own, else the longest matching prefix pattern (`ai-positive:*`), else `*`. */
export function policyFor(card: SurveillancePolicyCard, signal: string): SignalPolicy {
  const exact = card.signals.find((s) => s.signal === signal);
  if (exact) return exact;
  const prefixed = card.signals
    .filter((s) => s.signal.endsWith('*') && signal.startsWith(s.signal.slice(0, -1)))
    .sort((a, b) => b.signal.length - a.signal.length);
  return prefixed[0];
}
