import { h } from '../dom.ts';
import { getStudyHomeVitals } from './api.ts';
import { msg } from './messages.ts';

/**
 * The study view's link to its patient's home trend: empty until the server says the patient has
 * home readings, then a link to `#/patients/<patientKey>`. Asked once per study shown.
 */
export function studyVitalsLink(studyInstanceUid: string, onReady: () => void): () => HTMLElement | null {
  let link: HTMLElement | null = null;
  getStudyHomeVitals(studyInstanceUid).then((found) => {
    if (!found.hasVitals || !found.patientKey) return;
    link = h('a', { href: `#/patients/${found.patientKey}`, class: 'small', testid: 'study-vitals-link' }, msg().studyLink);
    onReady();
  }, () => undefined); // The server away: the study view shows no link.
  return () => link;
}
