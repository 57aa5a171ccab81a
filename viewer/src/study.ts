/**
 * One study: the image (behind ImageView, so the renderer can change) and the AI
 * findings panel where the reviewer accepts or overrides each finding with a coded
 * reason. Every finding shows where it came from (model, version, weights hash, timing)
 * and that it is AI-assisted.
 */
import {
  ApiError,
  getFrame,
  getReviewReasons,
  getStudy,
  postReview,
  type Finding,
  type Instance,
  type Review,
  type ReviewReason,
  type StudyDetail,
} from './api.ts';
import { h, replaceChildren } from './dom.ts';
import { dateTime, dicomDate, findingCall, findingCallText, hashPrefix, ms, num, percent, personName, priorityBand } from './format.ts';
import { createImageView, type ImageView, type ViewState } from './imaging/cornerstone-view.ts';
import type { AppContext } from './main.ts';

const AI_LABEL = 'AI-assisted — confirm clinically';

function errorText(err: unknown): string {
  if (err instanceof ApiError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

function studyHeader(detail: StudyDetail): HTMLElement {
  const s = detail.study;
  const band = priorityBand(s.priority);
  return h(
    'section',
    { class: 'study-head', testid: 'study-head' },
    h('a', { href: '#/', class: 'back', testid: 'back' }, '← Worklist'),
    h(
      'div',
      { class: 'study-title' },
      h('h1', {}, s.studyDescription || 'Untitled study'),
      h(
        'div',
        { class: 'muted' },
        `${personName(s.patientName)}${s.patientId ? ` · ID ${s.patientId}` : ''} · ${s.modality ?? '—'} · ${dicomDate(s.studyDate)}`,
      ),
    ),
    h(
      'div',
      { class: 'study-meta' },
      h('span', { class: `priority priority-${band}`, title: `Priority ${s.priority} of 100` }, num(s.priority)),
      h('span', { class: `status status-${s.status}`, testid: 'study-status' }, s.status),
      h('span', { class: 'why' }, s.why),
    ),
  );
}

function decisionView(review: Review, reasons: ReviewReason[]): HTMLElement {
  const reason = review.reasonCode
    ? (reasons.find((r) => r.code === review.reasonCode)?.display ?? review.reasonCode)
    : undefined;
  const accepted = review.decision === 'accept';
  return h(
    'div',
    {
      class: `decision ${accepted ? 'decision-accept' : 'decision-override'}`,
      testid: 'decision',
      'data-decision': review.decision,
    },
    h('strong', {}, accepted ? 'Accepted' : 'Overridden'),
    ' by ',
    h('span', { testid: 'decision-reviewer' }, review.reviewer),
    ' · ',
    h('time', { datetime: review.createdAt }, dateTime(review.createdAt)),
    reason ? h('div', {}, 'Reason: ', h('span', { testid: 'decision-reason', 'data-code': review.reasonCode }, reason)) : null,
    review.comment ? h('div', { class: 'comment', testid: 'decision-comment' }, `“${review.comment}”`) : null,
  );
}

interface FindingCardOptions {
  finding: Finding;
  reasons: () => Promise<ReviewReason[]>;
  reviewer: () => string;
  onDecided: (review: Review) => void;
  heatmapActive: boolean;
  onToggleHeatmap?: () => void;
}

function findingCard(opts: FindingCardOptions): HTMLElement {
  const f = opts.finding;
  const card = h('article', {
    class: `finding finding-${findingCall(f)}`,
    testid: 'finding',
    'data-finding-id': f.id,
    'data-label': f.label,
  });
  const t = f.timingMs;
  const total = t.decode + t.preprocess + t.inference + t.postprocess;
  const actions = h('div', { class: 'finding-actions' });
  const feedback = h('div', { class: 'inline-error', testid: 'review-error', hidden: true });

  const submit = async (decision: 'accept' | 'override', reasonCode?: string, comment?: string) => {
    feedback.hidden = true;
    for (const b of actions.querySelectorAll('button, select, textarea')) (b as HTMLButtonElement).disabled = true;
    try {
      const review = await postReview(f.id, {
        decision,
        reviewer: opts.reviewer(),
        ...(reasonCode ? { reasonCode } : {}),
        ...(comment ? { comment } : {}),
      });
      opts.onDecided(review);
    } catch (err) {
      feedback.hidden = false;
      feedback.textContent = `Decision not saved — ${errorText(err)}`;
      for (const b of actions.querySelectorAll('button, select, textarea')) (b as HTMLButtonElement).disabled = false;
    }
  };

  const showButtons = () => {
    replaceChildren(
      actions,
      h('button', { type: 'button', class: 'accept', testid: 'accept', onclick: () => void submit('accept') }, 'Accept'),
      h('button', { type: 'button', class: 'override', testid: 'override', onclick: () => void showOverrideForm() }, 'Override…'),
    );
  };

  const showOverrideForm = async () => {
    const select = h(
      'select',
      { testid: 'reason-select', id: `reason-${f.id}`, required: true },
      h('option', { value: '' }, 'Loading reasons…'),
    );
    const comment = h('textarea', {
      testid: 'override-comment',
      id: `comment-${f.id}`,
      rows: 2,
      maxlength: 2000,
      placeholder: 'Optional: what you see instead',
    });
    const send = h('button', { type: 'submit', class: 'primary', testid: 'submit-override', disabled: true }, 'Submit override');
    const commentLabel = h('label', { for: `comment-${f.id}` }, 'Comment');
    // "Other" says nothing on its own, so the API (and this form) insist on a comment.
    const needsComment = () => select.value === 'other';
    const validate = () => {
      commentLabel.textContent = needsComment() ? 'Comment (required for “other”)' : 'Comment';
      send.disabled = !select.value || (needsComment() && !comment.value.trim());
    };
    select.addEventListener('change', validate);
    comment.addEventListener('input', validate);
    const form = h(
      'form',
      { class: 'override-form', testid: 'override-form' },
      h('label', { for: `reason-${f.id}` }, 'Reason (required)'),
      select,
      commentLabel,
      comment,
      h(
        'div',
        { class: 'row-actions' },
        send,
        h('button', { type: 'button', class: 'link', testid: 'cancel-override', onclick: showButtons }, 'Cancel'),
      ),
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (send.disabled) return;
      void submit('override', select.value, comment.value.trim() || undefined);
    });
    replaceChildren(actions, form);
    try {
      const reasons = await opts.reasons();
      replaceChildren(
        select,
        h('option', { value: '' }, 'Choose a reason…'),
        reasons.map((r) => h('option', { value: r.code }, r.display)),
      );
      select.focus();
    } catch (err) {
      replaceChildren(select, h('option', { value: '' }, 'Reasons unavailable'));
      feedback.hidden = false;
      feedback.textContent = `Could not load override reasons — ${errorText(err)}`;
    }
  };

  const decisionSlot = h('div', { class: 'decision-slot' });
  if (f.review) {
    void opts.reasons().then(
      (reasons) => replaceChildren(decisionSlot, decisionView(f.review!, reasons)),
      () => replaceChildren(decisionSlot, decisionView(f.review!, [])),
    );
    replaceChildren(decisionSlot, decisionView(f.review, []));
  } else {
    showButtons();
  }

  replaceChildren(
    card,
    h(
      'header',
      { class: 'finding-head' },
      h('h3', { testid: 'finding-display' }, f.display),
      h('span', { class: 'probability', testid: 'finding-probability' }, percent(f.probability)),
    ),
    h(
      'div',
      { class: 'finding-result' },
      h(
        'span',
        { class: `badge badge-${findingCall(f)}`, testid: 'finding-result' },
        findingCallText[findingCall(f)],
      ),
      h(
        'span',
        { class: 'muted small' },
        ` at operating point “${f.operatingPoint.name}” (threshold ${num(f.operatingPoint.threshold, 3)})`,
      ),
    ),
    h(
      'div',
      { class: 'ai-label', testid: 'ai-label', title: f.aiAssisted },
      h('strong', {}, AI_LABEL),
      f.aiAssisted && f.aiAssisted !== AI_LABEL ? h('div', { class: 'small' }, f.aiAssisted) : null,
    ),
    h(
      'dl',
      { class: 'provenance', testid: 'provenance' },
      h('dt', {}, 'Model'),
      h('dd', { testid: 'model' }, `${f.model.id} v${f.model.version}`),
      h('dt', {}, 'Weights'),
      h('dd', {}, h('code', { title: `SHA-256 ${f.model.weightsSha256}`, testid: 'weights-hash' }, hashPrefix(f.model.weightsSha256))),
      h('dt', {}, 'Preprocessing'),
      h('dd', {}, f.model.preprocessing),
      h('dt', {}, 'Timing'),
      h(
        'dd',
        { testid: 'timing', title: `decode ${ms(t.decode)}, preprocess ${ms(t.preprocess)}, inference ${ms(t.inference)}, postprocess ${ms(t.postprocess)}` },
        `${ms(total)} (inference ${ms(t.inference)})`,
      ),
      h('dt', {}, 'Produced'),
      h('dd', {}, dateTime(f.createdAt)),
    ),
    f.heatmap && opts.onToggleHeatmap
      ? h(
          'button',
          {
            type: 'button',
            class: `link heatmap-toggle${opts.heatmapActive ? ' active' : ''}`,
            testid: 'heatmap-toggle',
            'aria-pressed': String(opts.heatmapActive),
            onclick: opts.onToggleHeatmap,
          },
          opts.heatmapActive ? 'Hide heatmap' : 'Show heatmap',
        )
      : null,
    decisionSlot,
    actions,
    feedback,
  );
  return card;
}

function viewportReadout(s: ViewState | undefined): string {
  if (!s) return '';
  return `W ${Math.round(s.windowWidth)} / L ${Math.round(s.windowCenter)} · zoom ${Math.round(s.scale * 100)}%`;
}

export function mountStudy(root: HTMLElement, ctx: AppContext, studyInstanceUid: string): () => void {
  const controller = new AbortController();
  let view: ImageView | undefined;
  let destroyed = false;
  let detail: StudyDetail | undefined;
  let currentInstance: Instance | undefined;
  let heatmapFindingId: string | undefined;

  const findingsList = h('div', { class: 'findings', testid: 'findings' });
  const headSlot = h('div', {});
  const viewport = h('div', { class: 'viewport', testid: 'viewport' });
  const imageStatus = h('div', { class: 'viewport-status', testid: 'image-status' }, 'Loading image…');
  const readout = h('span', { class: 'readout', testid: 'viewport-readout' });
  const instancePicker = h('div', { class: 'instance-picker' });
  const reasons = () => getReviewReasons();

  replaceChildren(root, h('div', { class: 'muted' }, 'Loading study…'));

  const renderFindings = () => {
    if (!detail) return;
    const findings = detail.findings;
    replaceChildren(
      findingsList,
      findings.length
        ? findings.map((finding) =>
            findingCard({
              finding,
              reasons,
              reviewer: ctx.reviewer,
              heatmapActive: heatmapFindingId === finding.id,
              onToggleHeatmap:
                finding.sopInstanceUid === currentInstance?.sopInstanceUid
                  ? () => {
                      heatmapFindingId = heatmapFindingId === finding.id ? undefined : finding.id;
                      view?.setHeatmap(heatmapFindingId ? (finding.heatmap ?? null) : null);
                      renderFindings();
                    }
                  : undefined,
              onDecided: (review) => {
                finding.review = review;
                renderFindings();
                void refresh();
              },
            }),
          )
        : h(
            'p',
            { class: 'muted' },
            detail.study.status === 'pending' ? 'The AI read is still running…' : 'No AI findings for this study.',
          ),
    );
  };

  const renderHead = (d: StudyDetail) =>
    replaceChildren(
      headSlot,
      studyHeader(d),
      d.errors.length
        ? h(
            'div',
            { class: 'banner banner-error' },
            d.errors.map((e) => h('div', { testid: 'study-error' }, h('code', {}, e.code), ' ', e.message)),
          )
        : null,
    );

  /** After a decision: status, priority and findings may all have moved on the server. */
  const refresh = async () => {
    try {
      const next = await getStudy(studyInstanceUid, controller.signal);
      if (destroyed) return;
      detail = next;
      renderHead(next);
      renderFindings();
    } catch {
      // The decision itself is saved and shown; a stale header is not worth an alarm.
    }
  };

  const showInstance = async (instance: Instance) => {
    currentInstance = instance;
    heatmapFindingId = undefined;
    view?.setHeatmap(null);
    imageStatus.hidden = false;
    imageStatus.textContent = 'Loading image…';
    for (const b of instancePicker.querySelectorAll('button')) {
      b.classList.toggle('active', b.dataset.sop === instance.sopInstanceUid);
    }
    renderFindings();
    try {
      const frame = await getFrame(instance, 1, controller.signal);
      if (destroyed || currentInstance !== instance) return;
      await view!.show({ ...instance.image, ...frame.layout }, frame.pixels, instance.sopInstanceUid);
      imageStatus.hidden = true;
      readout.textContent = viewportReadout(view!.getViewport());
    } catch (err) {
      if (destroyed) return;
      imageStatus.hidden = false;
      imageStatus.dataset.testid = 'image-error';
      imageStatus.textContent = `Image could not be shown — ${errorText(err)}`;
    }
  };

  const load = async () => {
    try {
      detail = await getStudy(studyInstanceUid, controller.signal);
    } catch (err) {
      if (destroyed) return;
      replaceChildren(
        root,
        h('a', { href: '#/', class: 'back' }, '← Worklist'),
        h('div', { class: 'banner banner-error', testid: 'study-error' }, `Study could not be loaded — ${errorText(err)}`),
      );
      return;
    }
    if (destroyed) return;
    const d = detail;
    const frames = (i: Instance) => (i.image.numberOfFrames > 1 ? ` (frame 1 of ${i.image.numberOfFrames})` : '');
    replaceInstancePicker(d.instances, frames);
    renderHead(d);
    replaceChildren(
      root,
      headSlot,
      h(
        'div',
        { class: 'study-body' },
        h(
          'section',
          { class: 'image-pane' },
          h(
            'div',
            { class: 'toolbar' },
            h('button', { type: 'button', testid: 'reset-view', title: 'Fit to window and restore the image window (R)', onclick: () => view?.resetView() }, 'Reset view'),
            readout,
            h('span', { class: 'muted small hint' }, 'Drag: window/level · Shift+drag or middle drag: pan · Wheel: zoom'),
          ),
          instancePicker,
          h('div', { class: 'viewport-wrap' }, viewport, imageStatus),
        ),
        h(
          'aside',
          { class: 'findings-pane' },
          h('h2', {}, 'AI findings'),
          h('p', { class: 'muted small' }, 'Suggestions from a model, not a diagnosis. Accept or override each one.'),
          findingsList,
        ),
      ),
    );
    if (!d.instances.length) {
      imageStatus.textContent = 'This study has no displayable instances.';
      renderFindings();
      return;
    }
    view = createImageView(viewport);
    view.onChange((s) => {
      readout.textContent = viewportReadout(s);
    });
    const withFindings = d.instances.find((i) => d.findings.some((f) => f.sopInstanceUid === i.sopInstanceUid));
    await showInstance(withFindings ?? d.instances[0]);
  };

  const replaceInstancePicker = (instances: Instance[], frames: (i: Instance) => string) => {
    if (instances.length < 2) {
      replaceChildren(instancePicker);
      return;
    }
    replaceChildren(
      instancePicker,
      instances.map((inst, n) =>
        h(
          'button',
          { type: 'button', class: 'link', 'data-sop': inst.sopInstanceUid, testid: 'instance', onclick: () => void showInstance(inst) },
          `Image ${n + 1}${frames(inst)}`,
        ),
      ),
    );
  };

  const onKey = (e: KeyboardEvent) => {
    const target = e.target as HTMLElement;
    if (['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName)) return;
    if (e.key === 'r' || e.key === 'R') view?.resetView();
  };
  document.addEventListener('keydown', onKey);
  void load();

  return () => {
    destroyed = true;
    controller.abort();
    document.removeEventListener('keydown', onKey);
    view?.destroy();
  };
}
