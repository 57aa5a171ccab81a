import { Hono } from 'hono';
import {
  patientVitals, patientVitalsParams, patientVitalsQuery, studyHomeVitals, vitalAlert, vitalAlertList, vitalAlertParams, vitalAlertQuery, vitalsAnswer, vitalsRequest,
  type PatientVitals, type StudyHomeVitals, type VitalAlert,
} from '../../contract/vitals.ts';
import { studyParams } from '../../contract/dicomweb.ts';
import { CARRY_FORWARD_MINUTES, homeReadingCaveats, NEWS2_THRESHOLDS, scoringBands } from '../../pipeline/vitals/news2-series.ts';
import { jsonReadings, news2Model } from '../../pipeline/vitals/observations.ts';
import type { AlertRecord } from '../../store/vitals.ts';
import { ACCESS } from '../access.ts';
import type { Authenticated } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { auditPatientRead } from '../read-audit.ts';
import { mount } from '../route.ts';
import { receiveVitals } from '../vitals-ingest.ts';

/** A patient view without `from` shows this much before `to`. */
const DEFAULT_VIEW_MS = 7 * 24 * 3600_000;
/** The longest period one patient view may ask for. */
const MAX_VIEW_MS = 92 * 24 * 3600_000;

/** The site readings are filed at: the one asked for, which must be one of the caller's own (not one it only reads for). */
export function filingSite(auth: Authenticated, asked: string | undefined): string {
  const site = asked ?? auth.user.sites[0];
  if (!site || !auth.user.sites.includes(site)) throw new ApiError(403, 'NOT_YOUR_SITE', `readings are filed at your own sites (${auth.user.sites.join(', ') || 'none'}), not at ${site}`);
  return site;
}

/**
 * Home and wearable vital signs: readings in (`POST /v1/vitals`; FHIR Bundles in api/fhir/vitals.ts),
 * the escalation alerts on the worklist, and one patient's trend. Alerts go to every clinician
 * of the patient's site (and of sites reading for it): Lantern has no care assignment yet, and a
 * missed escalation costs more than a shared one. Patient data is read within the caller's scope.
 */
export function vitalsRoutes(deps: ApiDeps) {
  const app = new Hono();
  const aiAssisted = () => news2Model(deps.registry).card.aiAssisted;
  const present = (a: AlertRecord): VitalAlert => ({ ...a, aiAssisted: aiAssisted() });

  mount(app, {
    method: 'post', path: '/v1/vitals', operationId: 'recordVitals', access: ACCESS.ingest, tag: 'vitals',
    summary: 'Record a patient\'s home or wearable vital signs; NEWS2 is evaluated over time and escalations raise alerts',
    description: 'Every reading is converted and range-checked by the NEWS2 card; one bad reading refuses the request and nothing is stored. A reading already held (same device, parameter and time) is ignored. A changed latest NEWS2 re-triages the patient\'s studies of the last 7 days. Audited.',
    body: vitalsRequest,
    responses: { 200: { description: 'What was stored, evaluated and raised.', json: vitalsAnswer } },
    errors: { 403: 'NOT_YOUR_SITE: readings are filed at the caller\'s own sites.', 422: 'VALIDATION_FAILED: each bad reading named (implausible value, unknown unit, a time in the future).' },
  }, async (c, { body, auth }) => {
    const siteId = filingSite(auth, body.siteId);
    const { answers: [answer] } = await receiveVitals(deps, auth, [{ siteId, patientId: body.patientId, readings: jsonReadings(body) }]);
    return c.json(answer);
  });

  mount(app, {
    method: 'get', path: '/v1/vital-alerts', operationId: 'listVitalAlerts', access: ACCESS.patientData, tag: 'vitals',
    summary: 'Escalation alerts from home vital signs of patients at the caller\'s sites, newest first',
    query: vitalAlertQuery,
    responses: { 200: { description: 'At most 200 alerts.', json: vitalAlertList } },
  }, async (c, { query, auth }) => {
    const alerts = await deps.store.vitalAlerts(auth.scope, query.status);
    // The strip names patients: a read of their data, audited once per patient shown.
    for (const key of new Set(alerts.map((a) => a.patientKey))) auditPatientRead(deps, auth, key, []);
    return c.json({ items: alerts.map(present) });
  });

  mount(app, {
    method: 'post', path: '/v1/vital-alerts/{id}/acknowledge', operationId: 'acknowledgeVitalAlert', access: ACCESS.patientData, tag: 'vitals',
    summary: 'Acknowledge an escalation alert (audited; again is a no-op)',
    params: vitalAlertParams,
    responses: { 200: { description: 'The alert, acknowledged.', json: vitalAlert } },
    errors: { 404: 'No such alert at the caller\'s sites.' },
  }, async (c, { params, auth }) => c.json(present(await deps.store.acknowledgeVitalAlert(params.id, auth.user.username, auth.scope))));

  mount(app, {
    method: 'get', path: '/v1/studies/{studyInstanceUid}/home-vitals', operationId: 'studyHomeVitals', access: ACCESS.patientData, tag: 'vitals',
    summary: 'The patient key of a study\'s patient and whether home vital signs of that patient exist: the study view\'s link to the trend',
    params: studyParams,
    responses: { 200: { description: 'The key and whether readings exist.', json: studyHomeVitals } },
    errors: { 404: 'No such study at the caller\'s sites.' },
  }, async (c, { params, auth }) => {
    const found = await deps.store.studyHomeVitals(params.studyInstanceUid, auth.scope);
    if (!found) throw new ApiError(404, 'NOT_FOUND', `study ${params.studyInstanceUid} does not exist`);
    return c.json(found satisfies StudyHomeVitals);
  });

  mount(app, {
    method: 'get', path: '/v1/patients/{patientKey}/vitals', operationId: 'patientVitals', access: ACCESS.patientData, tag: 'vitals',
    summary: 'A patient\'s readings, NEWS2 over time and alerts, with the scoring bands and thresholds to draw them',
    description: 'The patient key is the FHIR Patient id. Default period: the 7 days before `to` (default now); at most 92 days. Audited as a read of the patient.',
    params: patientVitalsParams, query: patientVitalsQuery,
    responses: { 200: { description: 'The trend.', json: patientVitals } },
    errors: { 404: 'No vital signs of this patient at the caller\'s sites.', 422: '`from` after `to`, or a period over 92 days.' },
  }, async (c, { params, query, auth }) => {
    const to = query.to ? new Date(query.to) : new Date();
    const from = query.from ? new Date(query.from) : new Date(to.getTime() - DEFAULT_VIEW_MS);
    if (from > to || to.getTime() - from.getTime() > MAX_VIEW_MS) {
      throw new ApiError(422, 'VALIDATION_FAILED', 'the period is invalid', [{ field: 'from', message: 'from must be before to, at most 92 days apart' }]);
    }
    const found = await deps.store.patientVitals(params.patientKey, auth.scope, from, to);
    auditPatientRead(deps, auth, params.patientKey, []);
    const model = news2Model(deps.registry);
    return c.json({
      patientKey: params.patientKey, siteId: found.siteId, observations: found.observations, news2: found.news2, alerts: found.alerts.map(present),
      carryForwardMinutes: CARRY_FORWARD_MINUTES, bands: scoringBands(model), thresholds: NEWS2_THRESHOLDS, caveats: homeReadingCaveats(model), aiAssisted: model.card.aiAssisted,
    } satisfies PatientVitals);
  });
  return app;
}
