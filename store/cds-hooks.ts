/**
 * CDS Hooks: the cards Lantern issued for a hook call, the feedback clinicians gave on them,
 * and what the patient-view service reads of a patient's studies here. Migration 018.
 */
import { appendAudit, auditedTransaction } from './audit.ts';
import { NotFoundError, type StoreContext } from './shared.ts';
import { sitesParam, type SiteScope } from './sites.ts';
import { CLINICAL_FINDINGS } from './clinical-findings.ts';

/** One card as remembered for feedback. */
export interface IssuedCard {
  uuid: string;
  kind: 'score' | 'risk' | 'triage' | 'imaging' | 'ai-coverage' | 'not-computed';
  model?: { id: string; version: string };
  summary: string;
  indicator: 'info' | 'warning' | 'critical';
}

export interface CardIssue {
  serviceId: string;
  hook: string;
  hookInstance: string;
  /** The authenticated user (or the CDS client's mapped user) the cards answered. */
  actor: string;
  sites: readonly string[];
  cards: IssuedCard[];
  /** What else the audit record says: the client's claims, the EHR's user, the inputs used. */
  audit: Record<string, unknown>;
}

export interface CardFeedback {
  card: string;
  outcome: 'accepted' | 'overridden';
  reason?: { system: string; code: string; display?: string };
  userComment?: string;
  acceptedSuggestions?: { id: string }[];
  outcomeTimestamp: string;
}

/** A study of the patient, with what the AI said of it and what a reader decided. */
export interface PatientStudy {
  studyInstanceUid: string;
  studyDate?: string;
  studyDescription?: string;
  modality?: string;
  /** Images still waiting for the AI. */
  queued: number;
  findings: {
    label: string;
    display: string;
    probability: number | null;
    positive: boolean;
    refer: boolean;
    applicability: { applicable: boolean; reason?: { code: string; text: string } } | null;
    model: { id: string; version: string };
    /** The latest reader decision, if any. */
    decision: 'accept' | 'override' | null;
  }[];
}

/** The CDS Hooks reads and writes, each given the store's context first (bindContext). */
export const cdsHooksAccess = {
  /**
   * The latest studies (at most `limit`) whose Patient ID is one of `patientIds`, within
   * `scope`, with their findings and each finding's latest decision: one query.
   */
  async patientStudies({ db }: StoreContext, patientIds: readonly string[], scope: SiteScope, limit = 3): Promise<PatientStudy[]> {
    if (patientIds.length === 0) return [];
    const { rows } = await db.query<{
      study_instance_uid: string; study_date: string | null; study_description: string | null; modality: string | null; queued: number; findings: PatientStudy['findings'];
    }>(
      `select s.study_instance_uid, s.study_date, s.study_description, s.modality,
              (select count(*)::int from instances i where i.study_instance_uid = s.study_instance_uid and i.status = 'queued') as queued,
              coalesce((select json_agg(json_build_object('label', f.label, 'display', f.display, 'probability', f.probability, 'positive', f.positive,
                                                          'refer', f.refer, 'applicability', f.applicability, 'model', f.model,
                                                          'decision', (select r.decision from reviews r where r.finding_id = f.id order by r.id desc limit 1))
                                        order by f.created_at, f.id)
                          from ${CLINICAL_FINDINGS} f where f.study_instance_uid = s.study_instance_uid), '[]') as findings
         from studies s
        where s.patient_id = any($1) and ($2::text[] is null or s.site_id = any($2))
        order by s.received_at desc, s.study_instance_uid
        limit $3`, [patientIds, sitesParam(scope), limit]);
    return rows.map((r) => ({
      studyInstanceUid: r.study_instance_uid,
      ...(r.study_date ? { studyDate: r.study_date } : {}),
      ...(r.study_description ? { studyDescription: r.study_description } : {}),
      ...(r.modality ? { modality: r.modality } : {}),
      queued: r.queued,
      findings: r.findings,
    }));
  },

  /**
   * Remembers the cards of one hook call and audits `cds.cards-issued`.
   *
   * Contract: one transaction; one row per card (a card already stored — the same hook call
   * retried, its uuids derived from it — is left as it is) plus one audit record keyed by
   * (service, hook instance, actor), so a retry adds nothing to the trail either.
   */
  async recordCdsCards({ db }: StoreContext, issue: CardIssue): Promise<void> {
    await auditedTransaction(db, async (tx) => {
      await tx.query(
        `insert into cds_cards (uuid, service_id, hook, hook_instance, kind, model_id, model_version, summary, indicator, issued_to, sites)
         select c.uuid, $2, $3, $4, c.kind, c.model_id, c.model_version, c.summary, c.indicator, $5, $6
           from json_to_recordset($1::json) as c(uuid text, kind text, model_id text, model_version text, summary text, indicator text)
         on conflict (uuid) do nothing`,
        [JSON.stringify(issue.cards.map((c) => ({ uuid: c.uuid, kind: c.kind, model_id: c.model?.id ?? null, model_version: c.model?.version ?? null, summary: c.summary, indicator: c.indicator }))),
          issue.serviceId, issue.hook, issue.hookInstance, issue.actor, issue.sites]);
      await appendAudit(tx, {
        actor: issue.actor,
        action: 'cds.cards-issued',
        entityType: 'cds-hook',
        entityId: issue.hookInstance,
        payload: { serviceId: issue.serviceId, hook: issue.hook, cards: issue.cards, ...issue.audit },
        idempotencyKey: `cds.cards-issued:${issue.serviceId}:${issue.hookInstance}:${issue.actor}`,
      });
    });
  },

  /**
   * Records feedback on cards this service issued, each entry audited as `cds.feedback`.
   *
   * Contract: one transaction. Every card must have been issued by `serviceId` to a user of one
   * of `sites`, else NotFoundError naming the unknown uuids and nothing is written. An entry
   * whose (card, outcome) is already recorded changes nothing (its audit record is keyed the same).
   */
  async recordCdsFeedback({ db }: StoreContext, serviceId: string, entries: CardFeedback[], actor: string, sites: SiteScope, client?: Record<string, unknown>): Promise<{ recorded: number; alreadyRecorded: number }> {
    return auditedTransaction(db, async (tx) => {
      const uuids = [...new Set(entries.map((e) => e.card))];
      const { rows: known } = await tx.query<{ uuid: string; kind: string; model_id: string | null; model_version: string | null; hook_instance: string }>(
        `select uuid, kind, model_id, model_version, hook_instance from cds_cards
          where uuid = any($1) and service_id = $2 and ($3::text[] is null or sites && $3::text[])`, [uuids, serviceId, sitesParam(sites)]);
      const unknown = uuids.filter((u) => !known.some((k) => k.uuid === u));
      if (unknown.length > 0) throw new NotFoundError(`no card ${unknown.slice(0, 20).join(', ')} was issued by CDS service ${serviceId}`);
      let recorded = 0;
      for (const entry of entries) {
        const { rows: [inserted] } = await tx.query(
          `insert into cds_feedback (card_uuid, outcome, reason_system, reason_code, reason_display, user_comment, accepted_suggestions, outcome_at, actor)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict (card_uuid, outcome) do nothing returning card_uuid`,
          [entry.card, entry.outcome, entry.reason?.system ?? null, entry.reason?.code ?? null, entry.reason?.display ?? null, entry.userComment ?? null,
            entry.acceptedSuggestions ? JSON.stringify(entry.acceptedSuggestions) : null, entry.outcomeTimestamp, actor]);
        if (!inserted) continue;
        recorded++;
        const card = known.find((k) => k.uuid === entry.card)!;
        await appendAudit(tx, {
          actor,
          action: 'cds.feedback',
          entityType: 'cds-card',
          entityId: entry.card,
          payload: {
            serviceId, hookInstance: card.hook_instance, kind: card.kind,
            model: card.model_id ? { id: card.model_id, version: card.model_version } : null,
            outcome: entry.outcome, reason: entry.reason ?? null, userComment: entry.userComment ?? null,
            acceptedSuggestions: entry.acceptedSuggestions ?? null, outcomeTimestamp: entry.outcomeTimestamp, client: client ?? null,
          },
          idempotencyKey: `cds.feedback:${entry.card}:${entry.outcome}`,
        });
      }
      return { recorded, alreadyRecorded: entries.length - recorded };
    });
  },
};
