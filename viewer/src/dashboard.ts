/**
 * Agreement dashboard: how readers received each model version's findings, per label —
 * acceptance with its Wilson 95 % interval, overrides and their reasons (Pareto),
 * amendments, time to decision, missed findings readers added, and acceptance by day.
 * The feedback loop model teams use; the same query downloads as CSV.
 *
 * The date range is in the reader's local days (the API takes instants). Filters and the
 * chosen group live in this module, so a language switch keeps them; decisions made
 * elsewhere arrive over the event stream and refresh the numbers.
 */
import {
  ApiError,
  agreementCsvUrl,
  getAgreement,
  getModels,
  subscribeToEvents,
  type AgreementGroup,
  type AgreementQuery,
} from './api.ts';
import { h, replaceChildren } from './dom.ts';
import { dateTime } from './format.ts';
import { clinical, defineMessages, intlLocale } from './i18n.ts';
import type { AppContext } from './main.ts';
import { CHART_MAX_WIDTH, paretoChart, trendChart, type TrendPoint } from './dashboard/charts.ts';
import { debounced } from './debounce.ts';

const msg = defineMessages({
  en: {
    title: 'Agreement',
    intro: 'How readers received each model version\'s findings, per label. Only the latest decision on a finding counts; an amended finding counts once.',
    from: 'From',
    to: 'To',
    model: 'Model',
    allModels: 'All models',
    apply: 'Apply',
    reset: 'All time',
    csv: 'Download CSV',
    generated: (n: number, at: string) => `${n} ${n === 1 ? 'group' : 'groups'} · as of ${at}`,
    empty: 'No AI findings in this period.',
    unavailable: (why: string) => `Agreement unavailable — ${why}`,
    colModel: 'Model version',
    colLabel: 'Label',
    colFindings: 'Findings',
    colDecided: 'Decided',
    colAcceptance: 'Accepted (95% CI)',
    colOverridden: 'Overridden',
    colAmended: 'Amended',
    colTime: 'Time to decision (median / p90)',
    colReader: 'Reader-added findings',
    showCharts: (label: string) => `Show the charts of ${label}`,
    chartsOf: (label: string, model: string) => `${label} · ${model}`,
    pareto: 'Override reasons (Pareto)',
    paretoDesc: (items: string) => (items ? `Overrides by reason, most frequent first: ${items}.` : 'No overrides.'),
    noOverrides: 'No overrides in this period.',
    count: 'overrides',
    cumulative: 'cumulative share',
    trend: 'Agreement over time',
    trendDesc: (items: string) => (items ? `Share of decisions that accepted the AI finding, by day: ${items}.` : 'No decisions.'),
    noDecisions: 'No decisions in this period.',
    rate: 'accepted',
    trendPoint: (date: string, accepted: number, decided: number, rate: string) => `${date}: ${accepted} of ${decided} accepted (${rate})`,
    seconds: (n: number) => `${n} s`,
    minutes: (n: string) => `${n} min`,
    hours: (n: string) => `${n} h`,
    days: (n: string) => `${n} d`,
  },
  zh: {
    title: '一致性',
    intro: '阅片医师对各模型版本发现的采纳情况（按标签）。每个发现只计最新一次决定；修改过的发现只计一次。',
    from: '起始',
    to: '截止',
    model: '模型',
    allModels: '全部模型',
    apply: '应用',
    reset: '全部时间',
    csv: '下载 CSV',
    generated: (n: number, at: string) => `${n} 组 · 截至 ${at}`,
    empty: '此期间没有 AI 发现。',
    unavailable: (why: string) => `无法获取一致性数据 — ${why}`,
    colModel: '模型版本',
    colLabel: '标签',
    colFindings: '发现数',
    colDecided: '已决定',
    colAcceptance: '采纳率（95% CI）',
    colOverridden: '已否决',
    colAmended: '已修改',
    colTime: '决定用时（中位数 / P90）',
    colReader: '医师补充的发现',
    showCharts: (label: string) => `显示“${label}”的图表`,
    chartsOf: (label: string, model: string) => `${label} · ${model}`,
    pareto: '否决原因（帕累托图）',
    paretoDesc: (items: string) => (items ? `按原因统计的否决次数，从多到少：${items}。` : '没有否决。'),
    noOverrides: '此期间没有否决。',
    count: '否决次数',
    cumulative: '累计占比',
    trend: '一致性随时间变化',
    trendDesc: (items: string) => (items ? `每日采纳 AI 发现的决定所占比例：${items}。` : '没有决定。'),
    noDecisions: '此期间没有决定。',
    rate: '采纳率',
    trendPoint: (date: string, accepted: number, decided: number, rate: string) => `${date}：${decided} 项中采纳 ${accepted} 项（${rate}）`,
    seconds: (n: number) => `${n} 秒`,
    minutes: (n: string) => `${n} 分钟`,
    hours: (n: string) => `${n} 小时`,
    days: (n: string) => `${n} 天`,
  },
});

/** Local calendar days as typed in the date inputs (YYYY-MM-DD); both ends included. */
interface Filters {
  from: string;
  to: string;
  model: string;
}

let filters: Filters = { from: '', to: '', model: '' };
let selectedKey: string | undefined;

const REFRESH_DEBOUNCE_MS = 300;

const groupKey = (g: AgreementGroup) => `${g.modelId}@${g.modelVersion}/${g.label}`;

/** The API's query: local midnight of `from`, and of the day after `to`. */
function agreementQuery(f: Filters): AgreementQuery {
  const midnight = (day: string, addDays = 0) => {
    const [y, m, d] = day.split('-').map(Number);
    return new Date(y, m - 1, d + addDays).toISOString();
  };
  return {
    ...(f.from ? { from: midnight(f.from) } : {}),
    ...(f.to ? { to: midnight(f.to, 1) } : {}),
    ...(f.model ? { model: f.model } : {}),
  };
}

const pct = (v: number) => `${Math.round(v * 100)}%`;

function duration(seconds: number): string {
  const m = msg();
  const one = (v: number) => String(Number(v.toFixed(1)));
  if (seconds < 90) return m.seconds(Math.round(seconds));
  if (seconds < 90 * 60) return m.minutes(one(seconds / 60));
  if (seconds < 36 * 3600) return m.hours(one(seconds / 3600));
  return m.days(one(seconds / 86400));
}

function errorText(err: unknown): string {
  return err instanceof ApiError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
}

/** The coded reason's short name: the part before its explanation. */
const shortReason = (text: string) => text.split(/[:：]/)[0];

function acceptanceCell(g: AgreementGroup): HTMLElement {
  if (g.acceptanceRate === null) return h('td', { class: 'num muted', testid: 'acceptance' }, '—');
  const [lo, hi] = g.acceptanceCi95 ?? [g.acceptanceRate, g.acceptanceRate];
  return h(
    'td',
    { class: 'num', testid: 'acceptance', 'data-rate': g.acceptanceRate, 'data-ci-low': lo, 'data-ci-high': hi },
    h('span', { class: 'acceptance-rate' }, pct(g.acceptanceRate)),
    h('span', { class: 'muted small' }, ` (${pct(lo)}–${pct(hi)})`),
    h(
      'span',
      { class: 'ci-bar', 'aria-hidden': 'true' },
      h('span', { class: 'ci-range', style: `left:${lo * 100}%;width:${Math.max(0.5, (hi - lo) * 100)}%` }),
      h('span', { class: 'ci-point', style: `left:${g.acceptanceRate * 100}%` }),
    ),
  );
}

function groupRow(g: AgreementGroup, selected: boolean, select: () => void): HTMLTableRowElement {
  const m = msg();
  const label = clinical(g.display, g.displayZh);
  const cell = (testid: string, value: number) => h('td', { class: 'num', testid }, String(value));
  return h(
    'tr',
    { testid: 'agreement-row', 'data-model': g.modelId, 'data-version': g.modelVersion, 'data-label': g.label, class: selected ? 'selected' : undefined },
    h('td', { class: 'nowrap' }, h('code', {}, g.modelId), h('span', { class: 'muted small' }, ` v${g.modelVersion}`)),
    h(
      'td',
      {},
      h('button', { type: 'button', class: 'link group-select', testid: 'select-group', 'aria-pressed': String(selected), title: m.showCharts(label), onclick: select }, label),
    ),
    cell('findings', g.findings),
    cell('decided', g.decided),
    acceptanceCell(g),
    cell('overridden', g.overridden),
    cell('amended', g.amended),
    h(
      'td',
      { class: 'num nowrap', testid: 'time-to-decision' },
      g.timeToDecisionSeconds ? `${duration(g.timeToDecisionSeconds.median)} / ${duration(g.timeToDecisionSeconds.p90)}` : '—',
    ),
    cell('reader-findings', g.readerFindings),
  );
}

function charts(g: AgreementGroup): HTMLElement {
  const m = msg();
  const day = (iso: string) => new Date(`${iso}T00:00:00Z`).toLocaleDateString(intlLocale(), { month: 'short', day: 'numeric', timeZone: 'UTC' });
  const reasons = g.overrideReasons.map((r) => ({
    code: r.code,
    label: shortReason(clinical(r.display, r.displayZh)),
    title: clinical(r.display, r.displayZh),
    count: r.count,
    cumulativeShare: r.cumulativeShare,
  }));
  const days: TrendPoint[] = g.byDay;
  // Each chart gets the screen's width less the page and card padding, or half a wide screen.
  const width = Math.min(CHART_MAX_WIDTH, Math.max(280, window.innerWidth - 64));
  const rateText = (p: TrendPoint) => (p.acceptanceRate === null ? '—' : pct(p.acceptanceRate));
  return h(
    'section',
    { class: 'agreement-charts', testid: 'agreement-charts', 'data-group': groupKey(g) },
    h('h2', {}, m.chartsOf(clinical(g.display, g.displayZh), `${g.modelId} v${g.modelVersion}`)),
    h(
      'div',
      { class: 'chart-grid-2' },
      h(
        'figure',
        { class: 'chart-card' },
        h('figcaption', {}, m.pareto),
        reasons.length
          ? paretoChart(reasons, {
              width,
              title: m.pareto,
              description: m.paretoDesc(reasons.map((r) => `${r.title} ${r.count}`).join('; ')),
              countAxis: m.count,
              cumulativeAxis: m.cumulative,
            })
          : h('p', { class: 'muted empty-chart' }, m.noOverrides),
      ),
      h(
        'figure',
        { class: 'chart-card' },
        h('figcaption', {}, m.trend),
        days.length
          ? trendChart(days, {
              width,
              title: m.trend,
              description: m.trendDesc(days.map((p) => `${p.date} ${rateText(p)}`).join('; ')),
              rateAxis: m.rate,
              point: (p) => m.trendPoint(day(p.date), p.accepted, p.decided, rateText(p)),
              date: day,
            })
          : h('p', { class: 'muted empty-chart' }, m.noDecisions),
      ),
    ),
  );
}

export function mountDashboard(root: HTMLElement, _ctx: AppContext): () => void {
  const m = msg();
  let destroyed = false;
  let controller: AbortController | undefined;
  let groups: AgreementGroup[] = [];

  const fromInput = h('input', { type: 'date', id: 'agreement-from', testid: 'filter-from', value: filters.from });
  const toInput = h('input', { type: 'date', id: 'agreement-to', testid: 'filter-to', value: filters.to });
  const modelSelect = h('select', { id: 'agreement-model', testid: 'filter-model' }, h('option', { value: '' }, m.allModels));
  const csv = h('a', { class: 'button-link', testid: 'download-csv', download: '', href: agreementCsvUrl(agreementQuery(filters)) }, `⤓ ${m.csv}`);
  const banner = h('div', { class: 'banner banner-error', hidden: true, testid: 'agreement-error', role: 'alert' });
  const status = h('p', { class: 'muted small', testid: 'agreement-status', 'aria-live': 'polite' });
  const tbody = h('tbody', {});
  const chartsSlot = h('div', {});
  const form = h(
    'form',
    { class: 'agreement-filters', testid: 'agreement-filters' },
    h('div', { class: 'filter' }, h('label', { for: 'agreement-from' }, m.from), fromInput),
    h('div', { class: 'filter' }, h('label', { for: 'agreement-to' }, m.to), toInput),
    h('div', { class: 'filter' }, h('label', { for: 'agreement-model' }, m.model), modelSelect),
    h('div', { class: 'filter-actions' }, h('button', { type: 'submit', class: 'primary', testid: 'filter-apply' }, m.apply), h('button', { type: 'button', testid: 'filter-reset', onclick: () => applyFilters({ from: '', to: '', model: '' }) }, m.reset)),
  );

  replaceChildren(
    root,
    h('div', { class: 'screen-head' }, h('h1', {}, m.title), h('div', { class: 'row-actions' }, csv)),
    h('p', { class: 'muted small agreement-intro' }, m.intro),
    form,
    banner,
    status,
    h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'grid agreement', testid: 'agreement-table' },
        h(
          'thead',
          {},
          h('tr', {}, [m.colModel, m.colLabel, m.colFindings, m.colDecided, m.colAcceptance, m.colOverridden, m.colAmended, m.colTime, m.colReader].map((t) => h('th', { scope: 'col' }, t))),
        ),
        tbody,
      ),
    ),
    chartsSlot,
  );

  const render = () => {
    const selected = groups.find((g) => groupKey(g) === selectedKey) ?? [...groups].sort((a, b) => b.decided - a.decided)[0];
    tbody.replaceChildren(
      ...groups.map((g) =>
        groupRow(g, g === selected, () => {
          selectedKey = groupKey(g);
          render();
        }),
      ),
    );
    if (!groups.length) tbody.appendChild(h('tr', {}, h('td', { colspan: 9, class: 'muted', testid: 'agreement-empty' }, m.empty)));
    chartsSlot.replaceChildren(...(selected ? [charts(selected)] : []));
  };

  const load = async () => {
    controller?.abort();
    controller = new AbortController();
    const query = agreementQuery(filters);
    csv.href = agreementCsvUrl(query);
    try {
      const answer = await getAgreement(query, controller.signal);
      if (destroyed) return;
      banner.hidden = true;
      groups = answer.groups;
      status.textContent = m.generated(groups.length, dateTime(answer.generatedAt));
      render();
    } catch (err) {
      if (destroyed || (err instanceof DOMException && err.name === 'AbortError')) return;
      banner.hidden = false;
      banner.textContent = m.unavailable(errorText(err));
    }
  };

  function applyFilters(next: Filters) {
    filters = next;
    fromInput.value = next.from;
    toInput.value = next.to;
    modelSelect.value = next.model;
    void load();
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    applyFilters({ from: fromInput.value, to: toInput.value, model: modelSelect.value });
  });

  void getModels().then(
    (models) => {
      if (destroyed) return;
      for (const model of models.filter((c) => c.task === 'read-assist')) {
        modelSelect.append(h('option', { value: model.id, selected: model.id === filters.model }, clinical(model.title, model.titleZh)));
      }
    },
    () => {
      // Without the list the filter offers "all models" only; the table still loads.
    },
  );

  // Decisions made elsewhere (the study screen, another reader) refresh the numbers.
  const reloadSoon = debounced(() => void load(), REFRESH_DEBOUNCE_MS);
  const unsubscribe = subscribeToEvents((update) => {
    if (update.type === 'study' && !['review', 'reader-finding', 'finding'].includes(update.change)) return;
    reloadSoon();
  });
  void load();

  return () => {
    destroyed = true;
    controller?.abort();
    reloadSoon.cancel();
    unsubscribe();
  };
}
