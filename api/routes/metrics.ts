import { Hono } from 'hono';
import { ACCESS } from '../access.ts';
import type { ApiDeps } from '../deps.ts';
import { mergeExpositions, PROMETHEUS_CONTENT_TYPE, queueExposition, QUEUE_SCRAPE_WAIT_MS, type ApiMetrics } from '../metrics.ts';
import { mount } from '../route.ts';

/**
 * `GET /metrics` for Prometheus (docs/operations.md "Metrics"): this process's metrics, the
 * models' from the results it stored, the queues' from Redis, and each model version's drift score. Not on the rate limiter's
 * expensive list — a scrape every few seconds is its normal use — but bounded all the same:
 * scrapes that arrive while one is being collected share its answer, Redis gets at most
 * `QUEUE_SCRAPE_WAIT_MS`, and every label's values come from a fixed set (routes, models, stages).
 */
export function metricsRoutes(deps: ApiDeps & { metrics: ApiMetrics }) {
  const app = new Hono();
  let inFlight: Promise<string> | undefined;
  const collect = async () => mergeExpositions(await Promise.all([
    deps.metrics.registry.metrics(),
    queueExposition(deps, deps.metrics),
    // Drift comes from the database; a failure leaves it out of this scrape rather than failing the rest.
    deps.metrics.drift().catch(() => ''),
  ]));

  mount(app, {
    method: 'get', path: '/metrics', operationId: 'getMetrics', access: ACCESS.metrics, tag: 'system',
    summary: 'Prometheus metrics: models (jobs, findings, stage latency), queues, HTTP, the API process',
    description: `Text exposition format 0.0.4. A scraper signs in with a bearer token (POST /v1/tokens) of an account holding one of the roles allowed. Queue counts wait at most ${QUEUE_SCRAPE_WAIT_MS} ms for Redis; \`lantern_queue_metrics_up\` says whether they came.`,
    responses: { 200: { description: 'The metrics.', media: { type: PROMETHEUS_CONTENT_TYPE } } },
  }, async (c) => {
    inFlight ??= collect().finally(() => { inFlight = undefined; });
    return c.body(await inFlight, 200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
  });
  return app;
}
