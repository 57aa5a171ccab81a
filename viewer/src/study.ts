/**
 * One study, read fast: the image with its tools (study/image-pane.ts) and the AI
 * findings, each accepted, overridden with a coded reason, or amended later, plus
 * findings the AI missed. Everything has a key (? lists them) so a reader can go
 * through a worklist without the mouse: decide, then `n` for the next unreviewed study.
 *
 * Decisions are the server's: a finding shows a decision once the API has recorded it,
 * and `n` waits for decisions still in flight, so a fast reader never leaves one behind.
 */
import {
  ApiError,
  getModel,
  getReaderFindingLabels,
  getReviewReasons,
  getStudy,
  postReaderFinding,
  postReview,
  subscribeToEvents,
  type Decision,
  type Finding,
  type ReaderFinding,
  type ReviewReason,
  type StudyDetail,
} from './api.ts';
import { announce } from './announce.ts';
import { h, replaceChildren } from './dom.ts';
import { awaitsDecision, dateTime, dicomDate, num, percent, personName, priorityBand } from './format.ts';
import { clinical, defineMessages } from './i18n.ts';
import type { AppContext } from './main.ts';
import { decisionText } from './reading-text.ts';
import { helpButton, pushKeymap, type Shortcut } from './shortcuts.ts';
import { calibrationNote, type CalibrationNote } from './study/calibration-note.ts';
import { openCodePicker } from './study/code-picker.ts';
import { findingCard } from './study/finding-card.ts';
import { createImagePane, PAN_STEP, ZOOM_STEP, type ImagePane } from './study/image-pane.ts';
import { nextStudy } from './study/next-study.ts';
import { rememberedFilters, worklistHash } from './worklist-filters.ts';
import { SLA_TICK_MS, slaView } from './worklist.ts';
import { debounced } from './debounce.ts';

/** Bursts of server events (one per instance) become one re-fetch. */
const DEBOUNCE_MS = 200;

const msg = defineMessages({
  en: {
    title: 'Study',
    back: '← Worklist',
    loading: 'Loading study…',
    loadFailed: (detail: string) => `Study could not be loaded — ${detail}`,
    untitled: 'Untitled study',
    patientId: (id: string) => `ID ${id}`,
    priorityTitle: (p: string) => `Priority ${p} of 100`,
    status: (s: string) => ({ pending: 'pending', ready: 'ready', reviewed: 'reviewed', failed: 'failed' })[s] ?? s,
    findings: 'AI findings',
    findingsNote: 'Suggestions from a model, not a diagnosis. Accept or override each one.',
    stillRunning: 'The AI read is still running…',
    noFindings: 'No AI findings for this study.',
    readerFindings: 'Added by readers',
    noReaderFindings: 'None yet.',
    addMissed: 'Add missed finding (M)',
    next: 'Next study (N)',
    keysHint: 'A accept · O override · E amend · M missed · N next · ? all keys',
    // Shortcut help
    kAccept: 'Accept the selected finding',
    kOverride: 'Override the selected finding (then 1–6 picks the reason, Enter confirms)',
    kAmend: 'Amend the decision on the selected finding',
    kMissed: 'Add a finding the AI missed',
    kNext: 'Next unreviewed study (after the last: the worklist)',
    kNextFinding: 'Next finding',
    kPrevFinding: 'Previous finding',
    kHeatmap: 'Heatmap overlay on/off',
    kPreset: (n: string) => `Window preset ${n} (lung, mediastinum, bone, default)`,
    kInvert: 'Invert greys',
    kReset: 'Reset the view',
    kZoomIn: 'Zoom in',
    kZoomOut: 'Zoom out',
    kPan: 'Pan the image',
    kWorklist: 'Back to the worklist',
    // Feedback
    saved: (what: string, name: string) => `${what}: ${name}`,
    notSaved: (detail: string) => `Decision not saved — ${detail}`,
    alreadyDecided: (what: string) => `Already ${what.toLowerCase()}. Press E to amend.`,
    notApplicable: (finding: string) => `${finding}: the model was not applicable to this image, so there is no AI claim to decide. Press M to add a finding.`,
    amendStarted: (name: string) => `Amending ${name}: choose A or O`,
    notDecided: 'Nothing to amend: this finding has no decision yet.',
    noFinding: 'No finding selected.',
    overrideTitle: (name: string) => `Override: ${name}`,
    overrideSubject: (p: string) => `AI probability ${p}. Why do you disagree?`,
    overrideConfirm: 'Override',
    missedTitle: 'Add a finding the AI missed',
    missedSubject: 'Recorded as your finding on this study, beside the AI’s.',
    missedConfirm: 'Add finding',
    missedSaved: (name: string) => `Missed finding added: ${name}`,
    missedNotSaved: (detail: string) => `Missed finding not saved — ${detail}`,
    reasonsFailed: (detail: string) => `Could not load the coded choices — ${detail}`,
    waiting: 'Saving your decisions before moving on…',
    nextOpening: 'Opening the next unreviewed study',
    lastDone: 'No unreviewed study left — back to the worklist',
    nextFailed: (detail: string) => `Next study unavailable — ${detail}`,
  },
  zh: {
    title: '检查',
    back: '← 工作列表',
    loading: '正在加载检查…',
    loadFailed: (detail: string) => `检查无法加载 — ${detail}`,
    untitled: '未命名检查',
    patientId: (id: string) => `ID ${id}`,
    priorityTitle: (p: string) => `优先级 ${p}/100`,
    status: (s: string) => ({ pending: '等待 AI', ready: '待审阅', reviewed: '已审阅', failed: '失败' })[s] ?? s,
    findings: 'AI 发现',
    findingsNote: '模型给出的提示，不是诊断。请逐项接受或否决。',
    stillRunning: 'AI 分析仍在进行…',
    noFindings: '此检查没有 AI 发现。',
    readerFindings: '阅片医师补充的发现',
    noReaderFindings: '暂无。',
    addMissed: '补充漏检发现 (M)',
    next: '下一个检查 (N)',
    keysHint: 'A 接受 · O 否决 · E 修改 · M 补充 · N 下一个 · ? 全部快捷键',
    kAccept: '接受所选发现',
    kOverride: '否决所选发现（再按 1–6 选择原因，Enter 确认）',
    kAmend: '修改所选发现的决定',
    kMissed: '补充 AI 漏检的发现',
    kNext: '下一个未审阅检查（最后一个之后回到工作列表）',
    kNextFinding: '下一项发现',
    kPrevFinding: '上一项发现',
    kHeatmap: '显示/隐藏热力图',
    kPreset: (n: string) => `窗宽窗位预设 ${n}（肺窗、纵隔窗、骨窗、默认）`,
    kInvert: '灰度反相',
    kReset: '复位视图',
    kZoomIn: '放大',
    kZoomOut: '缩小',
    kPan: '平移图像',
    kWorklist: '返回工作列表',
    saved: (what: string, name: string) => `${what}：${name}`,
    notSaved: (detail: string) => `决定未保存 — ${detail}`,
    alreadyDecided: (what: string) => `已${what.replace(/^已/, '')}。按 E 修改。`,
    notApplicable: (finding: string) => `${finding}：模型不适用于此图像，没有可决定的 AI 结论。按 M 添加发现。`,
    amendStarted: (name: string) => `正在修改“${name}”：请按 A 或 O`,
    notDecided: '无可修改：此发现尚未决定。',
    noFinding: '未选择发现。',
    overrideTitle: (name: string) => `否决：${name}`,
    overrideSubject: (p: string) => `AI 概率 ${p}。您不同意的原因是？`,
    overrideConfirm: '否决',
    missedTitle: '补充 AI 漏检的发现',
    missedSubject: '作为您在此检查上的发现记录，与 AI 的发现并列。',
    missedConfirm: '添加发现',
    missedSaved: (name: string) => `已补充发现：${name}`,
    missedNotSaved: (detail: string) => `补充的发现未保存 — ${detail}`,
    reasonsFailed: (detail: string) => `无法加载选项 — ${detail}`,
    waiting: '正在保存您的决定，随后前往下一个…',
    nextOpening: '正在打开下一个未审阅检查',
    lastDone: '没有未审阅的检查了 — 返回工作列表',
    nextFailed: (detail: string) => `无法获取下一个检查 — ${detail}`,
  },
});

function errorText(err: unknown): string {
  if (err instanceof ApiError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

function studyHeader(d: StudyDetail, backHref: string): HTMLElement {
  const m = msg();
  const s = d.study;
  const band = priorityBand(s.priority);
  return h(
    'section',
    { class: 'study-head', testid: 'study-head', 'data-study-uid': s.studyInstanceUid },
    h('a', { href: backHref, class: 'back', testid: 'back' }, m.back),
    h(
      'div',
      { class: 'study-title' },
      h('h1', {}, s.studyDescription || m.untitled),
      h('div', { class: 'muted small' }, `${personName(s.patientName)}${s.patientId ? ` · ${m.patientId(s.patientId)}` : ''} · ${s.modality ?? '—'} · ${dicomDate(s.studyDate)}`),
    ),
    h(
      'div',
      { class: 'study-meta' },
      h('span', { class: `priority priority-${band}`, title: m.priorityTitle(num(s.priority)) }, num(s.priority)),
      h('span', { class: `status status-${s.status}`, testid: 'study-status' }, m.status(s.status)),
      slaView(s.sla, s.waitingSince, Date.now()),
      h('span', { class: 'why-chip', testid: 'study-why' }, clinical(s.why, s.whyZh)),
    ),
  );
}

function readerFindingView(r: ReaderFinding): HTMLElement {
  return h(
    'li',
    { class: 'reader-finding', testid: 'reader-finding', 'data-label': r.label },
    h('strong', {}, clinical(r.display, r.displayZh)),
    ` · ${r.reviewer} · `,
    h('time', { datetime: r.createdAt }, dateTime(r.createdAt)),
    r.comment ? h('div', { class: 'comment' }, `“${r.comment}”`) : null,
  );
}

export function mountStudy(root: HTMLElement, ctx: AppContext, studyInstanceUid: string): () => void {
  const m = msg();
  const controller = new AbortController();
  const backHref = worklistHash(rememberedFilters());
  let destroyed = false;
  let detail: StudyDetail | undefined;
  let pane: ImagePane | undefined;
  let selectedId: string | undefined;
  let reasons: ReviewReason[] = [];
  const amending = new Set<string>();
  const busy = new Set<string>();
  const errors = new Map<string, string>();
  const calibration = new Map<string, CalibrationNote>();
  /** Decisions sent and not yet answered; `n` waits for them. */
  const inFlight = new Set<Promise<unknown>>();

  const headSlot = h('div', {});
  const findingsList = h('div', { class: 'findings', testid: 'findings' });
  const readerList = h('ul', { class: 'reader-findings', testid: 'reader-findings' });

  const findings = (): Finding[] => detail?.findings ?? [];
  const selected = (): Finding | undefined => findings().find((f) => f.id === selectedId);
  const onScreen = (f: Finding) => Boolean(f.heatmap) && f.sopInstanceUid === pane?.current()?.sopInstanceUid;

  const select = (id: string | undefined, focus: boolean) => {
    selectedId = id;
    for (const card of findingsList.querySelectorAll<HTMLElement>('[data-finding-id]')) {
      const on = card.dataset.findingId === id;
      card.classList.toggle('selected', on);
      card.tabIndex = on ? 0 : -1;
      if (on) card.setAttribute('aria-current', 'true');
      else card.removeAttribute('aria-current');
      if (on && focus) card.focus();
    }
    // A finding on another image of the study brings its image up.
    const f = selected();
    const instance = f && detail?.instances.find((i) => i.sopInstanceUid === f.sopInstanceUid);
    if (instance && pane && pane.current() !== instance) void pane.show(instance).then(renderFindings);
  };

  const renderFindings = () => {
    if (!detail) return;
    const list = findings();
    const hadFocus = findingsList.contains(document.activeElement);
    if (!list.some((f) => f.id === selectedId)) selectedId = (list.find(awaitsDecision) ?? list[0])?.id;
    replaceChildren(
      findingsList,
      list.length
        ? list.map((finding, index) =>
            findingCard(
              {
                finding,
                index,
                total: list.length,
                selected: finding.id === selectedId,
                amending: amending.has(finding.id),
                busy: busy.has(finding.id),
                error: errors.get(finding.id),
                heatmapOn: pane?.heatmapFindingId() === finding.id,
                heatmapAvailable: onScreen(finding),
                reasons,
                calibration: calibration.get(finding.model.id),
              },
              {
                select: () => select(finding.id, false),
                accept: () => void decide(finding, 'accept').catch(() => {}),
                override: () => override(finding),
                amend: () => amend(finding),
                cancelAmend: () => {
                  amending.delete(finding.id);
                  renderFindings();
                },
                toggleHeatmap: () => toggleHeatmap(finding),
              },
            ),
          )
        : h('p', { class: 'muted' }, detail.study.status === 'pending' ? m.stillRunning : m.noFindings),
    );
    select(selectedId, hadFocus);
    pane?.setHeatmapAvailable(list.some(onScreen));
  };

  const renderReaderFindings = () =>
    replaceChildren(readerList, detail?.readerFindings.length ? detail.readerFindings.map(readerFindingView) : h('li', { class: 'muted small' }, m.noReaderFindings));

  const renderHead = () => {
    if (!detail) return;
    replaceChildren(
      headSlot,
      studyHeader(detail, backHref),
      detail.errors.length
        ? h('div', { class: 'banner banner-error' }, detail.errors.map((e) => h('div', { testid: 'study-error' }, h('code', {}, e.code), ' ', e.message)))
        : null,
    );
  };

  const loadCalibration = () => {
    for (const id of new Set(findings().map((f) => f.model.id))) {
      if (calibration.has(id)) continue;
      getModel(id).then(
        (card) => {
          calibration.set(id, calibrationNote(card));
          if (!destroyed) renderFindings();
        },
        () => {},
      );
    }
  };

  /** The server's view after a change: status, priority, reviews by others, new findings. */
  const refresh = async () => {
    try {
      const next = await getStudy(studyInstanceUid, controller.signal);
      if (destroyed) return;
      detail = next;
      renderHead();
      renderFindings();
      renderReaderFindings();
      loadCalibration();
    } catch {
      // What is on screen stays; the next event or poll tries again.
    }
  };
  const refreshSoon = debounced(() => void refresh(), DEBOUNCE_MS);

  // ---- decisions ----------------------------------------------------------------
  const name = (f: Finding) => clinical(f.display, f.displayZh);

  /** Records a decision; rejects (after showing why) when the API refused it. */
  const decide = async (finding: Finding, decision: Decision, reasonCode?: string, comment?: string) => {
    if (busy.has(finding.id)) return;
    busy.add(finding.id);
    errors.delete(finding.id);
    renderFindings();
    const sent = postReview(finding.id, { decision, reviewer: ctx.reviewer(), ...(reasonCode ? { reasonCode } : {}), ...(comment ? { comment } : {}) });
    inFlight.add(sent);
    try {
      const review = await sent;
      finding.review = review;
      finding.reviews = [...(finding.reviews ?? []), review];
      amending.delete(finding.id);
      announce(m.saved(decisionText(decision), name(finding)), 'ok');
      // On to the next undecided finding, so a study with several reads straight through.
      const list = findings();
      const at = list.indexOf(finding);
      const next = [...list.slice(at + 1), ...list.slice(0, at)].find(awaitsDecision);
      if (next && selectedId === finding.id) selectedId = next.id;
    } catch (err) {
      errors.set(finding.id, m.notSaved(errorText(err)));
      announce(m.notSaved(errorText(err)), 'error');
      throw err;
    } finally {
      inFlight.delete(sent);
      busy.delete(finding.id);
      if (!destroyed) {
        renderFindings();
        refreshSoon();
      }
    }
  };

  /** A decided finding changes only through Amend, so a stray key cannot replace a decision. */
  const open = (f: Finding | undefined): f is Finding => {
    if (!f) {
      announce(m.noFinding, 'error');
      return false;
    }
    if (f.probability === null) {
      announce(m.notApplicable(name(f)), 'error');
      return false;
    }
    if (f.review && !amending.has(f.id)) {
      announce(m.alreadyDecided(decisionText(f.review.decision)), 'error');
      return false;
    }
    return true;
  };

  const override = (finding: Finding | undefined) => {
    if (!open(finding)) return;
    getReviewReasons().then(
      (items) =>
        openCodePicker({
          title: m.overrideTitle(name(finding)),
          testid: 'override-picker',
          subject: m.overrideSubject(percent(finding.probability)),
          items,
          commentRequired: (code) => code === 'other',
          confirmLabel: m.overrideConfirm,
          submit: (code, comment) => void decide(finding, 'override', code, comment).catch(() => {}),
        }),
      (err) => announce(m.reasonsFailed(errorText(err)), 'error'),
    );
  };

  const amend = (finding: Finding | undefined) => {
    if (!finding) return announce(m.noFinding, 'error');
    if (!finding.review) return announce(m.notDecided, 'error');
    amending.add(finding.id);
    renderFindings();
    announce(m.amendStarted(name(finding)));
  };

  const saveMissed = async (label: string, comment: string | undefined) => {
    const sent = postReaderFinding(studyInstanceUid, {
      label,
      reviewer: ctx.reviewer(),
      ...(pane?.current() ? { sopInstanceUid: pane.current()!.sopInstanceUid } : {}),
      ...(comment ? { comment } : {}),
    });
    inFlight.add(sent);
    try {
      const created = await sent;
      if (detail) detail.readerFindings = [...detail.readerFindings, created];
      if (!destroyed) renderReaderFindings();
      announce(m.missedSaved(clinical(created.display, created.displayZh)), 'ok');
    } catch (err) {
      announce(m.missedNotSaved(errorText(err)), 'error');
    } finally {
      inFlight.delete(sent);
    }
  };

  const addMissed = () => {
    getReaderFindingLabels().then(
      (items) =>
        openCodePicker({
          title: m.missedTitle,
          testid: 'missed-picker',
          subject: m.missedSubject,
          items,
          commentRequired: (code) => code === 'other',
          confirmLabel: m.missedConfirm,
          submit: (label, comment) => void saveMissed(label, comment),
        }),
      (err) => announce(m.reasonsFailed(errorText(err)), 'error'),
    );
  };

  let leaving = false;
  const goNext = async () => {
    if (leaving) return;
    leaving = true;
    try {
      if (inFlight.size) announce(m.waiting);
      const settled = await Promise.allSettled([...inFlight]);
      if (settled.some((s) => s.status === 'rejected')) return; // the card shows what failed
      const uid = await nextStudy(studyInstanceUid);
      if (destroyed) return;
      announce(uid ? m.nextOpening : m.lastDone, 'ok');
      ctx.navigate(uid ? `#/study/${encodeURIComponent(uid)}` : backHref);
    } catch (err) {
      announce(m.nextFailed(errorText(err)), 'error');
    } finally {
      leaving = false;
    }
  };

  // ---- navigation between findings, heatmap ---------------------------------------
  const moveFinding = (by: number, e?: KeyboardEvent): void | false => {
    const list = findings();
    if (!list.length) return false;
    const active = document.activeElement;
    const onCard = active instanceof HTMLElement && active.matches('[data-finding-id]');
    // Tab moves between findings only from a finding (or from nowhere), and lets go at
    // either end, so the rest of the page stays reachable and nothing traps focus.
    if (e?.key === 'Tab') {
      if (!onCard && active !== document.body && active !== null) return false;
      if (!onCard) return select(selectedId, true);
    }
    const at = list.findIndex((f) => f.id === selectedId);
    const next = at + by;
    if (next < 0 || next >= list.length) {
      if (e?.key === 'Tab') return false;
      return;
    }
    select(list[next].id, true);
  };

  const toggleHeatmap = (finding?: Finding) => {
    if (!pane) return;
    const target = finding ?? [selected(), ...findings()].find((f) => f && onScreen(f));
    if (!target) return pane.setHeatmap(selected() ?? null);
    pane.setHeatmap(pane.heatmapFindingId() === target.id ? null : target);
    renderFindings();
  };

  const shortcuts: Shortcut[] = [
    { keys: ['a'], description: () => m.kAccept, run: () => void (open(selected()) && decide(selected()!, 'accept').catch(() => {})) },
    { keys: ['o'], description: () => m.kOverride, run: () => override(selected()) },
    { keys: ['e'], description: () => m.kAmend, run: () => amend(selected()) },
    { keys: ['m'], description: () => m.kMissed, run: addMissed },
    { keys: ['n'], description: () => m.kNext, run: () => void goNext() },
    { keys: ['Tab', ']'], description: () => m.kNextFinding, run: (e) => moveFinding(1, e) },
    { keys: ['Shift+Tab', '['], description: () => m.kPrevFinding, run: (e) => moveFinding(-1, e) },
    { keys: ['h'], description: () => m.kHeatmap, run: () => toggleHeatmap() },
    { keys: ['1', '2', '3', '4'], description: () => m.kPreset('1–4'), run: (e) => pane?.applyPreset(e.key) },
    { keys: ['i'], description: () => m.kInvert, run: () => pane?.toggleInvert() },
    { keys: ['r'], description: () => m.kReset, run: () => pane?.reset() },
    { keys: ['+', '='], description: () => m.kZoomIn, run: () => pane?.zoom(ZOOM_STEP) },
    { keys: ['-'], description: () => m.kZoomOut, run: () => pane?.zoom(1 / ZOOM_STEP) },
    {
      keys: ['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown'],
      description: () => m.kPan,
      run: (e) => {
        const d = { ArrowLeft: [-PAN_STEP, 0], ArrowRight: [PAN_STEP, 0], ArrowUp: [0, -PAN_STEP], ArrowDown: [0, PAN_STEP] }[e.key]!;
        pane?.pan(d[0], d[1]);
      },
    },
    { keys: ['w'], description: () => m.kWorklist, run: () => ctx.navigate(backHref) },
  ];

  // ---- mount ----------------------------------------------------------------------
  const load = async () => {
    try {
      detail = await getStudy(studyInstanceUid, controller.signal);
    } catch (err) {
      if (destroyed) return;
      replaceChildren(
        root,
        h('a', { href: backHref, class: 'back' }, m.back),
        h('div', { class: 'banner banner-error', testid: 'study-error', role: 'alert' }, m.loadFailed(errorText(err))),
      );
      return;
    }
    if (destroyed) return;
    const d = detail;
    pane = createImagePane({ modality: d.study.modality, instances: d.instances, onToggleHeatmap: () => toggleHeatmap(), signal: controller.signal });
    renderHead();
    replaceChildren(
      root,
      headSlot,
      h(
        'div',
        { class: 'study-body' },
        pane.element,
        h(
          'aside',
          { class: 'findings-pane', 'aria-label': m.findings },
          h('div', { class: 'pane-head' }, h('h2', {}, m.findings), helpButton()),
          h('p', { class: 'muted small' }, m.findingsNote),
          h('p', { class: 'small keys-hint' }, m.keysHint),
          findingsList,
          h(
            'section',
            { class: 'reader-section', 'aria-label': m.readerFindings },
            h('h3', {}, m.readerFindings),
            readerList,
            h('div', { class: 'row-actions' },
              h('button', { type: 'button', testid: 'add-missed', onclick: addMissed }, m.addMissed),
              h('button', { type: 'button', class: 'primary', testid: 'next-study', onclick: () => void goNext() }, m.next),
            ),
          ),
        ),
      ),
    );
    renderFindings();
    renderReaderFindings();
    loadCalibration();
    getReviewReasons().then(
      (items) => {
        reasons = items;
        if (!destroyed) renderFindings();
      },
      () => {},
    );
    const first = selected() ?? findings()[0];
    const instance = d.instances.find((i) => i.sopInstanceUid === first?.sopInstanceUid) ?? d.instances[0];
    if (instance) {
      await pane.show(instance);
      if (!destroyed) renderFindings();
    }
  };

  replaceChildren(root, h('div', { class: 'muted' }, m.loading));
  const popKeys = pushKeymap({ title: () => m.title, shortcuts });
  const unsubscribe = subscribeToEvents((u) => {
    if (u.type === 'poll' || u.studyInstanceUid === studyInstanceUid) refreshSoon();
  });
  const clock = setInterval(renderHead, SLA_TICK_MS);
  void load();

  return () => {
    destroyed = true;
    controller.abort();
    refreshSoon.cancel();
    clearInterval(clock);
    unsubscribe();
    popKeys();
    pane?.destroy();
  };
}
