/**
 * The patient's consent, in the study view: whether AI analysis and sharing outside the site
 * are allowed for this patient here (the site's policy and the patient's decision), and a form
 * to record the patient's decision. Read when opened, not with every refresh: a clinician asks
 * when the patient says so. A refusal of AI stops the images still waiting; the study then
 * changes and the live stream re-renders it with its notice.
 */
import { lookupConsent, recordConsent, type ConsentPurpose, type PatientConsent, type StudySummary } from '../api.ts';
import { h, replaceChildren } from '../dom.ts';
import { errorText } from '../error-text.ts';
import { defineMessages } from '../i18n.ts';

const msg = defineMessages({
  en: {
    title: 'Patient consent',
    noPatientId: 'This study has no Patient ID: the site\'s policy decides.',
    purposes: (p: ConsentPurpose) => ({ 'ai-processing': 'AI analysis', sharing: 'Sharing outside this site' })[p],
    allowed: 'allowed',
    withheld: 'not allowed',
    basis: (decision: string | undefined, policy: string) => (decision
      ? `the patient ${decision === 'granted' ? 'agreed' : 'refused'}`
      : `site policy: ${policy === 'opt-in' ? 'only with consent' : 'unless the patient refuses'}`),
    decision: (d: 'granted' | 'refused') => ({ granted: 'Agrees', refused: 'Refuses' })[d],
    note: 'Where the decision comes from (form, HIS)',
    record: 'Record',
    failed: (detail: string) => `Not recorded — ${detail}`,
    loading: 'Loading…',
  },
  zh: {
    title: '患者同意',
    noPatientId: '此检查没有患者 ID：由本机构政策决定。',
    purposes: (p: ConsentPurpose) => ({ 'ai-processing': 'AI 分析', sharing: '向本机构以外共享' })[p],
    allowed: '允许',
    withheld: '不允许',
    basis: (decision: string | undefined, policy: string) => (decision
      ? `患者${decision === 'granted' ? '同意' : '拒绝'}`
      : `机构政策：${policy === 'opt-in' ? '仅在同意后' : '除非患者拒绝'}`),
    decision: (d: 'granted' | 'refused') => ({ granted: '同意', refused: '拒绝' })[d],
    note: '决定来源（表格、HIS）',
    record: '记录',
    failed: (detail: string) => `未记录 — ${detail}`,
    loading: '加载中…',
  },
});

function stateList(consent: PatientConsent): HTMLElement {
  const m = msg();
  return h('ul', { class: 'consent-state', testid: 'consent-state' }, consent.purposes.map((p) => h(
    'li',
    { 'data-purpose': p.purpose, 'data-allowed': String(p.allowed) },
    `${m.purposes(p.purpose)}: ${p.allowed ? m.allowed : m.withheld} (${m.basis(p.decision?.decision, p.policy)})`,
  )));
}

export function consentPanel(study: Pick<StudySummary, 'patientId' | 'siteId'>): HTMLElement {
  const m = msg();
  const body = h('div', {}, m.loading);
  const details = h('details', { class: 'consent-panel', testid: 'consent-panel' }, h('summary', {}, m.title), body);
  const patientId = study.patientId?.trim();
  if (!patientId) {
    replaceChildren(body, h('p', { class: 'muted small' }, m.noPatientId));
    return details;
  }
  const who = { siteId: study.siteId, patientId };
  const state = h('div', {});
  const error = h('p', { class: 'error', role: 'alert', hidden: true, testid: 'consent-error' });
  const choice = <T extends string>(id: string, options: [T, string][]) => h('select', { testid: id }, options.map(([value, text]) => h('option', { value }, text)));
  const purpose = choice<ConsentPurpose>('consent-purpose', [['ai-processing', m.purposes('ai-processing')], ['sharing', m.purposes('sharing')]]);
  const decision = choice<'granted' | 'refused'>('consent-decision', [['refused', m.decision('refused')], ['granted', m.decision('granted')]]);
  const note = h('input', { type: 'text', maxlength: 500, placeholder: m.note, 'aria-label': m.note, testid: 'consent-note' });
  const show = (consent: PatientConsent) => replaceChildren(state, stateList(consent));
  const form = h('form', { class: 'row-actions' }, purpose, decision, note, h('button', { type: 'submit', testid: 'consent-record' }, m.record));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.hidden = true;
    recordConsent({ ...who, purpose: purpose.value as ConsentPurpose, decision: decision.value as 'granted' | 'refused', ...(note.value.trim() ? { note: note.value.trim() } : {}) })
      .then(show, (err: unknown) => {
        error.textContent = m.failed(errorText(err));
        error.hidden = false;
      });
  });
  let asked = false;
  details.addEventListener('toggle', () => {
    if (!details.open || asked) return;
    asked = true;
    lookupConsent(who).then(show, (err: unknown) => replaceChildren(state, h('p', { class: 'error' }, errorText(err))));
  });
  replaceChildren(body, state, form, error);
  return details;
}
