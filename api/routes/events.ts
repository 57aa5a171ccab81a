import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { consultationEvent, type ConsultationEvent } from '../../contract/consultations.ts';
import { studyChange, type StudyChange } from '../../contract/studies.ts';
import type { ApiDeps } from '../deps.ts';
import { componentRef, mount } from '../route.ts';
import { ACCESS } from '../access.ts';
import { whenSignInEnds } from '../auth.ts';

/** A comment line this often keeps idle proxies and load balancers from closing the stream. */
const HEARTBEAT_MS = 15_000;
/** Studies whose site is remembered; a study never changes site, so entries never go stale. */
const SITE_CACHE_ENTRIES = 10_000;

/** The site of a study, looked up once per API process: every listener asks for every change. */
function studySites(store: ApiDeps['store']) {
  const known = new Map<string, Promise<string | undefined>>();
  return (studyInstanceUid: string) => {
    let site = known.get(studyInstanceUid);
    if (!site) {
      site = store.studySite(studyInstanceUid);
      known.set(studyInstanceUid, site);
      site.then((found) => found ?? known.delete(studyInstanceUid), () => known.delete(studyInstanceUid));
      if (known.size > SITE_CACHE_ENTRIES) known.delete(known.keys().next().value!);
    }
    return site;
  };
}

/**
 * `GET /v1/events`: Server-Sent Events, one `study` event (data `{ studyInstanceUid, change }`)
 * per committed change to a study of the user's sites, a `consultation` event (data
 * `{ type: 'consultation', id, change }`) per step of a case asked by or of one of them, a
 * `: heartbeat` comment every 15 s. Events carry no clinical content: a client re-fetches what
 * it shows. A client that goes away is unsubscribed.
 */
export function eventRoutes(deps: ApiDeps) {
  const app = new Hono();
  const siteOf = studySites(deps.store);
  mount(app, {
    method: 'get', path: '/v1/events', operationId: 'streamStudyEvents', access: ACCESS.patientData, tag: 'studies',
    summary: 'Server-Sent Events: one `study` event per committed change to a study',
    description: 'Each `study` event\'s data is a StudyChange (`{ studyInstanceUid, change }`); each `consultation` event\'s a ConsultationEvent (`{ type: "consultation", id, change }`: asked, opened, answered, withdrawn) for a case whose asking or answering site is the user\'s; a `: heartbeat` comment comes every 15 s. Events carry no clinical content: a client re-fetches what it shows.',
    responses: { 200: { description: 'An event stream, open until the client leaves or its sign-in ends (at expiry and at a sign-out in this process at once; an idle timeout, revoked token or disabled user within 15 s), which a last `signed-out` event (data `{ reason: "expired" | "signed-out" }`) announces.', media: { type: 'text/event-stream', schema: { type: 'string', contentMediaType: 'text/event-stream', 'x-event-data': { oneOf: [componentRef(studyChange), componentRef(consultationEvent)] } } } } },
  }, (c, { auth }) => {
    // nginx and similar buffer responses unless told not to; a buffered stream is no stream.
    c.header('X-Accel-Buffering', 'no');
    return streamSSE(c, async (stream) => {
      const unsubscribe = deps.events.subscribe((change) => {
        void siteOf(change.studyInstanceUid).then((site) => {
          if (site === undefined || !auth.scope.includes(site)) return;
          return stream.writeSSE({ event: 'study', data: JSON.stringify({ studyInstanceUid: change.studyInstanceUid, change: change.change } satisfies StudyChange) });
        }).catch(() => undefined); // a lost event is made good by the viewer's poll
      });
      const unsubscribeConsultations = deps.events.subscribeConsultations((change) => {
        if (!auth.scope.includes(change.fromSiteId) && !auth.scope.includes(change.toSiteId)) return;
        void stream.writeSSE({ event: 'consultation', data: JSON.stringify({ type: change.type, id: change.id, change: change.change } satisfies ConsultationEvent) }).catch(() => undefined);
      });
      const heartbeat = setInterval(() => void stream.write(': heartbeat\n\n'), HEARTBEAT_MS);
      const closed = new Promise<void>((resolve) => stream.onAbort(resolve));
      const signIn = whenSignInEnds(auth, HEARTBEAT_MS);
      try {
        // Sends the headers now, so the client's `open` fires before the first change.
        await stream.write(': connected\n\n');
        const ended = await Promise.race([closed.then(() => undefined), signIn.ended]);
        // Said before the stream ends, so the viewer asks the user to sign in instead of reconnecting into a 401.
        if (ended) await stream.writeSSE({ event: 'signed-out', data: JSON.stringify({ reason: ended }) });
      } finally {
        signIn.stop();
        clearInterval(heartbeat);
        unsubscribe();
        unsubscribeConsultations();
      }
    });
  });
  return app;
}
