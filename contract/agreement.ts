import { z } from 'zod';
import { siteFilter } from './studies.ts';

const instant = z.union([z.iso.datetime({ offset: true }), z.iso.date()], { error: 'an ISO date or date-time, e.g. 2026-11-01 or 2026-11-01T08:00:00Z' })
  .transform((s) => new Date(s));

/** `GET /v1/agreement?from=&to=&model=&site=` (and `.csv`): findings created in [from, to), one model id or all, some sites or all. */
export const agreementQuery = z.object({
  from: instant.optional(),
  to: instant.optional(),
  model: z.string().min(1).max(100).optional(),
  /** Only findings on studies of these sites, and CDS Hooks cards issued for them; any known site (the dashboard counts, it shows no patient). */
  site: siteFilter,
}).strict();

const rate = z.number().min(0).max(1).nullable();

/** How readers received one (model version, label): each finding's latest review is its decision. */
export const agreementGroup = z.object({
  /**
   * Whose decisions these are: `reader-review` (a radiologist accepting or overriding a finding) or
   * `cds-hooks` (a clinician accepting or overriding a CDS Hooks card in the EHR; label `cds:<kind>`,
   * each card issued counts as a finding, its latest feedback as the decision). Never mixed in one group.
   */
  source: z.enum(['reader-review', 'cds-hooks']),
  modelId: z.string(),
  modelVersion: z.string(),
  label: z.string(),
  display: z.string(),
  displayZh: z.string(),
  findings: z.number().int(),
  decided: z.number().int(),
  accepted: z.number().int(),
  overridden: z.number().int(),
  amended: z.number().int(),
  acceptanceRate: rate,
  /** Wilson 95 % interval of the acceptance rate. */
  acceptanceCi95: z.tuple([z.number(), z.number()]).nullable(),
  /** Pareto order: most frequent first; shares of all overrides. */
  overrideReasons: z.array(z.object({
    code: z.string(),
    display: z.string(),
    displayZh: z.string(),
    count: z.number().int(),
    share: z.number(),
    cumulativeShare: z.number(),
  })),
  timeToDecisionSeconds: z.object({ median: z.number(), p90: z.number() }).nullable(),
  /** UTC days of the (latest) decision, ascending. */
  byDay: z.array(z.object({ date: z.string(), decided: z.number().int(), accepted: z.number().int(), acceptanceRate: rate })),
  /** Reader-added findings on the studies this model version read. */
  readerFindings: z.number().int(),
}).meta({ id: 'AgreementGroup' });

export const agreement = z.object({
  generatedAt: z.string(),
  groups: z.array(agreementGroup),
}).meta({ id: 'Agreement' });

export type AgreementQuery = z.input<typeof agreementQuery>;
export type AgreementGroup = z.infer<typeof agreementGroup>;
export type Agreement = z.infer<typeof agreement>;
