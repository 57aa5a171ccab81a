/**
 * The answer to one hints request: the triage level first (what to do now), then each
 * score and risk with its band and reasons in plain words, the validated-range warnings
 * beside the number they qualify, and the models that could not be calculated with what
 * they still need. Clinical text is the API's, in the reader's language.
 */
import type { ModelCard, RangeWarning, RiskAnswer, ScoreAnswer, ScoreNotApplicable, TriageAnswer, TriageLevel } from '../api.ts';
import { h } from '../dom.ts';
import { clinical, locale } from '../i18n.ts';
import { num } from '../format.ts';
import type { FormField, Readiness } from './fields.ts';
import { msg, valueLabel } from './messages.ts';

export const LEVEL_SEVERITY: Record<TriageLevel, number> = { I: 3, II: 2, III: 1, IV: 0 };
export const ROMAN: Record<TriageLevel, string> = { I: 'Ⅰ', II: 'Ⅱ', III: 'Ⅲ', IV: 'Ⅳ' };

/** 0 (lowest band) … 3 (highest) for colour; a band a rule set (NEWS2's red score) sits in the middle. */
function bandSeverity(model: ModelCard | undefined, label: string): number {
  const bands = model?.bands ?? [];
  const i = bands.findIndex((b) => b.label === label);
  if (i < 0 || bands.length < 2) return 2;
  return Math.round((i / (bands.length - 1)) * 3);
}

function fieldTitle(field: FormField | undefined, fallback: string): string {
  return field ? clinical(field.title, field.titleZh) : fallback;
}

function titleOf(model: ModelCard | undefined, fallback: string): string {
  return model ? clinical(model.title, model.titleZh) : fallback;
}

const signed = (v: number, digits = 2) => `${v > 0 ? '+' : v < 0 ? '−' : ''}${Math.abs(v).toFixed(digits)}`;

/** The API's warning in English; in Chinese rebuilt from the card's own titles and ranges. */
function warningText(w: RangeWarning, modelId: string, answer: ScoreAnswer | RiskAnswer, fields: FormField[]): string {
  const use = fields.flatMap((f) => f.uses.map((u) => ({ f, u }))).find(({ u }) => u.model.id === modelId && u.name === w.feature);
  const input = answer.inputs[w.feature];
  if (!use || !input) return w.message;
  const m = msg();
  const title = fieldTitle(use.f, w.feature);
  const value = typeof input.value === 'number' ? `${num(input.value, 2)}${input.unit ? ` ${valueLabel(input.unit)}` : ''}` : valueLabel(String(input.value));
  const validatedRange = use.u.prop['x-validated-range'];
  const validatedValues = use.u.prop['x-validated-values'];
  if (w.code === 'OUTSIDE_VALIDATED_RANGE' && validatedRange) {
    const unit = input.unit ? ` ${valueLabel(input.unit)}` : '';
    return m.outsideRange(title, value, `${validatedRange[0]}–${validatedRange[1]}${unit}`);
  }
  if (w.code === 'OUTSIDE_VALIDATED_POPULATION' && validatedValues) {
    return m.outsidePopulation(title, value, validatedValues.map(valueLabel).join(', '));
  }
  return w.message;
}

function warningList(modelId: string, answer: ScoreAnswer | RiskAnswer, fields: FormField[]): HTMLElement | null {
  if (!answer.warnings.length) return null;
  return h(
    'div',
    { class: 'hint-warnings', role: 'note' },
    h('strong', {}, `⚠ ${msg().warnings}`),
    h(
      'ul',
      {},
      answer.warnings.map((w) => h('li', { testid: 'warning', 'data-code': w.code, 'data-feature': w.feature }, warningText(w, modelId, answer, fields))),
    ),
  );
}

function band(model: ModelCard | undefined, b: ScoreAnswer['band']): HTMLElement {
  return h('p', { class: `hint-band sev-${bandSeverity(model, b.label)}`, testid: 'band', 'data-band': b.label }, clinical(b.display, b.displayZh));
}

function provenance(a: Pick<ScoreAnswer | RiskAnswer | ScoreNotApplicable, 'model'>): HTMLElement {
  return h('p', { class: 'muted small hint-provenance', title: `sha256 ${a.model.sha256}` }, msg().model(a.model.id, a.model.version));
}

interface CardContent {
  figure: { testid: string; value: number; text: string };
  /** Under the title, above the band (a risk's horizon). */
  note?: HTMLElement | null;
  /** What explains the figure: points per item, or contributions. */
  explanation: (HTMLElement | null)[];
}

/**
 * One calculator's answer: title and headline figure, band, warnings, the explanation,
 * provenance. Scores and risks differ only in the figure and its explanation.
 */
function answerCard(modelId: string, a: ScoreAnswer | RiskAnswer, model: ModelCard | undefined, fields: FormField[], content: CardContent): HTMLElement {
  const { figure, note, explanation } = content;
  return h(
    'article',
    { class: 'hint-card', testid: 'result', 'data-model': modelId },
    h(
      'header',
      { class: 'hint-card-head' },
      h('h3', {}, titleOf(model, a.model.title)),
      h('span', { class: `hint-figure sev-${bandSeverity(model, a.band.label)}`, testid: figure.testid, 'data-value': figure.value }, figure.text),
    ),
    note,
    band(model, a.band),
    warningList(modelId, a, fields),
    ...explanation,
    provenance(a),
  );
}

function scoreCard(modelId: string, a: ScoreAnswer, model: ModelCard | undefined, fields: FormField[]): HTMLElement {
  return answerCard(modelId, a, model, fields, {
    figure: { testid: 'score-value', value: a.score, text: String(a.score) },
    note: notChecked(a),
    explanation: [pointsTable(a), redFlags(a)],
  });
}

/** What the score's population gate could not check (an age not given): said above the band, not hidden. */
function notChecked(a: ScoreAnswer): HTMLElement | null {
  const caveats = a.applicability?.caveats ?? [];
  if (!caveats.length) return null;
  return h('ul', { class: 'hint-warnings', role: 'note' }, caveats.map((c) => h('li', { testid: 'caveat', 'data-code': c.code }, msg().notChecked(clinical(c.text, c.textZh)))));
}

/** A score that declined the patient (NEWS2 under 16): the reason, no figure, no band. */
function notApplicableCard(modelId: string, a: ScoreNotApplicable, model: ModelCard | undefined): HTMLElement {
  return h(
    'article',
    { class: 'hint-card', testid: 'not-applicable', 'data-model': modelId, 'data-code': a.applicability.reason.code },
    h('header', { class: 'hint-card-head' }, h('h3', {}, titleOf(model, a.model.title))),
    h('p', { class: 'hint-band' }, msg().notApplicable),
    h('p', { testid: 'not-applicable-reason' }, clinical(a.applicability.reason.text, a.applicability.reason.textZh)),
    provenance(a),
  );
}

function pointsTable(a: ScoreAnswer): HTMLElement {
  const m = msg();
  return h(
    'table',
    { class: 'hint-terms' },
    h('caption', { class: 'muted small' }, m.contributionsPoints),
    h(
      'tbody',
      {},
      a.terms.map((t) =>
        h(
          'tr',
          { testid: 'term', 'data-term': t.term, class: t.points ? 'scored' : undefined },
          // The table's own working ("22 in 21–24 → 2 points") comes in English only.
          h('th', { scope: 'row' }, clinical(t.display, t.displayZh), locale() === 'en' ? h('div', { class: 'muted small because' }, t.because) : null),
          h('td', { class: 'num' }, m.points(t.points)),
        ),
      ),
    ),
  );
}

function redFlags(a: ScoreAnswer): HTMLElement | null {
  if (!a.redFlags?.length) return null;
  return h('div', { class: 'hint-redflags' }, h('strong', {}, msg().redFlags), h('ul', {}, a.redFlags.map((f) => h('li', {}, f))));
}

function contributions(a: RiskAnswer): HTMLElement {
  const m = msg();
  const nonZero = a.contributions.filter((c) => c.value !== 0);
  const zero = a.contributions.filter((c) => c.value === 0);
  const largest = Math.max(...nonZero.map((c) => Math.abs(c.value)), 1e-9);
  const centred = a.explanationKind === 'log-odds';
  const words = (v: number) => {
    const text = signed(v);
    if (centred) return v > 0 ? m.raises(text) : m.lowers(text);
    return v > 0 ? m.adds(Math.abs(v).toFixed(2)) : m.subtracts(Math.abs(v).toFixed(2));
  };
  const intro = { 'log-odds': m.contributionsLogOdds, 'log-hazard': m.contributionsLogHazard, points: m.contributionsPoints }[a.explanationKind];
  return h(
    'div',
    { class: 'hint-contributions' },
    h('p', { class: 'muted small' }, intro),
    h(
      'ul',
      {},
      nonZero.map((c) =>
        h(
          'li',
          { testid: 'contribution', 'data-term': c.term, 'data-value': c.value },
          h('span', { class: 'contribution-name' }, clinical(c.display, c.displayZh)),
          h('span', { class: 'contribution-words' }, words(c.value)),
          h(
            'span',
            { class: 'contribution-bar', 'aria-hidden': 'true' },
            h('span', { class: c.value > 0 ? 'up' : 'down', style: `width:${Math.max(2, (Math.abs(c.value) / largest) * 100).toFixed(1)}%` }),
          ),
        ),
      ),
    ),
    zero.length ? h('p', { class: 'muted small' }, m.noEffect(zero.map((c) => clinical(c.display, c.displayZh)).join(', '))) : null,
  );
}

function riskCard(modelId: string, a: RiskAnswer, model: ModelCard | undefined, fields: FormField[]): HTMLElement {
  const m = msg();
  return answerCard(modelId, a, model, fields, {
    figure: { testid: 'risk-percent', value: a.riskPercent, text: `${a.riskPercent.toFixed(1)}%` },
    note: m.horizon(a.horizon) ? h('p', { class: 'muted small' }, m.horizon(a.horizon)) : null,
    explanation: [contributions(a)],
  });
}

function triageCard(t: TriageAnswer['triage']): HTMLElement {
  const m = msg();
  return h(
    'section',
    { class: `hint-triage sev-${LEVEL_SEVERITY[t.level]}`, testid: 'triage', 'data-level': t.level, 'aria-labelledby': 'hint-triage-title' },
    h('h3', { id: 'hint-triage-title' }, m.triage),
    h(
      'div',
      { class: 'hint-triage-level' },
      h('span', { class: 'hint-level-badge', testid: 'triage-level', 'aria-hidden': 'true' }, ROMAN[t.level]),
      h('div', {}, h('p', { class: 'hint-level-text', testid: 'triage-level-text' }, clinical(t.levelDisplay, t.levelDisplayZh)), h('p', { class: 'small' }, m.priority(num(t.priority)))),
    ),
    t.reasons.length
      ? h('div', {}, h('h4', {}, m.reasons), h('ul', { class: 'hint-reasons' }, t.reasons.map((r) => h('li', { testid: 'triage-reason', 'data-code': r.code }, clinical(r.text, r.textZh)))))
      : null,
  );
}

/** The whole answer; `models` orders the cards as the registry lists them. */
export function renderResult(answer: TriageAnswer, models: ModelCard[], fields: FormField[], notReady: Readiness[]): HTMLElement[] {
  const m = msg();
  const card = (id: string) => models.find((c) => c.id === id);
  const order = (ids: string[]) => ids.sort((a, b) => models.findIndex((c) => c.id === a) - models.findIndex((c) => c.id === b));
  return [
    h('p', { class: 'hint-ai', testid: 'ai-assisted', role: 'note' }, h('span', { class: 'chip-ai' }, 'AI'), ` ${m.aiAssisted}`),
    triageCard(answer.triage),
    ...order(Object.keys(answer.scores)).map((id) => scoreCard(id, answer.scores[id], card(id), fields)),
    ...order(Object.keys(answer.notApplicable ?? {})).map((id) => notApplicableCard(id, answer.notApplicable![id], card(id))),
    ...order(Object.keys(answer.risks)).map((id) => riskCard(id, answer.risks[id], card(id), fields)),
    notReady.length
      ? h(
          'section',
          { class: 'hint-missing' },
          h('h3', {}, m.notCalculated),
          h(
            'ul',
            {},
            notReady.map((r) =>
              h(
                'li',
                { testid: 'missing', 'data-model': r.model.id },
                h('strong', {}, clinical(r.model.title, r.model.titleZh)),
                h('div', { class: 'muted small' }, m.missing(r.missing.map((f) => clinical(f.title, f.titleZh)).join(', '))),
              ),
            ),
          ),
        )
      : null,
  ].filter((e): e is HTMLElement => e !== null);
}
