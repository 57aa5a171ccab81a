/** Display formatting shared by the screens; all of it locale-aware and PHI-neutral. */
import { defineMessages, intlLocale } from './i18n.ts';

const msg = defineMessages({
  en: { positive: 'Positive', negative: 'Negative', refer: 'Refer: indeterminate', notApplicable: 'Not applicable' },
  zh: { positive: '阳性', negative: '阴性', refer: '不确定：需人工判读', notApplicable: '不适用' },
});

/** DICOM PN "Family^Given^Middle^Prefix^Suffix" → "Family, Given Middle". */
export function personName(pn: string | undefined): string {
  if (!pn) return '—';
  const [family = '', given = '', middle = ''] = pn.split('=')[0].split('^');
  const rest = [given, middle].filter(Boolean).join(' ');
  return rest ? `${family}, ${rest}` : family || '—';
}

/** DICOM DA "YYYYMMDD" → "YYYY-MM-DD"; anything else is shown as it came. */
export function dicomDate(da: string | undefined): string {
  if (!da) return '—';
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(da);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : da;
}

export function dateTime(iso: string | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(intlLocale(), {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

/** A probability; a finding with none (the model was not applicable) shows a dash. */
export function percent(p: number | null): string {
  if (p === null) return '—';
  return `${(p * 100).toFixed(p >= 0.995 || p < 0.005 ? 1 : 0)}%`;
}

export function ms(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  return v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`;
}

export function hashPrefix(hash: string | undefined, n = 12): string {
  return hash ? hash.slice(0, n) : '—';
}

/** Priorities and thresholds are floats; a reader needs at most a few digits. */
export function num(v: number, digits = 1): string {
  return Number.isFinite(v) ? String(Number(v.toFixed(digits))) : '—';
}

/** Triage bands for colour only (the worklist filter's bands); the number itself is always shown beside it. */
export { priorityBand } from '../../contract/priority-bands.ts';

/**
 * The AI's call on a finding: inside the model's refer band it is too uncertain to hint
 * either way; outside the card's population the model makes no call at all.
 */
export type FindingCall = 'positive' | 'negative' | 'refer' | 'not-applicable';
export const findingCall = (f: { probability: number | null; positive: boolean; refer?: boolean }): FindingCall =>
  f.probability === null ? 'not-applicable' : f.refer ? 'refer' : f.positive ? 'positive' : 'negative';
/** A finding a reader still has to accept or override: one that makes a claim and has no decision yet. */
export const awaitsDecision = (f: { probability: number | null; review: unknown }): boolean => f.probability !== null && !f.review;
/** The call in the reader's language; getters, so a screen rendered after a locale switch reads the new language. */
export const findingCallText: Readonly<Record<FindingCall, string>> = {
  get positive() {
    return msg().positive;
  },
  get negative() {
    return msg().negative;
  },
  get refer() {
    return msg().refer;
  },
  get 'not-applicable'() {
    return msg().notApplicable;
  },
};
