/**
 * The dashboard's filters as the reader typed them and as the API takes them. The date
 * range is in the reader's local days; the API takes instants.
 */
import type { AgreementGroup, AgreementQuery } from '../api.ts';

/** Local calendar days as typed in the date inputs (YYYY-MM-DD); both ends included. */
export interface Filters {
  from: string;
  to: string;
  model: string;
}

export const NO_FILTERS: Filters = { from: '', to: '', model: '' };

/** Names a group across reloads, so the chosen one stays chosen. */
export const groupKey = (g: AgreementGroup) => `${g.modelId}@${g.modelVersion}/${g.label}`;

/** The API's query: local midnight of `from`, and of the day after `to`. */
export function agreementQuery(f: Filters): AgreementQuery {
  const midnight = (day: string, addDays = 0) => {
    const [y, m, d] = day.split('-').map(Number);
    return new Date(y, m - 1, d + addDays).toISOString();
  };
  return {
    ...(f.from ? { from: midnight(f.from) } : {}),
    ...(f.to ? { to: midnight(f.to, 1) } : {}),
    ...(f.model ? { model: f.model } : {}),
  };
}
