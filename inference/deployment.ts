import { createHash } from 'node:crypto';
import type { RunDeployment } from '../contract/jobs.ts';
import type { ReadAssistCard } from './model-card.ts';

/** The study a model is about to read, as ingest knows it. */
export interface StudyToRead {
  studyInstanceUid: string;
  /** Where the study is filed (its uploader's site). */
  siteId?: string;
}

/**
 * Where a study falls in [0, 1): the first 32 bits of the SHA-256 of its Study Instance UID.
 * Stable across processes, restarts and versions (unlike a language's string hash), so every
 * image of a study, every retry and every API process put it on the same side of a canary's share,
 * and uniform enough that a share of 0.1 selects ~10% of studies (inference/deployment.test.ts).
 */
export function canaryPoint(studyInstanceUid: string): number {
  return createHash('sha256').update(studyInstanceUid).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * How a model runs on a study: `clinical`, `shadow`, or not at all (undefined, evaluate-only).
 * A canary model is clinical for a study filed at one of its sites or whose point falls under
 * its share, and shadow for the rest.
 */
export function deploymentFor(card: Pick<ReadAssistCard, 'deployment' | 'canary'>, study: StudyToRead): RunDeployment | undefined {
  switch (card.deployment) {
    case 'clinical':
    case 'shadow':
      return card.deployment;
    case 'canary': {
      const { share, sites = [] } = card.canary!;
      const atSite = study.siteId !== undefined && sites.includes(study.siteId);
      return atSite || canaryPoint(study.studyInstanceUid) < share ? 'clinical' : 'shadow';
    }
    case 'evaluate-only':
      return undefined;
  }
}
