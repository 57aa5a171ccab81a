/** Store inputs for tests: a new CR instance with unique UIDs, and a model's finding on it; a triage policy that ranks nothing; and the audit chain re-hashed as an attacker would. */
import { DEFAULT_SITE } from '../contract/sites.ts';
import { auditHash } from './audit.ts';
import type { Queryable } from './db.ts';
import type { ApplicabilityNote, FindingInput, NewInstance, Prioritise } from './types.ts';

/** For a store whose test is not about triage: every study ranks 0, with no reason. */
export const unranked: Prioritise = () => ({ priority: 0, why: '', whyZh: '' });

export function newInstance(overrides: Partial<NewInstance> = {}): NewInstance {
  const study = `1.2.826.0.1.${Date.now()}.${Math.floor(Math.random() * 1e6)}`;
  return {
    study: { studyInstanceUid: study, patientName: 'Test^Patient', modality: 'CR' },
    seriesInstanceUid: `${study}.1`,
    sopInstanceUid: `${study}.1.1`,
    sopClassUid: '1.2.840.10008.5.1.4.1.1.1',
    transferSyntaxUid: '1.2.840.10008.1.2',
    modality: 'CR',
    blobSha256: 'a'.repeat(64),
    byteSize: 10,
    pendingModels: ['pneumonia-cxr@1.0.0'],
    siteId: DEFAULT_SITE,
    ...overrides,
  };
}

export function finding(sop: string, probability = 0.8): FindingInput {
  return {
    id: `f-${sop}-pneumonia`,
    label: 'pneumonia',
    display: 'Pneumonia',
    probability,
    positive: probability >= 0.5,
    refer: false,
    operatingPoint: { name: 'sens-0.90', threshold: 0.5 },
    model: { id: 'pneumonia-cxr', version: '1.0.0', weightsSha256: 'b'.repeat(64), preprocessing: 'grey-square@1' },
    timingMs: { inference: 1 },
  };
}

/** The finding a model writes when the image lies outside its card's population: no probability, the reason. */
export function notApplicableFinding(sop: string, reason: ApplicabilityNote): FindingInput {
  return { ...finding(sop), probability: null, positive: false, applicability: { applicable: false, reason, caveats: [] } };
}

/** Recomputes every hash from `fromSeq` on with the project's own function, as an attacker with database access would. */
export async function rehashFrom(db: Queryable, fromSeq: number) {
  const { rows } = await db.query<{ seq: number; at: string; actor: string; action: string; entity_type: string; entity_id: string; payload: string; prev_hash: string }>(
    'select * from audit where seq >= $1 order by seq', [fromSeq]);
  let prev = (await db.query<{ hash: string }>('select hash from audit where seq = $1', [fromSeq - 1])).rows[0].hash;
  for (const r of rows) {
    const hash = auditHash(prev, { seq: Number(r.seq), at: r.at, actor: r.actor, action: r.action, entityType: r.entity_type, entityId: r.entity_id }, r.payload);
    await db.query('update audit set prev_hash = $1, hash = $2 where seq = $3', [prev, hash, r.seq]);
    prev = hash;
  }
}
