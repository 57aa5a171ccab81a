/**
 * The reader's decisions on AI findings: accept, override with a coded reason, amend a
 * decision already made, and `n` for the next study once every decision sent has been
 * answered. A finding shows a decision only once the API has recorded it.
 */
import { getReviewReasons, postReview, type Decision, type Finding } from '../api.ts';
import { announce } from '../announce.ts';
import { errorText } from '../error-text.ts';
import { awaitsDecision, percent } from '../format.ts';
import { decisionText } from '../reading-text.ts';
import { openCodePicker } from './code-picker.ts';
import { msg } from './messages.ts';
import { nextStudy } from './next-study.ts';
import { findingName, findingsOf, type StudyState } from './state.ts';

export interface ReviewHooks {
  /** The findings' cards show the new state (busy, decided, refused). */
  changed(): void;
  /** The server's view is fetched again (status, priority, others' reviews). */
  refreshSoon(): void;
}

export interface ReviewActions {
  /** Unchecked: the card offers Accept only where `mayDecide` holds; the A key checks first. */
  accept(finding: Finding): void;
  override(finding: Finding | undefined): void;
  amend(finding: Finding | undefined): void;
  /** The next unreviewed study, after the decisions in flight; the worklist after the last. */
  goNext(): Promise<void>;
}

/** A decided finding changes only through Amend, so a stray key cannot replace a decision. */
export function mayDecide(state: StudyState, f: Finding | undefined): f is Finding {
  const m = msg();
  if (!f) {
    announce(m.noFinding, 'error');
    return false;
  }
  if (f.probability === null) {
    announce(m.notApplicable(findingName(f)), 'error');
    return false;
  }
  if (f.review && !state.amending.has(f.id)) {
    announce(m.alreadyDecided(decisionText(f.review.decision)), 'error');
    return false;
  }
  return true;
}

/** On to the next undecided finding after `finding`, so a study with several reads straight through. */
function selectNextUndecided(state: StudyState, finding: Finding): void {
  const list = findingsOf(state);
  const at = list.indexOf(finding);
  const next = [...list.slice(at + 1), ...list.slice(0, at)].find(awaitsDecision);
  if (next && state.selectedId === finding.id) state.selectedId = next.id;
}

/** Records a decision; rejects (after showing why) when the API refused it. */
async function decide(state: StudyState, hooks: ReviewHooks, finding: Finding, decision: Decision, reasonCode?: string, comment?: string): Promise<void> {
  const m = msg();
  if (state.busy.has(finding.id)) return;
  state.busy.add(finding.id);
  state.errors.delete(finding.id);
  hooks.changed();
  const sent = postReview(finding.id, { decision, ...(reasonCode ? { reasonCode } : {}), ...(comment ? { comment } : {}) });
  state.inFlight.add(sent);
  try {
    const review = await sent;
    finding.review = review;
    finding.reviews = [...(finding.reviews ?? []), review];
    state.amending.delete(finding.id);
    announce(m.saved(decisionText(decision), findingName(finding)), 'ok');
    selectNextUndecided(state, finding);
  } catch (err) {
    state.errors.set(finding.id, m.notSaved(errorText(err)));
    announce(m.notSaved(errorText(err)), 'error');
    throw err;
  } finally {
    state.inFlight.delete(sent);
    state.busy.delete(finding.id);
    if (!state.destroyed) {
      hooks.changed();
      hooks.refreshSoon();
    }
  }
}

export function createReviewActions(state: StudyState, hooks: ReviewHooks): ReviewActions {
  const m = msg();
  // A refusal is already on the finding's card and announced; nothing else waits on it.
  const record = (finding: Finding, decision: Decision, reasonCode?: string, comment?: string) =>
    void decide(state, hooks, finding, decision, reasonCode, comment).catch(() => {});

  const override = (finding: Finding | undefined) => {
    if (!mayDecide(state, finding)) return;
    getReviewReasons().then(
      (items) =>
        openCodePicker({
          title: m.overrideTitle(findingName(finding)),
          testid: 'override-picker',
          subject: m.overrideSubject(percent(finding.probability)),
          items,
          commentRequired: (code) => code === 'other',
          confirmLabel: m.overrideConfirm,
          submit: (code, comment) => record(finding, 'override', code, comment),
        }),
      (err) => announce(m.reasonsFailed(errorText(err)), 'error'),
    );
  };

  const amend = (finding: Finding | undefined) => {
    if (!finding) return announce(m.noFinding, 'error');
    if (!finding.review) return announce(m.notDecided, 'error');
    state.amending.add(finding.id);
    hooks.changed();
    announce(m.amendStarted(findingName(finding)));
  };

  let leaving = false;
  const goNext = async () => {
    if (leaving) return;
    leaving = true;
    try {
      if (state.inFlight.size) announce(m.waiting);
      const settled = await Promise.allSettled([...state.inFlight]);
      if (settled.some((s) => s.status === 'rejected')) return; // the card shows what failed
      const uid = await nextStudy(state.studyInstanceUid);
      if (state.destroyed) return;
      announce(uid ? m.nextOpening : m.lastDone, 'ok');
      state.ctx.navigate(uid ? `#/study/${encodeURIComponent(uid)}` : state.backHref);
    } catch (err) {
      announce(m.nextFailed(errorText(err)), 'error');
    } finally {
      leaving = false;
    }
  };

  return {
    accept: (finding) => record(finding, 'accept'),
    override,
    amend,
    goNext,
  };
}
