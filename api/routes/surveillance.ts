import { Hono } from 'hono';
import {
  surveillanceAcknowledgeRequest, surveillanceAlert, surveillanceAlertList, surveillanceAlertParams, surveillanceAlertsQuery, surveillanceRunRequest,
  surveillanceRunSummary, surveillanceSeries, surveillanceSeriesQuery, surveillanceSignalList, surveillanceSignalsQuery,
} from '../../contract/surveillance.ts';
import { policyFor } from '../../inference/surveillance/index.ts';
import { denominatorOf, localDate, SURVEILLANCE_NOTICE } from '../../pipeline/surveillance.ts';
import { addDays } from '../../inference/surveillance/series.ts';
import { ACCESS } from '../access.ts';
import type { Authenticated } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { mount } from '../route.ts';

/** The sites whose counts and alerts a caller sees: its own and those it reads for. */
const scopeOf = (auth: Authenticated) => auth.scope;

/**
 * Multi-point surveillance (`/v1/surveillance/…`): daily counts per site and signal with their
 * denominators, the alerts the detection run raised with their evidence, acknowledgement, and the
 * run itself for admins. Counts are aggregates with no patient identifier: clinical roles and
 * admins see them, for the sites in their scope (an alert shows when one of its sites is).
 */
export function surveillanceRoutes(deps: ApiDeps) {
  const app = new Hono();
  const surveillance = () => {
    if (!deps.surveillance) throw new ApiError(503, 'SURVEILLANCE_OFF', 'this Lantern has no surveillance policy (models/surveillance-policy)');
    return deps.surveillance;
  };
  const tag = 'surveillance';
  // A label's names from the first read-assist card that declares it (cards agree on the labels they share).
  const labels = new Map<string, { display: string; displayZh?: string }>();
  for (const m of deps.registry.models) {
    if (m.card.task !== 'read-assist') continue;
    for (const l of m.card.labels) if (!labels.has(l.id)) labels.set(l.id, { display: l.display, ...(l.displayZh && { displayZh: l.displayZh }) });
  }

  mount(app, {
    method: 'get', path: '/v1/surveillance/series', operationId: 'getSurveillanceSeries', access: ACCESS.surveillance, tag,
    summary: 'One signal\'s daily counts per site, with denominators, baseline and alarm line',
    description: 'Days are local calendar days (LANTERN_TIMEZONE); at most 366 days.',
    query: surveillanceSeriesQuery,
    responses: { 200: { description: 'One series per site in the caller\'s scope.', json: surveillanceSeries } },
    errors: { 422: 'VALIDATION_FAILED: a bad signal id or date, `to` before `from`, or a span over 366 days.', 503: 'SURVEILLANCE_OFF' },
  }, async (c, { query, auth }) => c.json({ ...await surveillance().series(query, scopeOf(auth)), aiAssisted: SURVEILLANCE_NOTICE }));

  mount(app, {
    method: 'get', path: '/v1/surveillance/signals', operationId: 'listSurveillanceSignals', access: ACCESS.surveillance, tag,
    summary: 'The signals counted at the caller\'s sites, with the methods that watch them',
    query: surveillanceSignalsQuery,
    responses: { 200: { description: 'Signals with at least one case in [from, to] (default the last 90 days).', json: surveillanceSignalList } },
    errors: { 503: 'SURVEILLANCE_OFF' },
  }, async (c, { query, auth }) => {
    const { policy, timeZone } = surveillance();
    const to = query.to ?? localDate(timeZone);
    const from = query.from ?? addDays(to, -89);
    const signals = await deps.store.surveillanceSignals({ from, to }, scopeOf(auth));
    return c.json({
      from, to, policy: { id: policy.card.id, version: policy.card.version },
      items: signals.map(({ signal, total }) => {
        const entry = policyFor(policy.card, signal);
        const label = labels.get(signal.slice(signal.indexOf(':') + 1));
        return {
          signal, total, measure: entry.measure, denominator: denominatorOf(signal), methods: entry.methods.map((m) => m.method),
          ...(/^(ai-positive|reader-confirmed):/.test(signal) && label && { label }),
        };
      }),
    });
  });

  mount(app, {
    method: 'get', path: '/v1/surveillance/alerts', operationId: 'listSurveillanceAlerts', access: ACCESS.surveillance, tag,
    summary: 'Alerts touching the caller\'s sites, newest day first, with their evidence',
    query: surveillanceAlertsQuery,
    responses: { 200: { description: 'The alerts.', json: surveillanceAlertList } },
  }, async (c, { query, auth }) => c.json({ items: await deps.store.listSurveillanceAlerts(query, scopeOf(auth)), aiAssisted: SURVEILLANCE_NOTICE }));

  mount(app, {
    method: 'post', path: '/v1/surveillance/alerts/{id}/acknowledge', operationId: 'acknowledgeSurveillanceAlert', access: ACCESS.surveillance, tag,
    summary: 'Acknowledge an alert with a note (audited with the signed-in user)',
    description: 'An alert already acknowledged is answered as it stands: the first acknowledgement is kept.',
    params: surveillanceAlertParams,
    body: surveillanceAcknowledgeRequest,
    responses: { 200: { description: 'The alert, acknowledged.', json: surveillanceAlert } },
    errors: { 404: 'No such alert at the caller\'s sites.', 422: 'VALIDATION_FAILED: no note, or a note over 2000 characters.' },
  }, async (c, { params, body, auth }) => {
    const { alert } = await deps.store.acknowledgeSurveillanceAlert(params.id, body.note, auth.user.username, scopeOf(auth));
    return c.json(alert);
  });

  mount(app, {
    method: 'post', path: '/v1/surveillance/run', operationId: 'runSurveillance', access: ACCESS.admin, tag,
    summary: 'Run the detection for one local day now (default yesterday); the daily schedule does the same',
    description: 'Idempotent: counts are recomputed, and an alert already raised for the same policy version, signal, scope, day and method is not raised again. Open alerts of this day and the 28 days before it are judged again on the recomputed counts; one whose day no longer alarms is withdrawn, with the verdict, and audited.',
    body: surveillanceRunRequest,
    responses: { 200: { description: 'What the run did.', json: surveillanceRunSummary } },
    errors: { 422: 'VALIDATION_FAILED: not a calendar date, or a day after today.', 503: 'SURVEILLANCE_OFF' },
  }, async (c, { body, auth }) => {
    const { timeZone, run } = surveillance();
    if (body.date && body.date > localDate(timeZone)) {
      throw new ApiError(422, 'VALIDATION_FAILED', 'the request is invalid', [{ field: 'date', message: `${body.date} has not begun in ${timeZone}` }]);
    }
    return c.json(await run(body.date, auth.user.username));
  });
  return app;
}
