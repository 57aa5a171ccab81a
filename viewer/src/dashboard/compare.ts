/**
 * `#/compare`: two models of one label on the same live studies (GET /v1/model-comparison) —
 * the 2×2 table and kappa, each one's agreement with readers, a small chart by week, where
 * they disagree (pseudonymous studies, linked to the de-identified research view for a model
 * team), the CSV, and the promotion checklist, which has no promote button on purpose.
 * The models offered are those with findings, shadow runs included; the choice is kept
 * across mounts, so a language switch keeps it.
 */
import { url } from '../api.ts';
import { h, replaceChildren } from '../dom.ts';
import { errorText } from '../error-text.ts';
import { dateTime, percent } from '../format.ts';
import { clinical } from '../i18n.ts';
import type { AppContext } from '../main.ts';
import { s } from './charts.ts';
import { comparisonCsvUrl, getComparableModels, getComparison, getPromotion, type ComparableModel, type ModelComparison, type PromotionChecklist } from './compare-api.ts';
import { msg } from './compare-messages.ts';
import './compare.css';

let chosen: { a: string; b: string } | undefined;

const keyOf = (g: ComparableModel) => `${g.modelId}@${g.modelVersion}`;
const ci = (pair: [number, number]) => `${percent(pair[0])}–${percent(pair[1])}`;
const signed = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v * 100).toFixed(1)}`;

export function mountCompare(root: HTMLElement, ctx: AppContext): () => void {
  const m = msg();
  let destroyed = false;
  const controller = new AbortController();
  const aSelect = h('select', { id: 'compare-a', testid: 'compare-a' });
  const bSelect = h('select', { id: 'compare-b', testid: 'compare-b' });
  const banner = h('div', { class: 'banner banner-error', hidden: true, testid: 'compare-error', role: 'alert' });
  const results = h('div', { testid: 'compare-results' });
  const form = h(
    'form',
    { class: 'agreement-filters', testid: 'compare-form' },
    h('div', { class: 'filter' }, h('label', { for: 'compare-a' }, m.current), aSelect),
    h('div', { class: 'filter' }, h('label', { for: 'compare-b' }, m.other), bSelect),
    h('div', { class: 'filter-actions' }, h('button', { type: 'submit', class: 'primary', testid: 'compare-apply' }, m.compare)),
  );
  let groups: ComparableModel[] = [];

  /** B offers the other versions and models of A's label. */
  const offerB = () => {
    const a = groups.find((g) => keyOf(g) === aSelect.value);
    const others = groups.filter((g) => a && g.label === a.label && keyOf(g) !== keyOf(a));
    bSelect.replaceChildren(...others.map((g) => h('option', { value: keyOf(g), selected: keyOf(g) === chosen?.b }, `${keyOf(g)} · ${clinical(g.display, g.displayZh)}`)));
  };
  aSelect.addEventListener('change', offerB);

  const load = async () => {
    if (!chosen) {
      results.replaceChildren(h('p', { class: 'muted', testid: 'compare-empty' }, groups.length ? m.choose : m.none));
      return;
    }
    try {
      const [comparison, checklist] = await Promise.all([getComparison(chosen.a, chosen.b, controller.signal), getPromotion(chosen.b, chosen.a, controller.signal)]);
      if (destroyed) return;
      banner.hidden = true;
      const isModelTeam = ctx.user().roles.includes('model-team');
      replaceChildren(results, comparisonView(comparison, isModelTeam), checklistView(checklist));
    } catch (err) {
      if (destroyed || (err instanceof DOMException && err.name === 'AbortError')) return;
      banner.hidden = false;
      banner.textContent = m.unavailable(errorText(err));
    }
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (aSelect.value && bSelect.value) chosen = { a: aSelect.value, b: bSelect.value };
    void load();
  });

  replaceChildren(
    root,
    h('div', { class: 'screen-head' }, h('h1', {}, m.title), h('div', { class: 'row-actions' }, h('a', { href: '#/agreement', testid: 'compare-back' }, m.back))),
    h('p', { class: 'muted small agreement-intro' }, m.intro),
    form,
    banner,
    results,
  );

  void getComparableModels(controller.signal).then((models) => {
    if (destroyed) return;
    groups = models;
    // By default the version with the most clinical findings of a label that has another to compare with.
    const clinicalFindings = (g: ComparableModel) => g.findings - g.shadowFindings;
    const pairable = groups.filter((g) => groups.some((o) => o.label === g.label && keyOf(o) !== keyOf(g))).sort((x, y) => clinicalFindings(y) - clinicalFindings(x));
    if (!chosen && pairable.length) chosen = { a: keyOf(pairable[0]), b: keyOf(pairable.find((o) => o.label === pairable[0].label && keyOf(o) !== keyOf(pairable[0]))!) };
    aSelect.replaceChildren(...pairable.map((g) => h('option', { value: keyOf(g), selected: keyOf(g) === chosen?.a }, `${keyOf(g)} · ${clinical(g.display, g.displayZh)}`)));
    offerB();
    void load();
  }, (err) => {
    if (destroyed || (err instanceof DOMException && err.name === 'AbortError')) return;
    banner.hidden = false;
    banner.textContent = m.unavailable(errorText(err));
  });

  return () => {
    destroyed = true;
    controller.abort();
  };
}

function comparisonView(c: ModelComparison, isModelTeam: boolean): HTMLElement {
  const m = msg();
  const sides = [c.a, c.b];
  const row = (name: string, testid: string, cell: (side: ModelComparison['a']) => string) =>
    h('tr', { testid }, h('th', { scope: 'row' }, name), ...sides.map((side) => h('td', { class: 'num' }, cell(side))));
  const call = (positive: boolean | null) => (positive === null ? m.undecided : positive ? m.positive : m.negative);
  return h(
    'section',
    { class: 'compare', testid: 'comparison' },
    h('div', { class: 'row-actions' }, h('a', { class: 'button-link', testid: 'compare-csv', download: '', href: comparisonCsvUrl(`${c.a.modelId}@${c.a.modelVersion}`, `${c.b.modelId}@${c.b.modelVersion}`) }, `⤓ ${m.csv}`)),
    h(
      'table',
      { class: 'agreement-table', testid: 'compare-table' },
      h('thead', {}, h('tr', {}, h('th', {}, m.model), ...sides.map((side, i) => h('th', { class: 'num' }, `${i ? 'B' : 'A'} · ${side.modelId}@${side.modelVersion}`)))),
      h(
        'tbody',
        {},
        row(m.deployment, 'compare-deployment', (side) => side.deployment ?? '—'),
        row(m.studies, 'compare-studies', (side) => String(side.studies)),
        row(m.shadow, 'compare-shadow', (side) => String(side.shadowStudies)),
        row(m.agreement, 'compare-agreement', (side) => (side.readerAgreement ? `${percent(side.readerAgreement.value)} (${ci(side.readerAgreement.ci95)}) · ${side.readerAgreement.k}/${side.readerAgreement.n}` : '—')),
        row(m.notApplicable, 'compare-na', (side) => `${percent(side.notApplicableRate)} · ${side.notApplicable}`),
        row(m.ood, 'compare-ood', (side) => `${percent(side.outOfDistributionRate)} · ${side.outOfDistribution}`),
        row(m.latency, 'compare-latency', (side) => (side.latencyMs ? `${side.latencyMs.p50} / ${side.latencyMs.p95} ms` : '—')),
      ),
    ),
    h(
      'p',
      { testid: 'compare-pair' },
      `${m.pair(c.bothAnswered)}: ${m.bothPositive} ${c.bothPositive} · ${m.bothNegative} ${c.bothNegative} · ${m.onlyA} ${c.onlyAPositive} · ${m.onlyB} ${c.onlyBPositive} · ${m.kappa} `,
      h('strong', { testid: 'compare-kappa' }, c.kappa ? `${c.kappa.value.toFixed(2)} (${c.kappa.ci95[0].toFixed(2)}–${c.kappa.ci95[1].toFixed(2)})` : '—'),
    ),
    c.byWeek.length ? h('figure', { class: 'compare-figure' }, h('figcaption', { class: 'muted small' }, m.byWeek), weekChart(c)) : null,
    h('h2', {}, m.disagreements(c.disagreements.length, c.disagreementsLeftOut)),
    c.disagreements.length
      ? h(
          'table',
          { class: 'agreement-table', testid: 'compare-disagreements' },
          h('thead', {}, h('tr', {}, h('th', {}, m.study), h('th', {}, 'A'), h('th', {}, 'B'), h('th', {}, m.reader), h('th', {}, m.decidedAt))),
          h(
            'tbody',
            {},
            c.disagreements.map((d) =>
              h(
                'tr',
                { testid: 'compare-disagreement' },
                h('td', { class: 'mono small' }, isModelTeam && d.researchUrl ? h('a', { href: url(d.researchUrl), target: '_blank', rel: 'noopener' }, d.pseudonymousStudyUid) : d.pseudonymousStudyUid, d.researchUrl ? null : h('span', { class: 'muted small' }, ` · ${m.withheld}`)),
                h('td', {}, call(d.aPositive)),
                h('td', {}, call(d.bPositive)),
                h('td', {}, call(d.readerSaysPositive)),
                h('td', { class: 'small' }, d.decidedAt ? dateTime(d.decidedAt) : '—'),
              ),
            ),
          ),
        )
      : h('p', { class: 'muted' }, m.noDisagreements),
  );
}

/** Each model's weekly agreement with readers as a line, A solid and B dashed, on a 0–100 % axis. */
function weekChart(c: ModelComparison): SVGSVGElement {
  const m = msg();
  const W = 420;
  const H = 150;
  const plot = { x0: 44, x1: W - 12, y0: H - 26, y1: 24 };
  const x = (i: number) => (c.byWeek.length === 1 ? (plot.x0 + plot.x1) / 2 : plot.x0 + (i / (c.byWeek.length - 1)) * (plot.x1 - plot.x0));
  const y = (rate: number) => plot.y0 - rate * (plot.y0 - plot.y1);
  const line = (agreed: (w: ModelComparison['byWeek'][number]) => number, side: 'a' | 'b', name: string) =>
    s('g', {},
      s('polyline', { points: c.byWeek.map((w, i) => `${x(i)},${y(agreed(w) / w.decided)}`).join(' '), class: `compare-line-${side}` }),
      ...c.byWeek.map((w, i) => s('circle', { cx: x(i), cy: y(agreed(w) / w.decided), r: 3, class: `compare-dot-${side}` }, s('title', {}, `${name} · ${m.weekOf(w.week)}: ${agreed(w)}/${w.decided}`))));
  return s(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': `${m.byWeek}. ${m.byWeekDesc(c.byWeek.length)}`, class: 'chart compare-chart', testid: 'compare-weeks' },
    ...[0, 0.5, 1].flatMap((r) => [s('line', { x1: plot.x0, x2: plot.x1, y1: y(r), y2: y(r), class: 'chart-grid' }), s('text', { x: plot.x0 - 6, y: y(r) + 4, class: 'chart-tick', 'text-anchor': 'end' }, `${r * 100}%`)]),
    s('text', { x: plot.x0, y: H - 6, class: 'chart-tick' }, c.byWeek[0].week),
    s('text', { x: plot.x1, y: H - 6, class: 'chart-tick', 'text-anchor': 'end' }, c.byWeek.at(-1)!.week),
    line((w) => w.aAgreed, 'a', 'A'),
    line((w) => w.bAgreed, 'b', 'B'),
    // The legend, above the plot: A solid, B dashed.
    s('line', { x1: plot.x1 - 84, x2: plot.x1 - 64, y1: 8, y2: 8, class: 'compare-line-a' }),
    s('text', { x: plot.x1 - 60, y: 12, class: 'chart-tick' }, 'A'),
    s('line', { x1: plot.x1 - 34, x2: plot.x1 - 14, y1: 8, y2: 8, class: 'compare-line-b' }),
    s('text', { x: plot.x1 - 10, y: 12, class: 'chart-tick' }, 'B'),
  );
}

function checklistView(p: PromotionChecklist): HTMLElement {
  const m = msg();
  return h(
    'section',
    { class: 'compare-checklist', testid: 'promotion-checklist' },
    h('h2', {}, m.checklist),
    h('p', { testid: 'promotion-decided' }, m.decided(p.decidedCases, p.readerPositives)),
    h(
      'p',
      { testid: 'promotion-difference' },
      `${m.difference}: `,
      h('strong', {}, p.difference ? m.points(signed(p.difference.value), signed(p.difference.ci95[0]), signed(p.difference.ci95[1])) : '—'),
      p.difference ? h('span', { class: 'muted small' }, ` · ${m.bootstrap(p.difference.resamples)}`) : null,
    ),
    h(
      'ul',
      { class: 'checklist' },
      p.checks.map((check) =>
        h('li', { testid: 'promotion-check', 'data-check': check.id, 'data-pass': String(check.pass), class: check.pass ? 'check-pass' : 'check-fail' },
          h('span', { class: 'check-mark', 'aria-hidden': 'true' }, check.pass ? '✓' : '✗'),
          h('strong', {}, check.pass ? m.pass : m.fail),
          ` — ${clinical(check.statement, check.statementZh)}`),
      ),
    ),
    h('p', { class: 'banner', testid: 'promotion-human' }, h('strong', {}, m.human), ' ', clinical(p.howToPromote, p.howToPromoteZh)),
  );
}
