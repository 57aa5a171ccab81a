import { Hono } from 'hono';
import { z } from 'zod';
import {
  consultation, consultationList, consultationListQuery, consultationOpinionRequest, consultationPolicy, consultationReportQuery, consultationRequest,
} from '../../contract/consultations.ts';
import { siteId } from '../../contract/sites.ts';
import type { ConsultationActor } from '../../store/store.ts';
import { ACCESS } from '../access.ts';
import type { Authenticated } from '../auth.ts';
import { renderConsultationReport } from '../consultation-report.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { auditConsultationList, auditConsultationRead } from '../read-audit.ts';
import { mount } from '../route.ts';
import { homeVitalsTriageLevel } from '../vitals-ingest.ts';

const caseParams = z.object({ id: z.string().uuid() });
const siteParams = z.object({ siteId });

/** The authenticated user as a case sees it: where it asks from (its own sites), and what it reads and answers (its scope). */
const actorOf = (auth: Authenticated): ConsultationActor => ({ username: auth.user.username, sites: auth.user.sites, scope: auth.scope });

const READ_ERRORS = { 404: 'NOT_FOUND: no such case asked by or of the user\'s sites.', 503: 'AUDIT_UNAVAILABLE: reads of patient data cannot be recorded at the moment.' };

/**
 * Remote reading and consultation (远程影像诊断 / 远程会诊, contract/consultations.ts): a site asks
 * a site that reads for it; the answering site opens and answers; the asker withdraws; each step
 * audited with the signed-in user and announced on `GET /v1/events`. A case neither site of
 * which is the caller's does not exist for it (404). The printable report and the sites'
 * consultation policy are here too.
 */
export function consultationRoutes(deps: ApiDeps) {
  const app = new Hono();
  mount(app, {
    method: 'post', path: '/v1/consultations', operationId: 'askConsultation', access: ACCESS.consult, tag: 'consultations',
    summary: 'Ask a site that reads for the asker\'s site about a study, an assessment or a patient\'s home vital signs',
    description: 'The case waits in the answering site\'s queue with its SLA clock (the answering site\'s policy, by urgency). The asker attests the patient\'s consent to remote consultation (`patientConsented: true`); the attestation is kept in the audit trail.',
    body: consultationRequest,
    responses: { 201: { description: 'The case as asked.', json: consultation } },
    errors: {
      404: 'NOT_FOUND: a study not within the asker\'s sites.',
      422: 'VALIDATION_FAILED (a bad field, no consent attestation), NOT_A_READING_SITE (the answering site does not read for the asking site), NOT_YOUR_SITE (`fromSiteId` is not one of the asker\'s sites), STUDY_OF_ANOTHER_SITE.',
    },
  }, async (c, { body, auth }) => {
    const vitalsLevel = body.subject.kind === 'vitals' ? await homeVitalsTriageLevel(deps, body.fromSiteId ?? auth.user.sites[0], body.subject.patientId) : undefined;
    return c.json(await deps.store.askConsultation(body, actorOf(auth), vitalsLevel), 201);
  });

  mount(app, {
    method: 'get', path: '/v1/consultations', operationId: 'listConsultations', access: ACCESS.consult, tag: 'consultations',
    summary: 'The cases asked of the caller\'s sites (`box=queue`) or asked by them (`box=asked`)',
    description: 'Active cases first, then triage level I before IV (unknown last), then the earliest due.',
    query: consultationListQuery,
    responses: { 200: { description: 'The cases, in queue order.', json: consultationList } },
    errors: { 404: 'NOT_FOUND: `siteId` is not one of the caller\'s sites.', 422: 'VALIDATION_FAILED', 503: READ_ERRORS[503] },
  }, async (c, { query, auth }) => {
    // A case is asked from the asker's own sites: a county reading for a township finds the
    // township's questions to it in its queue, not in what it asked.
    const items = await deps.store.listConsultations(query, query.box === 'asked' ? auth.user.sites : auth.scope);
    auditConsultationList(deps, auth, query.box, items);
    return c.json({ items });
  });

  mount(app, {
    method: 'get', path: '/v1/consultations/{id}', operationId: 'getConsultation', access: ACCESS.consult, tag: 'consultations',
    summary: 'One case',
    params: caseParams,
    responses: { 200: { description: 'The case.', json: consultation } },
    errors: READ_ERRORS,
  }, async (c, { params, auth }) => {
    const found = await deps.store.getConsultation(params.id, auth.scope);
    auditConsultationRead(deps, auth, found);
    return c.json(found);
  });

  mount(app, {
    method: 'post', path: '/v1/consultations/{id}/open', operationId: 'openConsultation', access: ACCESS.consult, tag: 'consultations',
    summary: 'The answering site opens the case: the first open puts it in review',
    params: caseParams,
    responses: { 200: { description: 'The case.', json: consultation } },
    errors: { ...READ_ERRORS, 403: 'NOT_THE_ANSWERING_SITE: the caller\'s sites do not include the site asked.' },
  }, async (c, { params, auth }) => {
    const opened = await deps.store.openConsultation(params.id, actorOf(auth));
    auditConsultationRead(deps, auth, opened);
    return c.json(opened);
  });

  mount(app, {
    method: 'post', path: '/v1/consultations/{id}/opinion', operationId: 'answerConsultation', access: ACCESS.consult, tag: 'consultations',
    summary: 'The consultant\'s opinion: impression, recommendation, urgency and free text; once per case',
    params: caseParams,
    body: consultationOpinionRequest,
    responses: { 200: { description: 'The answered case.', json: consultation } },
    errors: {
      403: 'NOT_THE_ANSWERING_SITE', 404: READ_ERRORS[404],
      409: 'CONSULTATION_ANSWERED (a second answer) or CONSULTATION_WITHDRAWN.', 422: 'VALIDATION_FAILED',
    },
  }, async (c, { params, body, auth }) => c.json(await deps.store.answerConsultation(params.id, body, actorOf(auth))));

  mount(app, {
    method: 'post', path: '/v1/consultations/{id}/withdraw', operationId: 'withdrawConsultation', access: ACCESS.consult, tag: 'consultations',
    summary: 'The asking site takes its question back, before it is answered',
    params: caseParams,
    responses: { 200: { description: 'The withdrawn case.', json: consultation } },
    errors: { 403: 'NOT_THE_ASKING_SITE: only a user of the asking site withdraws.', 404: READ_ERRORS[404], 409: 'CONSULTATION_ANSWERED or CONSULTATION_WITHDRAWN.' },
  }, async (c, { params, auth }) => c.json(await deps.store.withdrawConsultation(params.id, actorOf(auth))));

  mount(app, {
    method: 'get', path: '/v1/consultations/{id}/report', operationId: 'consultationReport', access: ACCESS.consult, tag: 'consultations',
    summary: 'The whole exchange as one printable HTML document, in English or Chinese',
    description: 'Self-contained (inline CSS with print rules, no external assets): the sites, the question, the subject with its AI findings and the AI-assisted statement, the opinion and the timeline with the SLA. Each export is audited (`consultation.report-exported`).',
    params: caseParams,
    query: consultationReportQuery,
    responses: { 200: { description: 'An HTML document.', media: { type: 'text/html' } } },
    errors: { 404: READ_ERRORS[404], 422: 'VALIDATION_FAILED: `lang` is not en or zh.' },
  }, async (c, { params, query, auth }) => {
    const data = await deps.store.consultationReport(params.id, auth.scope, auth.user.username, query.lang);
    c.header('Cache-Control', 'no-store');
    // The CSP nonce of this answer (api/security.ts), so the browser applies the report's own <style>.
    return c.html(renderConsultationReport(data, query.lang, { styleNonce: c.get('secureHeadersNonce' as never) as string | undefined }));
  });

  mount(app, {
    method: 'get', path: '/v1/sites/{siteId}/consultation-policy', operationId: 'getConsultationPolicy', access: ACCESS.consultationPolicy, tag: 'consultations',
    summary: 'A site\'s consultation policy: where its cases are routed, when, and the SLA of cases it answers',
    params: siteParams,
    responses: { 200: { description: 'The policy (defaults where none was set).', json: consultationPolicy } },
    errors: { 404: 'NOT_FOUND: no such site, or (for a clinician) not one of its sites.' },
  }, async (c, { params, auth }) => {
    if (!auth.user.roles.includes('admin') && !auth.scope.includes(params.siteId)) throw new ApiError(404, 'NOT_FOUND', `site ${params.siteId} does not exist`);
    return c.json(await deps.store.consultationPolicy(params.siteId));
  });

  mount(app, {
    method: 'put', path: '/v1/sites/{siteId}/consultation-policy', operationId: 'setConsultationPolicy', access: ACCESS.admin, tag: 'consultations',
    summary: 'Set a site\'s consultation policy (admins; audited with before and after)',
    params: siteParams,
    body: consultationPolicy,
    responses: { 200: { description: 'The policy in force.', json: consultationPolicy } },
    errors: { 404: 'NOT_FOUND: no such site.', 422: 'VALIDATION_FAILED: a bad field, or `routeToSiteId` does not read for the site.' },
  }, async (c, { params, body, auth }) => c.json(await deps.store.setConsultationPolicy(params.siteId, body, auth.user.username)));
  return app;
}
