/**
 * The admin's notice on the worklist head while the AI pipeline is degraded or a triage level's AI
 * results are past their target (GET /ready's `notice`, in both languages). Readiness answers 503
 * when not ready, with the same body: both are read. Admins only: a reader's rows already say
 * "AI delayed" where it matters to them.
 */
import type { Readiness } from '../../../contract/latency.ts';
import { url } from '../api.ts';
import { h, replaceChildren } from '../dom.ts';
import { clinical } from '../i18n.ts';

/** Readiness is measured every few seconds by the server; a notice a quarter of a minute late is soon enough. */
export const AI_NOTICE_POLL_MS = 15_000;

export function createAiNotice(signal: AbortSignal) {
  const element = h('div', { class: 'ai-notice', testid: 'ai-notice', role: 'status', hidden: '' });
  async function load() {
    const body = await fetch(url('/ready'), { signal }).then((r) => r.json() as Promise<Readiness>).catch(() => undefined);
    if (!body?.notice) {
      element.setAttribute('hidden', '');
      replaceChildren(element);
      return;
    }
    element.removeAttribute('hidden');
    replaceChildren(element, clinical(body.notice.text, body.notice.textZh));
  }
  return { element, load };
}
