import { studyTriage, type AiDelay, type Sla, type StudySummary as PresentedStudySummary, type StudyTriage } from '../contract/studies.ts';
import { labelNamesZh } from '../inference/label-names.ts';
import { checkPolicy } from '../inference/triage-policy/policy.ts';
import { logger } from '../log.ts';
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
  const levels = checkPolicy(registry.triagePolicy.card).levels;
  const targets = new Map(levels.map((l) => [l.level, l.targetMinutes]));
  const aiTargets = new Map(levels.map((l) => [l.level, l.aiResultTargetMinutes]));

  /** Null once the study is reviewed (nothing is waiting), or when triage gave it no level. */
  function sla(study: StudySummary, triage: StudyTriage | undefined, now: Date): Sla | null {
    const level = triage?.level;
    const targetMinutes = level === undefined ? undefined : targets.get(level);
    if (study.status === 'reviewed' || !level || targetMinutes === undefined) return null;
    const dueAt = new Date(Date.parse(study.receivedAt) + targetMinutes * 60_000);
    return { level, targetMinutes, dueAt: dueAt.toISOString(), breached: now.getTime() > dueAt.getTime() };
  }

  /** Only while the AI is still working on the study (pending) and past its level's AI result target. */
  function aiDelay(study: StudySummary, triage: StudyTriage | undefined, now: Date): AiDelay | null {
    const level = triage?.level;
    const targetMinutes = level === undefined ? undefined : aiTargets.get(level);
    if (study.status !== 'pending' || !level || targetMinutes === undefined) return null;
    const waitedMs = now.getTime() - Date.parse(study.receivedAt);
    return waitedMs > targetMinutes * 60_000 ? { level, targetMinutes, waitingMinutes: Math.floor(waitedMs / 60_000) } : null;
  }

  return {
    study<S extends StudySummary>(study: S, now: Date): Omit<S, 'triage'> & Pick<PresentedStudySummary, 'triage' | 'waitingSince' | 'sla' | 'aiDelay'> {
      const triage = storedTriage(study);
      return { ...study, triage, waitingSince: study.receivedAt, sla: sla(study, triage, now), aiDelay: aiDelay(study, triage, now) };
    },
    finding: <F extends Finding>(finding: F) => ({ ...finding, displayZh: nameZh(finding.model, finding.label) }),
    nameZh,
  };
}

/**
 * The triage the prioritiser stored, checked against the contract: a row the current
 * contract cannot read (written by another version) is shown without it, and logged.
 */
function storedTriage(study: StudySummary): StudyTriage | undefined {
  if (study.triage === undefined) return undefined;
  const parsed = studyTriage.safeParse(study.triage);
  if (parsed.success) return parsed.data;
  logger.warn({ study: study.studyInstanceUid, issues: parsed.error.issues.slice(0, 3) }, 'stored triage does not match the contract; presented without it');
  return undefined;
}
