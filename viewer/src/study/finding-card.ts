/**
 * One AI finding as the reader decides on it: name, probability, the call at the
 * model's operating point, the calibration note, provenance, that it is AI-assisted,
 * and the decision. A decided finding shows its decision and every earlier one (the
 * API keeps them all) and offers "Amend", which records a new decision beside the old.
 */
import type { Finding, Review, ReviewReason } from '../api.ts';
import { h } from '../dom.ts';
import { dateTime, findingCall, findingCallText, hashPrefix, ms, num, percent } from '../format.ts';
import { clinical, defineMessages } from '../i18n.ts';
import { decisionText } from '../reading-text.ts';
import type { CalibrationNote } from './calibration-note.ts';

const msg = defineMessages({
  en: {
    aiLabel: 'AI-assisted — confirm clinically',
    atOperatingPoint: (name: string, threshold: string) => `at operating point “${name}” (threshold ${threshold})`,
    model: 'Model',
    weights: 'Weights',
    preprocessing: 'Preprocessing',
    timing: 'Timing',
    timingValue: (total: string, inference: string) => `${total} (inference ${inference})`,
    produced: 'Produced',
    calibrationLoading: 'Calibration: loading the model card…',
    more: 'What the model card says',
    accept: 'Accept',
    override: 'Override…',
    amend: 'Amend',
    cancelAmend: 'Keep the decision',
    amending: 'Amending: the new decision is recorded beside the earlier one.',
    reason: 'Reason:',
    amends: 'amends the earlier decision',
    history: (n: number) => `Decision history (${n})`,
    showHeatmap: 'Show heatmap (H)',
    hideHeatmap: 'Hide heatmap (H)',
    saving: 'Saving…',
    label: (n: number, total: number, name: string, p: string, call: string, state: string) => `Finding ${n} of ${total}: ${name}, ${p}, ${call}. ${state}`,
    notApplicableState: 'No AI claim: nothing to decide.',
    notApplicableWhy: 'The model does not answer on this image:',
    caveats: 'Not checked against the model\'s population:',
    ood: (score: string, threshold: string) => `Out-of-distribution score ${score} (threshold ${threshold})`,
    undecided: 'Not yet decided: A to accept, O to override.',
    decided: (what: string, who: string) => `${what} by ${who}. E to amend.`,
  },
  zh: {
    aiLabel: 'AI 辅助 — 请临床确认',
    atOperatingPoint: (name: string, threshold: string) => `工作点“${name}”（阈值 ${threshold}）`,
    model: '模型',
    weights: '权重',
    preprocessing: '预处理',
    timing: '耗时',
    timingValue: (total: string, inference: string) => `${total}（推理 ${inference}）`,
    produced: '生成时间',
    calibrationLoading: '校准：正在读取模型卡…',
    more: '模型卡原文',
    accept: '接受',
    override: '否决…',
    amend: '修改',
    cancelAmend: '保留原决定',
    amending: '正在修改：新决定会与原决定一并记录。',
    reason: '原因：',
    amends: '修改了先前的决定',
    history: (n: number) => `决定历史（${n}）`,
    showHeatmap: '显示热力图 (H)',
    hideHeatmap: '隐藏热力图 (H)',
    saving: '正在保存…',
    label: (n: number, total: number, name: string, p: string, call: string, state: string) => `第 ${n}/${total} 项发现：${name}，${p}，${call}。${state}`,
    notApplicableState: '无 AI 结论：无需决定。',
    notApplicableWhy: '模型不对此图像给出结论：',
    caveats: '未能核对模型适用人群：',
    ood: (score: string, threshold: string) => `分布外评分 ${score}（阈值 ${threshold}）`,
    undecided: '尚未决定：按 A 接受，按 O 否决。',
    decided: (what: string, who: string) => `${who} ${what}。按 E 修改。`,
  },
});

export interface FindingCardState {
  finding: Finding;
  index: number;
  total: number;
  selected: boolean;
  amending: boolean;
  busy: boolean;
  error?: string;
  heatmapOn: boolean;
  /** The finding has a map for the image on screen. */
  heatmapAvailable: boolean;
  reasons: ReviewReason[];
  /** Undefined while the model card loads. */
  calibration?: CalibrationNote;
}

export interface FindingCardActions {
  select(): void;
  accept(): void;
  override(): void;
  amend(): void;
  cancelAmend(): void;
  toggleHeatmap(): void;
}

function reasonText(code: string | undefined, reasons: ReviewReason[]): string | undefined {
  if (!code) return undefined;
  const r = reasons.find((x) => x.code === code);
  return r ? clinical(r.display, r.displayZh) : code;
}

function reviewView(review: Review, reasons: ReviewReason[], testid: string): HTMLElement {
  const m = msg();
  const reason = reasonText(review.reasonCode, reasons);
  return h(
    'div',
    { class: `decision decision-${review.decision}`, testid, 'data-decision': review.decision, 'data-review-id': review.id },
    h('strong', {}, decisionText(review.decision)),
    ' · ',
    h('span', { testid: 'decision-reviewer' }, review.reviewer),
    ' · ',
    h('time', { datetime: review.createdAt }, dateTime(review.createdAt)),
    review.amends ? h('span', { class: 'muted small' }, ` · ${m.amends}`) : null,
    reason ? h('div', {}, `${m.reason} `, h('span', { testid: 'decision-reason', 'data-code': review.reasonCode }, reason)) : null,
    review.comment ? h('div', { class: 'comment', testid: 'decision-comment' }, `“${review.comment}”`) : null,
  );
}

/** Why the model gave no answer, and what it could not check against its population. */
function applicabilityNotes(f: Finding): (HTMLElement | null)[] {
  const m = msg();
  const applicability = f.applicability;
  return [
    f.probability === null && applicability?.reason
      ? h('div', { class: 'not-applicable', testid: 'not-applicable', 'data-code': applicability.reason.code },
          h('strong', {}, m.notApplicableWhy), ' ', clinical(applicability.reason.text, applicability.reason.textZh))
      : null,
    applicability?.caveats.length
      ? h('div', { class: 'caveats small', testid: 'caveats' }, m.caveats, ' ',
          applicability.caveats.map((c) => h('span', { class: 'caveat', 'data-code': c.code }, clinical(c.text, c.textZh))))
      : null,
  ];
}

function calibrationView(calibration: CalibrationNote | undefined): HTMLElement {
  const m = msg();
  return h(
    'div',
    { class: 'calibration small', testid: 'calibration' },
    calibration ? calibration.summary : m.calibrationLoading,
    calibration?.detail.length ? h('details', {}, h('summary', {}, m.more), calibration.detail.map((d) => h('p', { lang: 'en' }, d))) : null,
  );
}

/** Which model, weights and preprocessing produced the finding, how long it took and when. */
function provenance(f: Finding): HTMLElement {
  const m = msg();
  const t = f.timingMs;
  const total = Object.values(t).reduce((a, b) => a + (b ?? 0), 0);
  const ood = f.applicability?.outOfDistribution;
  return h(
    'dl',
    { class: 'provenance', testid: 'provenance' },
    h('dt', {}, m.model),
    h('dd', { testid: 'model' }, `${f.model.id} v${f.model.version}`),
    h('dt', {}, m.weights),
    h('dd', {}, h('code', { title: `SHA-256 ${f.model.weightsSha256}`, testid: 'weights-hash' }, hashPrefix(f.model.weightsSha256))),
    h('dt', {}, m.preprocessing),
    h('dd', {}, f.model.preprocessing),
    h('dt', {}, m.timing),
    h(
      'dd',
      { testid: 'timing', title: Object.entries(t).map(([stage, value]) => `${stage} ${ms(value)}`).join(', ') },
      m.timingValue(ms(total), ms(t.inference)),
    ),
    ood ? h('dt', {}, 'OOD') : null,
    ood ? h('dd', { testid: 'ood-score' }, m.ood(num(ood.score, 1), num(ood.threshold, 1))) : null,
    h('dt', {}, m.produced),
    h('dd', {}, dateTime(f.createdAt)),
  );
}

/** The decision now in force, then every decision in order once there is more than one. */
function decisions(f: Finding, reasons: ReviewReason[]): (HTMLElement | null)[] {
  const m = msg();
  const review = f.review;
  const history = f.reviews ?? (review ? [review] : []);
  return [
    review ? reviewView(review, reasons, 'decision') : null,
    history.length > 1
      ? h(
          'details',
          { class: 'history', testid: 'review-history', open: true },
          h('summary', {}, m.history(history.length)),
          h('ol', {}, history.map((r) => h('li', {}, reviewView(r, reasons, 'history-entry')))),
        )
      : null,
  ];
}

/** Accept and Override while undecided (or amending), else Amend; nothing where the model gave no answer. */
function actionButtons(state: FindingCardState, actions: FindingCardActions): HTMLElement {
  const m = msg();
  const f = state.finding;
  const applicable = f.probability !== null;
  const deciding = applicable && (!f.review || state.amending);
  return h(
    'div',
    { class: 'finding-actions' },
    !applicable
      ? h('span', { class: 'muted small' }, m.notApplicableState)
      : deciding
      ? [
          h('button', { type: 'button', class: 'accept', testid: 'accept', disabled: state.busy, onclick: actions.accept }, `${m.accept} (A)`),
          h('button', { type: 'button', class: 'override', testid: 'override', disabled: state.busy, onclick: actions.override }, `${m.override} (O)`),
          state.amending ? h('button', { type: 'button', class: 'link', testid: 'cancel-amend', onclick: actions.cancelAmend }, m.cancelAmend) : null,
        ]
      : h('button', { type: 'button', testid: 'amend', onclick: actions.amend }, `${m.amend} (E)`),
    state.busy ? h('span', { class: 'muted small', role: 'status' }, m.saving) : null,
  );
}

export function findingCard(state: FindingCardState, actions: FindingCardActions): HTMLElement {
  const m = msg();
  const f = state.finding;
  const call = findingCall(f);
  const name = clinical(f.display, f.displayZh);
  const review = f.review;
  const applicable = f.probability !== null;
  const stateText = !applicable ? m.notApplicableState : review ? m.decided(decisionText(review.decision), review.reviewer) : m.undecided;

  const card = h(
    'article',
    {
      class: `finding finding-${call}${state.selected ? ' selected' : ''}`,
      testid: 'finding',
      'data-finding-id': f.id,
      'data-label': f.label,
      'data-decided': String(Boolean(review)),
      'aria-current': state.selected ? 'true' : undefined,
      'aria-label': m.label(state.index + 1, state.total, name, percent(f.probability), findingCallText[call], stateText),
      tabindex: state.selected ? 0 : -1,
    },
    h(
      'header',
      { class: 'finding-head' },
      h('h3', { testid: 'finding-display' }, name),
      h('span', { class: 'probability', testid: 'finding-probability' }, percent(f.probability)),
    ),
    h(
      'div',
      { class: 'finding-result' },
      h('span', { class: `badge badge-${call}`, testid: 'finding-result' }, findingCallText[call]),
      applicable ? [' ', h('span', { class: 'muted small' }, m.atOperatingPoint(f.operatingPoint.name, num(f.operatingPoint.threshold, 3)))] : null,
    ),
    applicabilityNotes(f),
    // A probability's calibration means nothing where there is no probability.
    applicable ? calibrationView(state.calibration) : null,
    h('div', { class: 'ai-label', testid: 'ai-label' }, h('strong', {}, m.aiLabel), h('div', { class: 'small' }, clinical(f.aiAssisted, f.aiAssistedZh))),
    provenance(f),
    state.heatmapAvailable
      ? h(
          'button',
          { type: 'button', class: 'link heatmap-toggle', testid: 'heatmap-toggle', 'aria-pressed': String(state.heatmapOn), onclick: actions.toggleHeatmap },
          state.heatmapOn ? m.hideHeatmap : m.showHeatmap,
        )
      : null,
    decisions(f, state.reasons),
    state.amending ? h('p', { class: 'muted small' }, m.amending) : null,
    actionButtons(state, actions),
    state.error ? h('div', { class: 'inline-error', role: 'alert', testid: 'review-error' }, state.error) : null,
  );
  card.addEventListener('click', (e) => {
    if (!(e.target as HTMLElement).closest('button, a, summary, input')) actions.select();
  });
  card.addEventListener('focusin', () => {
    if (!card.classList.contains('selected')) actions.select();
  });
  return card;
}
