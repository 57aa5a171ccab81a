import { labelNamesZh } from '../inference/label-names.ts';
import type { Sla, TriageLevel } from '../contract/studies.ts';
import { checkPolicy } from '../inference/triage-policy/evaluate.ts';
import type { Finding, StudySummary } from '../store/types.ts';
import type { ApiDeps } from './deps.ts';

export type { Sla } from '../contract/studies.ts';

/**
 * What the worklist and study answers add to the stored study: the Chinese names of its
 * findings (from the model cards) and time waiting against the reading target of its
 * triage level (from the triage-policy card). Read from the cards at answer time, so an
 * edited target or a new translation applies to every study at once.
 */
export function createStudyView(registry: ApiDeps['registry']) {
  const nameZh = labelNamesZh(registry.models);
  const targets = new Map(checkPolicy(registry.triagePolicy.card).levels.map((l) => [l.level, l.targetMinutes]));

  /** Null once the study is reviewed (nothing is waiting), or when triage gave it no level. */
  function sla(study: StudySummary, now: Date): Sla | null {
    const level = (study.triage as { level?: TriageLevel } | undefined)?.level;
    const targetMinutes = level === undefined ? undefined : targets.get(level);
    if (study.status === 'reviewed' || !level || targetMinutes === undefined) return null;
    const dueAt = new Date(Date.parse(study.receivedAt) + targetMinutes * 60_000);
    return { level, targetMinutes, dueAt: dueAt.toISOString(), breached: now.getTime() > dueAt.getTime() };
  }

  return {
    study: <S extends StudySummary>(study: S, now: Date) => ({ ...study, waitingSince: study.receivedAt, sla: sla(study, now) }),
    finding: <F extends Finding>(finding: F) => ({ ...finding, displayZh: nameZh(finding.model, finding.label) }),
    nameZh,
  };
}
