/**
 * Deployment states in the store (migration 023, docs/models.md "Deployment states"): a shadow
 * run's findings and failures, kept for model teams and out of every clinician's way, and the
 * deployment state each model version was last started with, whose changes are audited.
 */
import type { CardDeployment } from '../contract/jobs.ts';
import { appendAudits, auditChainColumns, auditedTransaction, auditInsert, auditKeys, planAudits, type AuditChainState, type AuditEntry } from './audit.ts';
import { canonicalJson } from './canonical-json.ts';
import { NotFoundError, type StoreContext } from './shared.ts';
import { findingColumns, findingCreatedAudits, modelKeyOf } from './studies.ts';
import type { FindingInput } from './types.ts';

/** A read-assist model version's deployment as its card says at start. */
export interface ModelDeploymentState {
  modelKey: string;
  deployment: CardDeployment;
  canary?: { share: number; sites?: string[] };
  cardSha256: string;
}

/** Who records a deployment change: the registry's check at start, not a person. */
export const REGISTRY_ACTOR = 'system:registry';

export const deploymentAccess = {
  /**
   * Stores a shadow run's findings (`deployment = 'shadow'`) with their provenance and one keyed
   * `finding.created` record each (payload `deployment: 'shadow'`).
   *
   * Contract: one transaction; safe to run any number of times. Unlike a clinical run's
   * (studies.ts recordFindings) it changes nothing a clinician sees: not the instance's status
   * or pending models (a shadow run is never waited for), not the study's finding leaders or
   * priority, no consultation routing, no SR, no change notice. Consent is honoured the same:
   * when the patient's consent withholds AI, the findings are dropped and one keyed
   * `ai.withheld` record says so. NotFoundError for an instance not stored (retried).
   */
  async recordShadowFindings({ db }: StoreContext, sopInstanceUid: string, findings: FindingInput[], actor: string): Promise<void> {
    const modelKey = modelKeyOf(findings);
    await auditedTransaction(db, async (tx) => {
      const { rows: [instance] } = await tx.query<{ withheld: string | null }>(
        `select coalesce(i.ai_withheld, consent_withheld(s.site_id, s.patient_id, 'ai-processing')) as withheld
           from instances i join studies s on s.study_instance_uid = i.study_instance_uid where i.sop_instance_uid = $1`, [sopInstanceUid]);
      if (!instance) throw new NotFoundError(`instance ${sopInstanceUid} is not stored`);
      if (instance.withheld !== null) {
        await appendAudits(tx, [{
          actor, action: 'ai.withheld', entityType: 'instance', entityId: sopInstanceUid,
          payload: { model: modelKey, deployment: 'shadow', reason: instance.withheld, findingsDropped: true },
          idempotencyKey: `ai.withheld:${sopInstanceUid}:${modelKey}`,
        }]);
        return;
      }
      const created = findingCreatedAudits(sopInstanceUid, findings, actor, 'shadow');
      const { rows: [state] } = await tx.query<AuditChainState>(
        `with stored as (
           insert into findings (id, sop_instance_uid, study_instance_uid, label, display, probability, positive, refer,
             operating_point, model, timing_ms, heatmap, applicability, input_stats, deployment)
           select f.id, $1, i.study_instance_uid, f.label, f.display, f.probability, f.positive, f.refer,
             f.operating_point, f.model, f.timing_ms, f.heatmap, f.applicability, f.input_stats, 'shadow'
             from instances i, json_populate_recordset(null::findings, $2::json) f
            where i.sop_instance_uid = $1
           on conflict (id) do nothing
         ) select ${auditChainColumns('$3')}`,
        [sopInstanceUid, JSON.stringify(findingColumns(findings)), auditKeys(created)]);
      const planned = planAudits(state, created);
      if (planned.added > 0) await tx.query(auditInsert('$1'), [planned.rows]);
    });
  },

  /**
   * Records that a shadow run could not read an instance: one keyed `inference.failed` record
   * (payload `deployment: 'shadow'`) and nothing else — the image's status is its clinical
   * models' to say. NotFoundError for an instance not stored (retried).
   */
  async recordShadowFailure({ db }: StoreContext, sopInstanceUid: string, model: { id: string; version: string }, error: { code: string; message: string }, actor: string): Promise<void> {
    await auditedTransaction(db, async (tx) => {
      const { rows } = await tx.query('select 1 from instances where sop_instance_uid = $1', [sopInstanceUid]);
      if (rows.length === 0) throw new NotFoundError(`instance ${sopInstanceUid} is not stored`);
      await appendAudits(tx, [{
        actor, action: 'inference.failed', entityType: 'instance', entityId: sopInstanceUid,
        payload: { model, error, deployment: 'shadow' },
        idempotencyKey: `inference.failed:${sopInstanceUid}:${model.id}@${model.version}`,
      }]);
    });
  },

  /**
   * Compares each model version's deployment (state and canary selection) with the one it was
   * last started with, stores the new one, and appends `model.deployment-changed` (before, after,
   * card SHA-256) for each that differs — a version seen for the first time too (before: null).
   * Contract: one audited transaction; a second start with the same cards records nothing; two
   * processes starting at once record each change once (the second sees the first's rows).
   * Returns the changes.
   */
  async recordModelDeployments({ db }: StoreContext, states: ModelDeploymentState[], actor: string = REGISTRY_ACTOR): Promise<AuditEntry[]> {
    return auditedTransaction(db, async (tx) => {
      const { rows } = await tx.query<{ model_key: string; deployment: CardDeployment; canary: ModelDeploymentState['canary'] | null; card_sha256: string }>(
        'select model_key, deployment, canary, card_sha256 from model_deployments where model_key = any($1)', [states.map((s) => s.modelKey)]);
      const last = new Map(rows.map((r) => [r.model_key, r]));
      const changes: AuditEntry[] = [];
      for (const state of states) {
        const before = last.get(state.modelKey);
        const after = { deployment: state.deployment, ...(state.canary && { canary: state.canary }) };
        const was = before && { deployment: before.deployment, ...(before.canary && { canary: before.canary }) };
        if (was && canonicalJson(was) === canonicalJson(after)) continue;
        await tx.query(
          `insert into model_deployments (model_key, deployment, canary, card_sha256) values ($1, $2, $3, $4)
           on conflict (model_key) do update set deployment = excluded.deployment, canary = excluded.canary, card_sha256 = excluded.card_sha256, seen_at = now()`,
          [state.modelKey, state.deployment, state.canary ? JSON.stringify(state.canary) : null, state.cardSha256]);
        changes.push({
          actor, action: 'model.deployment-changed', entityType: 'model', entityId: state.modelKey,
          payload: { before: was ?? null, after, cardSha256: state.cardSha256, ...(before && { previousCardSha256: before.card_sha256 }) },
        });
      }
      if (changes.length > 0) await appendAudits(tx, changes);
      return changes;
    });
  },
};
