/**
 * "Ask for a consultation": from the study view and from a hints answer, a dialog that
 * names the answering site (one that reads for the asker's site), the question, the urgency
 * and the patient's informed consent (required: 远程医疗服务管理规范). Once the server has the
 * case, the asker lands on it and sees the answer arrive there.
 */
import { getSites, type Site } from '../api.ts';
import { h, replaceChildren } from '../dom.ts';
import { errorText } from '../error-text.ts';
import type { AppContext } from '../main.ts';
import { openModal } from '../modal.ts';
import { askConsultation, type ConsultationSubject, type ConsultationUrgency } from './api.ts';
import { msg, URGENCIES } from './messages.ts';
import './consultations.css';

/** The sites that may answer `fromSite`: those that read for it (the server refuses any other). */
const answeringSites = (sites: Site[], fromSite: string): Site[] => sites.filter((s) => s.readsFor.includes(fromSite));

const siteLabel = (s: Site) => `${s.name} (${msg().siteLevel(s.level)})`;

function label(forId: string, text: string): HTMLLabelElement {
  return h('label', { for: forId }, text);
}

/** The dialog's form; `subject` is what the consultant will see, taken when the dialog opens. */
function askForm(ctx: AppContext, subject: ConsultationSubject, fromSiteId: string | undefined, close: () => void): HTMLFormElement {
  const m = msg();
  const fromSite = fromSiteId ?? ctx.user().sites[0];
  const site = h('select', { id: 'ask-site', testid: 'ask-site', required: true }, h('option', { value: '' }, m.loading));
  const question = h('textarea', { id: 'ask-question', testid: 'ask-question', rows: 4, maxlength: 4000, required: true, placeholder: m.questionPlaceholder });
  const urgency = h('select', { id: 'ask-urgency', testid: 'ask-urgency' }, URGENCIES.map((u) => h('option', { value: u }, m.urgency(u))));
  const patientId = subject.kind === 'assessment' ? h('input', { id: 'ask-patient-id', testid: 'ask-patient-id', type: 'text', maxlength: 64, autocomplete: 'off' }) : null;
  const consent = h('input', { id: 'ask-consent', testid: 'ask-consent', type: 'checkbox' });
  const error = h('p', { class: 'error', role: 'alert', testid: 'ask-error', hidden: true });
  const send = h('button', { type: 'submit', class: 'primary', testid: 'ask-send' }, m.send);
  const fail = (text: string, focus?: HTMLElement) => {
    error.textContent = text;
    error.hidden = false;
    focus?.focus();
  };

  getSites().then((sites) => {
    const choices = answeringSites(sites, fromSite);
    replaceChildren(site, choices.map((s) => h('option', { value: s.id }, siteLabel(s))));
    if (!choices.length) {
      send.disabled = true;
      fail(m.noReader);
    }
  }, (err: unknown) => fail(m.failed(errorText(err))));

  const form = h(
    'form',
    { class: 'ask-form', novalidate: true },
    h('p', { class: 'muted small' }, m.askSubject(subject.kind)),
    label('ask-site', m.toSite), site,
    label('ask-question', m.question), question,
    label('ask-urgency', m.urgencyLabel), urgency,
    patientId && [label('ask-patient-id', m.patientId), patientId],
    h('label', { class: 'ask-consent', for: 'ask-consent' }, consent, h('span', {}, m.consent)),
    error,
    h('div', { class: 'dialog-actions row-actions' }, h('button', { type: 'button', testid: 'ask-cancel', onclick: close }, m.cancel), send),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.hidden = true;
    if (!question.value.trim()) return fail(m.questionNeeded, question);
    if (!consent.checked) return fail(m.consentNeeded, consent);
    const withPatient = subject.kind === 'assessment' && patientId?.value.trim() ? { ...subject, patientId: patientId.value.trim() } : subject;
    send.disabled = true;
    send.textContent = m.sending;
    askConsultation({ toSiteId: site.value, ...(fromSiteId ? { fromSiteId } : {}), subject: withPatient, question: question.value.trim(), urgency: urgency.value as ConsultationUrgency, patientConsented: true }).then(
      (asked) => {
        close();
        ctx.navigate(`#/consultations/${encodeURIComponent(asked.id)}`);
      },
      (err: unknown) => {
        send.disabled = false;
        send.textContent = m.send;
        fail(m.failed(errorText(err)));
      },
    );
  });
  return form;
}

/**
 * Opens the dialog about `subject()`, read at the click: what the user sees then is what the
 * consultant gets. `fromSiteId` asks from that one of the user's sites (a study's own site);
 * without it the server files the case under the user's first site.
 */
export function askConsultationButton(ctx: AppContext, subject: () => ConsultationSubject, fromSiteId?: string): HTMLButtonElement {
  const m = msg();
  return h('button', {
    type: 'button',
    testid: 'ask-consultation',
    onclick: () => {
      const about = subject();
      openModal({ title: m.askTitle, testid: 'ask-dialog', className: 'dialog-wide', body: (close) => askForm(ctx, about, fromSiteId, close), initialFocus: () => document.getElementById('ask-question') });
    },
  }, m.ask);
}
