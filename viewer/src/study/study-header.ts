/**
 * The study's head: patient, description, priority, status, the waiting clock against
 * its reading target and why it was triaged so, with why consent kept AI from its images and
 * any processing failures under it.
 * Re-rendered on every server change and on every clock tick.
 */
import { aiWithheldNotice } from '../ai-withheld.ts';
import type { StudyDetail } from '../api.ts';
import { h, replaceChildren } from '../dom.ts';
import { dicomDate, num, personName, priorityBand } from '../format.ts';
import { clinical } from '../i18n.ts';
import { slaView } from '../worklist/sla-clock.ts';
import { studyVitalsLink } from '../patients/study-link.ts';
import { msg } from './messages.ts';
import type { StudyState } from './state.ts';

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

export interface StudyHead {
  element: HTMLElement;
  render(): void;
}

export function createStudyHead(state: StudyState): StudyHead {
  const element = h('div', {});
  let vitalsLink: { studyInstanceUid: string; element: () => HTMLElement | null } | undefined;
  const render = () => {
    const detail = state.detail;
    if (!detail) return;
    const uid = detail.study.studyInstanceUid;
    if (vitalsLink?.studyInstanceUid !== uid) vitalsLink = { studyInstanceUid: uid, element: studyVitalsLink(uid, render) };
    replaceChildren(
      element,
      studyHeader(detail, state.backHref),
      vitalsLink.element(),
      detail.study.aiWithheld ? aiWithheldNotice(detail.study.aiWithheld, 'banner') : null,
      detail.errors.length
        ? h('div', { class: 'banner banner-error' }, detail.errors.map((e) => h('div', { testid: 'study-error' }, h('code', {}, e.code), ' ', e.message)))
        : null,
    );
  };
  return { element, render };
}
