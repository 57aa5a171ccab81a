/**
 * A study some of whose images AI did not analyse because of the patient's consent (or the
 * site's consent policy): said in the worklist row and the study view where findings would be,
 * so an empty findings list is never read as a normal result. The text comes from the API in
 * both languages (contract/consent.ts).
 */
import type { StudySummary } from './api.ts';
import { h } from './dom.ts';
import { clinical } from './i18n.ts';

type AiWithheld = NonNullable<StudySummary['aiWithheld']>;

/** `kind` chip: inside a worklist row; banner: under the study's head. */
export function aiWithheldNotice(notice: AiWithheld, kind: 'chip' | 'banner'): HTMLElement {
  return h(
    kind === 'chip' ? 'span' : 'div',
    { class: kind === 'chip' ? 'chip chip-withheld' : 'banner banner-withheld', testid: 'ai-withheld', 'data-code': notice.code, role: kind === 'banner' ? 'status' : undefined },
    clinical(notice.reason, notice.reasonZh),
  );
}
