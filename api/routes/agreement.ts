import { Hono } from 'hono';
import type { z } from 'zod';
import { agreement, agreementQuery, type AgreementGroup } from '../../contract/agreement.ts';
import { CDS_OVERRIDE_REASONS } from '../../contract/cds-hooks.ts';
import { REVIEW_REASONS } from '../../contract/reading.ts';
import { wilson } from '../../inference/proportion.ts';
import { labelNamesZh } from '../../inference/label-names.ts';
import type { AgreementRow } from '../../store/types.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { mount } from '../route.ts';
import { ACCESS } from '../access.ts';
import { knownSites } from '../site-filter.ts';
import { csv } from '../csv.ts';

/**
 * `GET /v1/agreement?from=&to=&model=`: how readers received each model version's findings,
 * per label: acceptance (Wilson 95 % interval), override reasons in Pareto order, time to
 * decision, acceptance by day and missed findings readers added; and, as groups of source
 * `cds-hooks`, the same for the CDS Hooks cards clinicians accepted or overrode in their EHR.
 * The feedback loop model teams use. `GET /v1/agreement.csv`: the same groups, one row each.
 */
export function agreementRoutes(deps: ApiDeps) {
  const app = new Hono();
  const nameZh = labelNamesZh(deps.registry.models);

  async function groups(q: z.output<typeof agreementQuery>) {
    if (q.from && q.to && q.from >= q.to) throw new ApiError(422, 'VALIDATION_FAILED', 'the request is invalid', [{ field: 'to', message: '`to` must be after `from`' }]);
    const rows = await deps.store.agreement({ from: q.from, to: q.to, modelId: q.model, sites: await knownSites(deps, q.site) });
    return { generatedAt: new Date().toISOString(), groups: rows.map((row) => present(row, row.source === 'cds-hooks' ? cdsDisplayZh(row.label) : nameZh({ id: row.modelId, version: row.modelVersion }, row.label))) };
  }

  const about = 'Findings created in [from, to) (ISO dates or date-times), one model id or all, on studies of the sites named in `site` (any site that exists; CDS Hooks cards by the sites of the account they were issued to) or of all; each finding\'s latest review is its decision.';
  mount(app, {
    method: 'get', path: '/v1/agreement', operationId: 'getAgreement', access: ACCESS.modelQuality, tag: 'model teams',
    summary: 'How readers received each model version\'s findings, per label',
    description: `Acceptance with its Wilson 95 % interval, override reasons in Pareto order, time to decision, acceptance by day, reader-added findings. ${about}`,
    query: agreementQuery,
    responses: { 200: { description: 'One group per (model version, label).', json: agreement } },
  }, async (c, { query }) => c.json(await groups(query)));
  mount(app, {
    method: 'get', path: '/v1/agreement.csv', operationId: 'getAgreementCsv', access: ACCESS.modelQuality, tag: 'model teams',
    summary: 'The same groups as CSV, one row each (UTF-8 with a byte order mark)',
    description: about,
    query: agreementQuery,
    responses: { 200: { description: 'RFC 4180 CSV; one count column per coded override reason.', media: { type: 'text/csv' } } },
  }, async (c, { query }) => {
    const { generatedAt, groups: rows } = await groups(query);
    return c.body(toCsv(rows), 200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="lantern-agreement-${generatedAt.slice(0, 10)}.csv"`,
    });
  });
  return app;
}

const rate = (k: number, n: number) => (n > 0 ? k / n : null);

/** A CDS Hooks group's name in Chinese, from its label `cds:<kind>` (the English one comes with the row). */
const CDS_KIND_ZH: Record<string, string> = { score: '评分', risk: '风险', triage: '分诊', imaging: '影像 AI' };
const cdsDisplayZh = (label: string) => `CDS Hooks ${CDS_KIND_ZH[label.slice('cds:'.length)] ?? label}卡片`;

/** Readers' reasons, then those only a CDS Hooks card offers, then a card dismissed without one. */
const OVERRIDE_REASONS: readonly { code: string; display: string; displayZh: string }[] = [
  ...REVIEW_REASONS,
  ...CDS_OVERRIDE_REASONS.filter((r) => !REVIEW_REASONS.some((x) => x.code === r.code)),
  { code: 'no-reason-given', display: 'Dismissed without a reason (CDS Hooks)', displayZh: '未说明原因即忽略（CDS Hooks）' },
];

function present(row: AgreementRow, displayZh: string | undefined): AgreementGroup {
  let cumulative = 0;
  return {
    source: row.source,
    modelId: row.modelId,
    modelVersion: row.modelVersion,
    label: row.label,
    display: row.display,
    displayZh: displayZh ?? row.display,
    findings: row.findings,
    decided: row.decided,
    accepted: row.accepted,
    overridden: row.overridden,
    amended: row.amended,
    acceptanceRate: rate(row.accepted, row.decided),
    acceptanceCi95: row.decided > 0 ? wilson(row.accepted, row.decided).ci95 : null,
    overrideReasons: row.overrideReasons.map(({ code, count }) => {
      const reason = OVERRIDE_REASONS.find((r) => r.code === code);
      const share = count / row.overridden;
      cumulative += share;
      return { code, display: reason?.display ?? code, displayZh: reason?.displayZh ?? code, count, share, cumulativeShare: cumulative };
    }),
    timeToDecisionSeconds: row.timeToDecisionSeconds,
    byDay: row.byDay.map((d) => ({ ...d, acceptanceRate: rate(d.accepted, d.decided) })),
    readerFindings: row.readerFindings,
  };
}

/** One column per fact; override reasons get one count column per coded reason, so every row has the same shape. */
const CSV_COLUMNS: [string, (g: AgreementGroup) => string | number | null][] = [
  ['source', (g) => g.source],
  ['modelId', (g) => g.modelId],
  ['modelVersion', (g) => g.modelVersion],
  ['label', (g) => g.label],
  ['display', (g) => g.display],
  ['displayZh', (g) => g.displayZh],
  ['findings', (g) => g.findings],
  ['decided', (g) => g.decided],
  ['accepted', (g) => g.accepted],
  ['overridden', (g) => g.overridden],
  ['amended', (g) => g.amended],
  ['acceptanceRate', (g) => g.acceptanceRate],
  ['acceptanceCi95Low', (g) => g.acceptanceCi95?.[0] ?? null],
  ['acceptanceCi95High', (g) => g.acceptanceCi95?.[1] ?? null],
  ['timeToDecisionMedianSeconds', (g) => g.timeToDecisionSeconds?.median ?? null],
  ['timeToDecisionP90Seconds', (g) => g.timeToDecisionSeconds?.p90 ?? null],
  ['readerFindings', (g) => g.readerFindings],
  ...OVERRIDE_REASONS.map(({ code }): [string, (g: AgreementGroup) => number] => [`override:${code}`, (g) => g.overrideReasons.find((r) => r.code === code)?.count ?? 0]),
];

/** One row per group under a header row. */
const toCsv = (groups: AgreementGroup[]) => csv([CSV_COLUMNS.map(([name]) => name), ...groups.map((g) => CSV_COLUMNS.map(([, value]) => value(g)))]);
