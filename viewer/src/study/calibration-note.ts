/**
 * The calibration note beside a finding's probability: how far the model's probabilities
 * can be read as probabilities, in the card's own numbers (expected calibration error on
 * its named split) and its own words (the limitation that talks about calibration).
 */
import type { ModelCard } from '../api.ts';
import { defineMessages } from '../i18n.ts';

const msg = defineMessages({
  en: {
    ece: (after: string, split: string, before?: string) =>
      `Calibration: ECE ${after}${split ? ` on the ${split} split` : ''}${before ? ` (${before} before calibration)` : ''}`,
    none: 'Calibration: the model card states none; read the probability as a ranking score.',
  },
  zh: {
    ece: (after: string, split: string, before?: string) =>
      `校准：${split ? `${split} 集上 ` : ''}ECE ${after}${before ? `（校准前 ${before}）` : ''}`,
    none: '校准：模型卡未说明校准情况；请将概率视为排序分数。',
  },
});

export interface CalibrationNote {
  /** One line in the reader's language. */
  summary: string;
  /** The card's own wording (English): method and the calibration limitation. */
  detail: string[];
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(3) : undefined);

export function calibrationNote(card: ModelCard): CalibrationNote {
  const m = msg();
  const c = card.calibration ?? {};
  const after = num(c.eceAfter ?? c.ece);
  const eceMetric = card.metrics.find((x) => /^ece\b|calibration error/i.test(x.name));
  const method = typeof c.method === 'string' ? c.method : undefined;
  const detail = [method, ...card.limitations.filter((l) => /calibrat/i.test(l))].filter((s): s is string => Boolean(s));
  if (after) {
    return { summary: m.ece(after, typeof c.split === 'string' ? c.split : '', num(c.eceBefore)), detail };
  }
  if (eceMetric) return { summary: m.ece(eceMetric.value.toFixed(3), eceMetric.split, undefined), detail };
  return { summary: m.none, detail };
}
