/**
 * The worklist's strip of open home vital-sign alerts, above the studies: patient, level,
 * NEWS2, reason, time, a link to the patient's trend and an acknowledge button. It reloads
 * when the worklist hears of a change and every minute (an alert can arrive for a patient
 * with no study, which no study event announces).
 */
import { h, replaceChildren } from '../dom.ts';
import { dateTime, personName } from '../format.ts';
import { clinical } from '../i18n.ts';
import { acknowledgeVitalAlert, listVitalAlerts, type VitalAlert } from './api.ts';
import { msg } from './messages.ts';
import './patients.css';

/** How often the strip asks for alerts on its own. */
export const ALERT_POLL_MS = 60_000;
/** A burst of study events (a re-triage touches every recent study of the patient) is one reload. */
export const ALERT_DEBOUNCE_MS = 500;

export function createAlertStrip(signal: AbortSignal): { element: HTMLElement; load(): Promise<void> } {
  const element = h('section', { class: 'vital-alert-strip', testid: 'vital-alert-strip', hidden: true, 'aria-live': 'polite' });

  async function load(): Promise<void> {
    let alerts: VitalAlert[];
    try {
      alerts = await listVitalAlerts('open', signal);
    } catch {
      return; // The worklist's own banner reports an unreachable server; the strip keeps what it showed.
    }
    if (signal.aborted) return;
    element.hidden = alerts.length === 0;
    const m = msg();
    replaceChildren(
      element,
      h('h2', {}, m.stripTitle, ' ', h('span', { class: 'muted small' }, `(${alerts.length})`)),
      // NEWS2 is a published score, not a model: said as the card says it, beside every alert.
      alerts.length ? h('p', { class: 'muted small' }, h('span', { class: 'chip-ai' }, 'NEWS2'), ' ', m.aiNote(alerts[0].aiAssisted)) : null,
      h('ul', {}, alerts.map((a) => row(a))),
    );
  }

  function row(a: VitalAlert): HTMLElement {
    const m = msg();
    const ack = h('button', { type: 'button', testid: 'vital-alert-ack' }, m.acknowledge);
    ack.addEventListener('click', () => {
      ack.disabled = true;
      acknowledgeVitalAlert(a.id).then(() => load(), () => {
        ack.disabled = false;
        ack.title = m.acknowledgeFailed;
      });
    });
    return h('li', { class: `vital-alert level-${a.level}`, testid: 'vital-alert', 'data-alert-id': a.id },
      h('span', { class: `badge alert-badge alert-${a.level}` }, m.level(a.level)),
      h('a', { href: `#/patients/${a.patientKey}`, testid: 'vital-alert-link' }, a.patientName ? personName(a.patientName) : a.patientId),
      h('strong', {}, `NEWS2 ${a.score}`),
      h('span', { class: 'reason' }, a.reasons.map((r) => clinical(r.text, r.textZh)).join('; ')),
      h('span', { class: 'muted small' }, dateTime(a.at)),
      h('a', { href: `#/patients/${a.patientKey}`, class: 'small' }, m.trend),
      ack);
  }

  return { element, load };
}
