/**
 * Worklist filters live in the URL hash (`#/?status=ready&priority=urgent,high`), so a
 * reload, a bookmark or the back link from a study keeps them. The study screen reads
 * the same filters for "next study", so the reader walks the list they chose.
 */
import type { PriorityBand, StudyStatus, WorklistFilters } from './api.ts';

export const STATUSES: readonly StudyStatus[] = ['pending', 'ready', 'reviewed', 'failed'];
export const BANDS: readonly PriorityBand[] = ['urgent', 'high', 'routine', 'low'];
/** Offered even before a study of that modality arrives; others appear once seen. */
export const COMMON_MODALITIES: readonly string[] = ['CR', 'DX', 'CT', 'MR', 'US'];

/** Where the worklist keeps its filters while a study is open (the hash then names the study). */
const LAST_KEY = 'lantern.worklist.filters';

function list<T extends string>(value: string | null, allowed?: readonly T[]): T[] | undefined {
  const items = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s): s is T => s !== '' && (!allowed || (allowed as readonly string[]).includes(s)));
  return items.length ? [...new Set(items)] : undefined;
}

export function parseFilters(hash: string): WorklistFilters {
  const q = new URLSearchParams(hash.split('?')[1] ?? '');
  const modality = list(q.get('modality'))?.map((m) => m.toUpperCase());
  return {
    status: list(q.get('status'), STATUSES),
    modality: modality?.filter((m) => /^[A-Z0-9]{1,16}$/.test(m)),
    priority: list(q.get('priority'), BANDS),
    site: list(q.get('site'))?.filter((s) => /^[a-z0-9][a-z0-9-]{0,62}$/.test(s)),
  };
}

/** The worklist's hash for these filters: `#/` when none is set. */
export function worklistHash(filters: WorklistFilters): string {
  const q = new URLSearchParams();
  for (const key of ['status', 'modality', 'priority', 'site'] as const) {
    const values = filters[key];
    if (values?.length) q.set(key, values.join(','));
  }
  const s = q.toString().replace(/%2C/g, ',');
  return s ? `#/?${s}` : '#/';
}

export function rememberFilters(filters: WorklistFilters): void {
  try {
    sessionStorage.setItem(LAST_KEY, worklistHash(filters));
  } catch {
    // Storage off: "next study" then walks the unfiltered list.
  }
}

/** The filters the reader last had on the worklist in this tab. */
export function rememberedFilters(): WorklistFilters {
  try {
    return parseFilters(sessionStorage.getItem(LAST_KEY) ?? '');
  } catch {
    return {};
  }
}
