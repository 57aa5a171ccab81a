import type { LoadedModel } from './registry.ts';

/**
 * The Chinese name of a read-assist label, from the card of the model that produced it
 * (`labels[].displayZh`). Findings store the English name they were made with; the
 * Chinese one is looked up when shown, so a card that gains a translation names old
 * findings too. Falls back to another loaded version of the same model.
 */
export function labelNamesZh(models: readonly LoadedModel[]): (model: { id: string; version?: string }, label: string) => string | undefined {
  const names = new Map<string, string>();
  for (const m of models) {
    if (m.card.task !== 'read-assist') continue;
    for (const l of m.card.labels) {
      if (!l.displayZh) continue;
      names.set(`${m.card.id}@${m.card.version}|${l.id}`, l.displayZh);
      if (!names.has(`${m.card.id}|${l.id}`)) names.set(`${m.card.id}|${l.id}`, l.displayZh);
    }
  }
  return (model, label) => names.get(`${model.id}@${model.version}|${label}`) ?? names.get(`${model.id}|${label}`);
}
