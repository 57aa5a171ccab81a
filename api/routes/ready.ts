import { Hono } from 'hono';
import { readiness, type Readiness } from '../../contract/latency.ts';
import { DEGRADATION_STEPS } from '../../queue/degradation.ts';
import type { LatencySnapshot } from '../../pipeline/degradation-controller.ts';
import type { ApiDeps } from '../deps.ts';
import { mount } from '../route.ts';

/** A measurement older than this is not evidence: the controller (or Redis under it) has stopped. */
export const STALE_AFTER_MS = 15_000;

const STEP_TEXT = {
  'shed-shadow': ['shadow-model work is deferred', '影子模型任务已推迟'],
  'skip-low-level-heatmaps': ['shadow work deferred; heatmaps skipped for levels III–IV', '影子任务已推迟；Ⅲ–Ⅳ级不生成热力图'],
  'defer-level-iv': ['shadow work deferred; no heatmaps for III–IV; level IV studies deferred', '影子任务已推迟；Ⅲ–Ⅳ级无热力图；Ⅳ级检查已推迟'],
} as const;

/** What `GET /ready` answers from the degradation controller's last look at the queue (pipeline/degradation-controller.ts). */
export function presentReadiness(snapshot: LatencySnapshot | undefined, now: number): Readiness {
  if (!snapshot) {
    return { status: 'not-ready', reasons: ['the AI queue has not been measured yet'], workers: { alive: 0, active: 0 }, levels: [], degradation: { step: 0, name: 'normal', since: null, reason: 'not measured', pressure: { all: 0, urgent: 0 } }, notice: null, measuredAt: null };
  }
  const { measure, decision, shared } = snapshot;
  const levels = measure.levels.map((l) => ({
    level: l.level,
    targetMinutes: l.targetMs / 60_000,
    waiting: l.waiting,
    delayed: l.delayed,
    oldestWaitingSeconds: l.oldestWaitingMs === null ? null : Math.round(l.oldestWaitingMs / 100) / 10,
    breaching: l.oldestWaitingMs !== null && l.oldestWaitingMs > l.targetMs,
  }));
  const breaching = levels.filter((l) => l.breaching);
  const reasons = [
    ...(measure.workers === 0 ? ['no read-assist worker is connected'] : []),
    ...breaching.map((l) => `level ${l.level}: oldest waiting ${l.oldestWaitingSeconds} s, past its ${l.targetMinutes} min target`),
    ...(now - measure.at > STALE_AFTER_MS ? [`the AI queue was last measured ${Math.round((now - measure.at) / 1000)} s ago`] : []),
  ];
  const name = DEGRADATION_STEPS[shared.step];
  const notices = [
    ...(name === 'normal' ? [] : [[`AI degraded: ${STEP_TEXT[name][0]}`, `AI降级运行：${STEP_TEXT[name][1]}`]]),
    ...breaching.map((l) => [`level ${l.level} AI results past target`, `${l.level}级AI结果超时`]),
    ...(measure.workers === 0 ? [['no AI worker running', '无AI工作进程运行']] : []),
  ];
  return {
    status: reasons.length ? 'not-ready' : 'ready',
    reasons,
    workers: { alive: measure.workers, active: measure.active },
    levels,
    degradation: { step: shared.step, name, since: shared.since ? new Date(shared.since).toISOString() : null, reason: decision.reason, pressure: decision.pressure },
    notice: notices.length ? { text: notices.map((n) => n[0]).join('; '), textZh: notices.map((n) => n[1]).join('；') } : null,
    measuredAt: new Date(measure.at).toISOString(),
  };
}

/**
 * `GET /ready`: whether read-assist workers are alive and every triage level's AI work is within its
 * target (200), or what is not (503), with the queue per level and the degradation step. Public like
 * `/health` (a load balancer or orchestrator asks it); it names no study and no patient. It reads
 * the controller's last measurement rather than measuring, so a probe storm costs Redis nothing.
 */
export function readyRoutes(deps: ApiDeps) {
  const app = new Hono();
  mount(app, {
    method: 'get', path: '/ready', operationId: 'getReadiness', access: 'public', tag: 'system',
    summary: 'Readiness of the AI pipeline: workers alive, each triage level within its AI result target, the degradation step',
    responses: { 200: { description: 'Ready.', json: readiness }, 503: { description: 'Not ready: the reasons are named.', json: readiness } },
  }, (c) => {
    const body = presentReadiness(deps.latency?.snapshot(), Date.now());
    return c.json(body, body.status === 'ready' ? 200 : 503);
  });
  return app;
}
