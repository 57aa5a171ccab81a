import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { studyChange, type StudyChange } from '../../contract/studies.ts';
import type { ApiDeps } from '../deps.ts';
import { componentRef, mount } from '../route.ts';
import { ACCESS } from '../access.ts';

/** A comment line this often keeps idle proxies and load balancers from closing the stream. */
const HEARTBEAT_MS = 15_000;

/**
 * `GET /v1/events`: Server-Sent Events, one `study` event (data `{ studyInstanceUid, change }`)
 * per committed change, a `: heartbeat` comment every 15 s. Events carry no clinical
 * content: a client re-fetches what it shows. A client that goes away is unsubscribed.
 */
export function eventRoutes(deps: ApiDeps) {
  const app = new Hono();
  mount(app, {
    method: 'get', path: '/v1/events', operationId: 'streamStudyEvents', access: ACCESS.patientData, tag: 'studies',
    summary: 'Server-Sent Events: one `study` event per committed change to a study',
    description: 'Each event\'s data is a StudyChange (`{ studyInstanceUid, change }`); a `: heartbeat` comment comes every 15 s. Events carry no clinical content: a client re-fetches what it shows.',
    responses: { 200: { description: 'An endless event stream.', media: { type: 'text/event-stream', schema: { type: 'string', contentMediaType: 'text/event-stream', 'x-event-data': componentRef(studyChange) } } } },
  }, (c) => {
    // nginx and similar buffer responses unless told not to; a buffered stream is no stream.
    c.header('X-Accel-Buffering', 'no');
    return streamSSE(c, async (stream) => {
      const unsubscribe = deps.events.subscribe((change) => {
        void stream.writeSSE({ event: 'study', data: JSON.stringify({ studyInstanceUid: change.studyInstanceUid, change: change.change } satisfies StudyChange) });
      });
      const heartbeat = setInterval(() => void stream.write(': heartbeat\n\n'), HEARTBEAT_MS);
      const closed = new Promise<void>((resolve) => stream.onAbort(resolve));
      try {
        // Sends the headers now, so the client's `open` fires before the first change.
        await stream.write(': connected\n\n');
        await closed;
      } finally {
        clearInterval(heartbeat);
        unsubscribe();
      }
    });
  });
  return app;
}
