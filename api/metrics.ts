import type { Queue } from 'bullmq';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { checkPolicy } from '../inference/triage-policy/policy.ts';
import { bullmqPriority } from '../queue/jobs.ts';
import { createModelMetrics, type ModelMetrics } from '../pipeline/model-metrics.ts';
import { workerMetricsExposition } from '../pipeline/worker-metrics.ts';
import type { ApiDeps } from './deps.ts';

/** The text exposition format Prometheus scrapes (prom-client's own constant carries the same). */
export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** From a health probe (~1 ms) to a large STOW-RS upload or a CSV export (seconds). */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** How long a scrape waits for Redis's queue counts before it answers without them. */
export const QUEUE_SCRAPE_WAIT_MS = 1000;
/**
 * How long drift scores are reused between scrapes: computing them reads every model's
 * observations from the database, and they move only when a window of 200 inferences completes.
 */
export const DRIFT_SCORES_TTL_MS = 60_000;

/** The current drift per model version (pipeline/model-drift.ts `currentScores`): PSI of the latest complete window, null before one. */
export type DriftScores = () => Promise<Array<{ modelId: string; version: string; psi: number | null; byQuantity: Record<string, number | null> }>>;

export interface ApiMetrics {
  registry: Registry;
  /** Per model and version, from the results this process stores (pipeline/model-metrics.ts). */
  models: ModelMetrics;
  /** Times every request: `app.use('*', metrics.http)` first, so refusals are timed too. */
  http: MiddlewareHandler;
  /** The queues whose depth is exported (BullMQ's own exposition), beside the read-assist queue. */
  queues: readonly Queue[];
  /** The drift gauges' exposition, from scores at most `DRIFT_SCORES_TTL_MS` old; empty without a drift monitor. */
  drift(): Promise<string>;
}

/**
 * The API process's metrics. `processMetrics` adds prom-client's default metrics (event-loop
 * lag, memory, CPU, handles) — for the API role, once per process; a route test leaves them
 * out, as each would start another event-loop monitor that is never stopped.
 */
export function createApiMetrics(options: { processMetrics?: boolean; queues?: readonly Queue[]; driftScores?: DriftScores } = {}): ApiMetrics {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'lantern_http_request_duration_seconds', help: 'HTTP requests by method, route pattern (never a UID) and status class, until the answer\'s headers.',
    labelNames: ['method', 'route', 'status_class'] as const, buckets: HTTP_BUCKETS, registers: [registry],
  });
  const http: MiddlewareHandler = async (c, next) => {
    const start = performance.now();
    try {
      await next();
    } finally {
      // The pattern of the handler that answered (a middleware's `*` when one refused first): bounded, and no path parameter in it.
      duration.observe({
        method: METHODS.has(c.req.method) ? c.req.method : 'OTHER',
        route: routePath(c) || 'unmatched',
        status_class: `${Math.floor((c.res?.status ?? 500) / 100)}xx`,
      }, (performance.now() - start) / 1000);
    }
  };
  return { registry, models: createModelMetrics(registry), http, queues: options.queues ?? [], drift: options.driftScores ? cachedDrift(options.driftScores) : async () => '' };
}

/** Drift scores as gauges, recomputed at most once per `DRIFT_SCORES_TTL_MS` (and once for scrapes that arrive together). */
function cachedDrift(scores: DriftScores): () => Promise<string> {
  let cached: { at: number; text: Promise<string> } | undefined;
  const expose = async () => {
    const registry = new Registry();
    const score = new Gauge({
      name: 'lantern_model_drift_score', help: 'A model version\'s drift: the largest PSI over its monitored quantities in its latest complete window (0.1 moderate, 0.25 drift; docs/models.md "Drift").',
      labelNames: ['model', 'version'] as const, registers: [registry],
    });
    const psi = new Gauge({
      name: 'lantern_model_drift_psi', help: 'PSI of one monitored quantity of a model version in its latest complete window, against the version\'s reference.',
      labelNames: ['model', 'version', 'quantity'] as const, registers: [registry],
    });
    for (const s of await scores()) {
      if (s.psi !== null) score.set({ model: s.modelId, version: s.version }, s.psi);
      for (const [quantity, value] of Object.entries(s.byQuantity)) if (value !== null) psi.set({ model: s.modelId, version: s.version, quantity }, value);
    }
    return registry.metrics();
  };
  return () => {
    if (!cached || Date.now() - cached.at > DRIFT_SCORES_TTL_MS) {
      const text = expose();
      cached = { at: Date.now(), text };
      // A failed read is not kept: the next scrape tries again.
      text.catch(() => { if (cached?.text === text) cached = undefined; });
    }
    return cached.text;
  };
}

/**
 * Waiting read-assist jobs per triage level: BullMQ orders by a priority derived from the
 * study's triage priority (queue/jobs.ts), so each level's range of triage priority is a range of
 * BullMQ priorities, counted with BullMQ's `getCountsPerPriority`. A level's range is
 * [low, high) — the most urgent closed — so a study exactly on a boundary counts in the more
 * urgent level; waiting jobs at priorities outside every range (none today) count as `other`.
 */
async function waitingByLevel(queue: Queue, registry: ApiDeps['registry']): Promise<Record<string, number>> {
  const levels = checkPolicy(registry.triagePolicy.card).levels;
  const levelOf = new Map<number, string>();
  // Least urgent first (the card's order), so a more urgent level overwrites a shared boundary.
  for (const { level, priority: [low, high] } of levels) {
    for (let p = bullmqPriority(high); p <= bullmqPriority(low); p++) levelOf.set(p, level);
  }
  const [counts, states] = await Promise.all([queue.getCountsPerPriority([...levelOf.keys()]), queue.getJobCounts('waiting', 'prioritized')]);
  const waiting: Record<string, number> = Object.fromEntries(levels.map((l) => [l.level, 0]));
  let counted = 0;
  for (const [priority, count] of Object.entries(counts)) {
    waiting[levelOf.get(Number(priority))!] += count;
    counted += count;
  }
  waiting.other = Math.max(0, (states.waiting ?? 0) + (states.prioritized ?? 0) - counted);
  return waiting;
}

/**
 * The Redis part of a scrape: BullMQ's own exposition of each queue (jobs by state, completed
 * and failed totals), the read-assist queue's waiting jobs per triage level, and the worker
 * processes' own metrics (pipeline/worker-metrics.ts), within `QUEUE_SCRAPE_WAIT_MS`; without
 * them (Redis away or slow), `lantern_queue_metrics_up` says 0.
 */
export async function queueExposition(deps: Pick<ApiDeps, 'readAssist' | 'registry' | 'redis' | 'config'>, metrics: ApiMetrics): Promise<string> {
  const registry = new Registry();
  const up = new Gauge({ name: 'lantern_queue_metrics_up', help: 'Whether the queue counts below were read from Redis in time for this scrape (1) or are missing (0).', registers: [registry] });
  const byLevel = new Gauge({
    name: 'lantern_read_assist_waiting_jobs', help: 'Read-assist jobs waiting for a worker, by the triage level of their priority.',
    labelNames: ['level'] as const, registers: [registry],
  });
  const queues = [deps.readAssist.queue, ...metrics.queues];
  const work = Promise.all([
    Promise.all(queues.map((q) => q.exportPrometheusMetrics())),
    waitingByLevel(deps.readAssist.queue, deps.registry),
    workerMetricsExposition(deps.redis, deps.config.queuePrefix ?? 'lantern'),
  ]);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => { timer = setTimeout(resolve, QUEUE_SCRAPE_WAIT_MS, undefined); });
  const answer = await Promise.race([work.catch(() => undefined), late]).finally(() => clearTimeout(timer));
  up.set(answer ? 1 : 0);
  if (!answer) return registry.metrics();
  const [bullmq, waiting, workers] = answer;
  for (const [level, count] of Object.entries(waiting)) byLevel.set({ level }, count);
  return mergeExpositions([...bullmq, await registry.metrics(), workers]);
}

/**
 * Several text expositions as one: a metric family (its HELP, TYPE and samples) may appear
 * once only, and BullMQ writes its families again for every queue. Also drops the space BullMQ
 * puts after a label's comma, which Prometheus accepts but stricter parsers do not.
 */
export function mergeExpositions(texts: readonly string[]): string {
  const families = new Map<string, { meta: string[]; samples: string[] }>();
  let current = '';
  const family = (name: string) => {
    const found = families.get(name) ?? { meta: [], samples: [] };
    families.set(name, found);
    return found;
  };
  for (const line of texts.flatMap((text) => text.split('\n'))) {
    const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
    if (meta) {
      current = meta[2];
      const { meta: lines } = family(current);
      if (!lines.some((m) => m.startsWith(`# ${meta[1]} `))) lines.push(line);
    } else if (line.trim() && !line.startsWith('#')) {
      // A histogram's or summary's samples (`_bucket`, `_sum`, `_count`) belong to the family declared above them.
      const name = line.split(/[{ ]/)[0];
      family(current && name.startsWith(current) ? current : name).samples.push(line.replace(/",\s+(?=[a-zA-Z_]\w*=")/g, '",'));
    }
  }
  return [...families.values()].map((f) => [...f.meta, ...f.samples].join('\n')).join('\n') + '\n';
}
