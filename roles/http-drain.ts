import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/**
 * Stopping an HTTP server without cutting a request in half: it stops accepting
 * connections, lets the requests in flight finish (an upload being stored, say) for up
 * to `graceMs`, then closes every connection. Long-lived requests (`longLived`, the event
 * stream) are not waited for: they never finish by themselves.
 */
export function drainableServer(server: Server, longLived: (request: IncomingMessage) => boolean) {
  const inFlight = new Set<ServerResponse>();
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (longLived(request)) return;
    inFlight.add(response);
    response.once('close', () => inFlight.delete(response));
  });
  let closing: Promise<void> | undefined;
  return {
    close(graceMs: number): Promise<void> {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        for (const until = Date.now() + graceMs; inFlight.size > 0 && Date.now() < until;) await new Promise((resolve) => setTimeout(resolve, 20));
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}
