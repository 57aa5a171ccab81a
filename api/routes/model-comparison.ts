import { Hono } from 'hono';
import { comparableModels, modelComparison, modelComparisonQuery, promotionChecklist, promotionQuery, type ModelComparison, type ModelSide, type PromotionChecklist } from '../../contract/model-comparison.ts';
import { BOOTSTRAP, compareModels, MAX_COMPARED_STUDIES, promotion, PROMOTION_CRITERIA, type ModelSummary } from '../../pipeline/model-comparison.ts';
import type { ModelRef } from '../../store/model-comparison.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { mount } from '../route.ts';
import { ACCESS } from '../access.ts';
import { knownSites } from '../site-filter.ts';
import { labelNamesZh } from '../../inference/label-names.ts';
import { pseudonymousStudyUid } from '../research-view.ts';
import { csv } from '../csv.ts';

/** Disagreements listed in one answer (the counts cover all). */
const MAX_DISAGREEMENTS = 500;

/**
 * `GET /v1/model-comparison?a=&b=&label=` (and `format=csv`): two versions of a model, or two
 * models of one label, on the studies both read — pipeline/model-comparison.ts. And
 * `GET /v1/model-comparison/promotion?candidate=&incumbent=`: the promotion checklist, which
 * promotes nothing. Aggregates and pseudonymous study UIDs only, as the agreement dashboard.
 */
export function modelComparisonRoutes(deps: ApiDeps) {
  const app = new Hono();
  const pseudonym = pseudonymousStudyUid(deps);
  const nameZh = labelNamesZh(deps.registry.models);
  const window = 'Findings created in [from, to) on studies of the sites named in `site` (or all); the label defaults to the one both cards share. A study counts when both models have findings of the label on it; the reader\'s word is the latest review of an answered finding of the label there (accept keeps its call, override turns it; wrong location keeps a positive; poor image quality says nothing), or a finding of the label the reader added (positive).';

  async function compare(q: { a: ModelRef; b: ModelRef; label?: string; from?: Date; to?: Date; site?: string[] }, names: [string, string]) {
    if (q.a.id === q.b.id && q.a.version === q.b.version) throw invalid(names[1], 'the two models must differ (another version or another model)');
    if (q.from && q.to && q.from >= q.to) throw invalid('to', '`to` must be after `from`');
    const label = labelOf(q.a, q.b, q.label, names);
    const answer = await compareModels(deps.store, { a: q.a, b: q.b, label, from: q.from, to: q.to, sites: (await knownSites(deps, q.site))?.slice() });
    if (answer.tooMany) throw invalid('from', `more than ${MAX_COMPARED_STUDIES} studies: narrow the window with from and to`);
    return { label, studies: answer.studies, comparison: answer.comparison };
  }

  /** The label asked for, checked against the cards the registry holds; else the one both share. */
  function labelOf(a: ModelRef, b: ModelRef, asked: string | undefined, names: [string, string]): string {
    const labels = [a, b].map((m) => cardOf(m)?.labels.map((l) => l.id));
    const known = labels.filter((l): l is string[] => l !== undefined);
    if (asked) {
      const i = labels.findIndex((l) => l && !l.includes(asked));
      if (i >= 0) throw invalid('label', `${names[i]} has no label ${asked}`);
      return asked;
    }
    const shared = known.length ? known.reduce((x, y) => x.filter((l) => y.includes(l))) : [];
    if (shared.length !== 1) throw invalid('label', known.length ? `name the label (the cards share ${shared.length ? shared.join(', ') : 'none'})` : 'name the label (neither model is loaded here)');
    return shared[0];
  }

  const cardOf = (m: ModelRef) => {
    const model = deps.registry.models.find((x) => x.card.id === m.id && x.card.version === m.version);
    return model?.card.task === 'read-assist' ? model.card : undefined;
  };

  function side(m: ModelRef, s: ModelSummary): ModelSide {
    const deployment = (cardOf(m) as { deployment?: string } | undefined)?.deployment ?? null;
    const rate = (k: number) => (s.studies ? k / s.studies : null);
    return {
      modelId: m.id, modelVersion: m.version, deployment,
      studies: s.studies, shadowStudies: s.shadowStudies,
      notApplicable: s.notApplicable, notApplicableRate: rate(s.notApplicable),
      outOfDistribution: s.outOfDistribution, outOfDistributionRate: rate(s.outOfDistribution),
      latencyMs: s.latencyMs,
      readerAgreement: s.readerAgreement && { k: s.readerAgreement.k, n: s.readerAgreement.n, value: s.readerAgreement.value, ci95: s.readerAgreement.ci95 },
    };
  }

  mount(app, {
    method: 'get', path: '/v1/model-comparison/models', operationId: 'listComparableModels', access: ACCESS.modelQuality, tag: 'model teams',
    summary: 'The model versions and labels a comparison may name: those with answered findings, shadow runs included',
    responses: { 200: { description: 'At most 1,000, by model id, version and label.', json: comparableModels } },
  }, async (c) => c.json({ items: (await deps.store.comparableModels()).map((m) => ({ ...m, displayZh: nameZh({ id: m.modelId, version: m.modelVersion }, m.label) ?? m.display })) }));

  mount(app, {
    method: 'get', path: '/v1/model-comparison', operationId: 'getModelComparison', access: ACCESS.modelQuality, tag: 'model teams',
    summary: 'Two models of one label on the same live studies: agreement with each other and with readers',
    description: `Both positive / both negative / discordant, Cohen's kappa (95 % CI), each one's agreement with readers (Wilson 95 % CI), by week, not-applicable and out-of-distribution rates, processing latency, and the disagreements by pseudonymous study UID (at most ${MAX_DISAGREEMENTS}). ${window} \`format=csv\`: the disagreements as CSV.`,
    query: modelComparisonQuery,
    responses: { 200: { description: 'The comparison (JSON), or its disagreements as RFC 4180 CSV with `format=csv`.', json: modelComparison, media: { type: 'text/csv' } } },
  }, async (c, { query }) => {
    const { label, comparison: r } = await compare(query, ['a', 'b']);
    const disagreements = await Promise.all(r.disagreements.slice(0, MAX_DISAGREEMENTS).map(async (d) => {
      const uid = pseudonym(d.studyInstanceUid);
      const shared = !(await deps.store.studyConsentWithheld(d.studyInstanceUid, 'sharing'));
      return { pseudonymousStudyUid: uid, researchUrl: shared ? `/v1/research/studies/${uid}` : null, aPositive: d.aPositive, bPositive: d.bPositive, readerSaysPositive: d.readerSaysPositive, decidedAt: d.decidedAt };
    }));
    const answer: ModelComparison = {
      generatedAt: new Date().toISOString(), label,
      a: side(query.a, r.a), b: side(query.b, r.b),
      studies: r.studies, bothAnswered: r.bothAnswered, bothPositive: r.bothPositive, bothNegative: r.bothNegative,
      onlyAPositive: r.onlyAPositive, onlyBPositive: r.onlyBPositive, kappa: r.kappa, byWeek: r.byWeek,
      disagreements, disagreementsLeftOut: r.disagreements.length - disagreements.length,
    };
    if (query.format === 'json') return c.json(answer);
    return c.body(disagreementsCsv(answer), 200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="lantern-model-comparison-${query.a.id}@${query.a.version}-${query.b.id}@${query.b.version}-${label}.csv"`,
    });
  });

  mount(app, {
    method: 'get', path: '/v1/model-comparison/promotion', operationId: 'getPromotionChecklist', access: ACCESS.modelQuality, tag: 'model teams',
    summary: 'The promotion checklist for a candidate against the incumbent; the decision stays human',
    description: `Decided cases (at least ${PROMOTION_CRITERIA.minDecidedCases}, ${PROMOTION_CRITERIA.minReaderPositives} of them reader-positive), the paired difference in agreement with readers with its bootstrap 95 % CI over patients (${BOOTSTRAP.resamples} resamples, non-inferiority margin ${PROMOTION_CRITERIA.nonInferiorityMargin}), latency p95 (at most ${PROMOTION_CRITERIA.maxLatencyP95Ratio}x the incumbent's) and not-applicable rate (at most ${PROMOTION_CRITERIA.maxNotApplicableIncrease} above). Each item pass or fail. It promotes nothing: a promotion is a card change. ${window}`,
    query: promotionQuery,
    responses: { 200: { description: 'The checklist.', json: promotionChecklist } },
  }, async (c, { query }) => {
    const { label, studies, comparison } = await compare({ ...query, a: query.incumbent, b: query.candidate }, ['incumbent', 'candidate']);
    const p = promotion(studies, comparison);
    const answer: PromotionChecklist = {
      generatedAt: new Date().toISOString(), label,
      candidate: side(query.candidate, comparison.b), incumbent: side(query.incumbent, comparison.a),
      decidedCases: p.decidedCases, readerPositives: p.readerPositives,
      difference: p.difference && { ...p.difference, ...BOOTSTRAP },
      criteria: { ...PROMOTION_CRITERIA },
      checks: p.checks.map((check) => ({ ...check, ...STATEMENTS[check.id] })),
      howToPromote: `A promotion is a change to the card: set the candidate's model.json deployment to clinical (and the incumbent's to shadow or remove its folder), then restart. The registry checks the cards at start and records the change, with who made it, in the audit trail. This page has no button on purpose.`,
      howToPromoteZh: '晋升即修改模型卡：将候选模型 model.json 的 deployment 设为 clinical（现用模型改为 shadow 或移除其目录），然后重启。注册表在启动时检查模型卡，并将该变更及其操作者记入审计记录。本页有意不设晋升按钮。',
    };
    return c.json(answer);
  });
  return app;
}

const invalid = (field: string, message: string) => new ApiError(422, 'VALIDATION_FAILED', 'the request is invalid', [{ field, message }]);

const c = PROMOTION_CRITERIA;
const STATEMENTS: Record<PromotionChecklist['checks'][number]['id'], { statement: string; statementZh: string }> = {
  'decided-cases': {
    statement: `At least ${c.minDecidedCases} studies both answered and a reader decided, ${c.minReaderPositives} of them positive`,
    statementZh: `至少 ${c.minDecidedCases} 例双方均作答且经医师判定的检查，其中阳性至少 ${c.minReaderPositives} 例`,
  },
  'reader-agreement': {
    statement: `Agreement with readers not worse: lower 95 % bound of (candidate − incumbent) at least −${c.nonInferiorityMargin * 100} points`,
    statementZh: `与医师一致性不劣于现用模型：（候选 − 现用）95% 置信区间下限不低于 −${c.nonInferiorityMargin * 100} 个百分点`,
  },
  latency: {
    statement: `Processing time p95 at most ${c.maxLatencyP95Ratio}× the incumbent's`,
    statementZh: `处理时间 P95 不超过现用模型的 ${c.maxLatencyP95Ratio} 倍`,
  },
  'not-applicable': {
    statement: `Not-applicable rate at most ${c.maxNotApplicableIncrease * 100} points above the incumbent's`,
    statementZh: `"不适用"比例比现用模型高出不超过 ${c.maxNotApplicableIncrease * 100} 个百分点`,
  },
};

const DISAGREEMENT_COLUMNS: [string, (d: ModelComparison['disagreements'][number]) => string | number | boolean | null][] = [
  ['pseudonymousStudyUid', (d) => d.pseudonymousStudyUid],
  ['aPositive', (d) => d.aPositive],
  ['bPositive', (d) => d.bPositive],
  ['readerSaysPositive', (d) => d.readerSaysPositive],
  ['decidedAt', (d) => d.decidedAt],
];

/** The disagreements, one row each, with the two models named in a first comment-free header. */
function disagreementsCsv(answer: ModelComparison): string {
  const named = (s: ModelSide) => `${s.modelId}@${s.modelVersion}`;
  return csv([
    ['label', 'a', 'b', 'studies', 'bothAnswered', 'bothPositive', 'bothNegative', 'onlyAPositive', 'onlyBPositive', 'kappa', 'kappaCi95Low', 'kappaCi95High'],
    [answer.label, named(answer.a), named(answer.b), answer.studies, answer.bothAnswered, answer.bothPositive, answer.bothNegative, answer.onlyAPositive, answer.onlyBPositive,
      answer.kappa?.value ?? null, answer.kappa?.ci95[0] ?? null, answer.kappa?.ci95[1] ?? null],
    [],
    DISAGREEMENT_COLUMNS.map(([name]) => name),
    ...answer.disagreements.map((d) => DISAGREEMENT_COLUMNS.map(([, value]) => value(d))),
  ]);
}
