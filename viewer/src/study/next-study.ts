/**
 * "Next study" walks the worklist as the reader filtered it, in the API's order, to the
 * first study not yet reviewed. Studies stepped past with `n` in this walk are skipped
 * on later steps, so skipping two undecided studies cannot bounce between them; the walk
 * starts afresh whenever the worklist is shown again.
 */
import { getWorklist } from '../api.ts';
import { rememberedFilters } from '../worklist-filters.ts';

const passed = new Set<string>();

export function restartStudyWalk(): void {
  passed.clear();
}

/** The study to open after `current`, or undefined when none is left (back to the worklist). */
export async function nextStudy(current: string): Promise<string | undefined> {
  passed.add(current);
  const items = await getWorklist(undefined, rememberedFilters());
  return items.find((i) => i.status !== 'reviewed' && !passed.has(i.studyInstanceUid))?.studyInstanceUid;
}
