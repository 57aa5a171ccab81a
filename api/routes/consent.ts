import { Hono } from 'hono';
import { z } from 'zod';
import { consentLookupRequest, consentPolicy, consentPolicyRequest, consentRecordRequest, patientConsent } from '../../contract/consent.ts';
import { siteId } from '../../contract/sites.ts';
import { logger } from '../../log.ts';
import { REQUEST_REDIS_WAIT_MS } from '../../queue/enqueue.ts';
import { readAssistJobId } from '../../queue/jobs.ts';
import type { ConsentChange } from '../../store/consent.ts';
import { ACCESS } from '../access.ts';
import type { Authenticated } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { mount } from '../route.ts';

const siteParams = z.object({ siteId });

/** The site a clinician means: the one named, or the first it acts for (where its uploads are filed). */
const siteOf = (body: { siteId?: string }, auth: Authenticated) => body.siteId ?? auth.user.sites[0];

/**
 * Takes the jobs a consent change stopped out of the queue, so no worker reads those images,
 * and answers with the change. A job already running, or one left while Redis is away or slow,
 * still runs: the findings it hands back are dropped (store recordFindings), so this never
 * fails the answer of a change that is committed.
 */
async function withdrawn<T>(deps: ApiDeps, change: ConsentChange<T>): Promise<T> {
  if (change.stoppedJobs.length === 0) return change.result;
  const removals = Promise.all(change.stoppedJobs.map((job) => deps.readAssist.queue.remove(readAssistJobId(job.sopInstanceUid, job.modelKey))))
    .catch((error: unknown) => logger.warn({ err: error, jobs: change.stoppedJobs.length }, 'stopped read-assist jobs stay queued; their findings will be dropped'));
  await deps.readAssist.within(removals, REQUEST_REDIS_WAIT_MS);
  return change.result;
}

/**
 * Consent: clinicians of a site record and read a patient's decision for each purpose; admins
 * set a site's policy. Patient IDs travel in bodies only (a lookup is a POST, as FHIR's
 * `_search` is), never in a URL a proxy or access log would keep. A site the user does not act
 * for is 404, as a study of another site is.
 */
export function consentRoutes(deps: ApiDeps) {
  const app = new Hono();
  mount(app, {
    method: 'post', path: '/v1/consent', operationId: 'recordConsent', access: ACCESS.consent, tag: 'consent',
    summary: 'Record a patient\'s consent decision for one purpose at a site',
    description: 'A refusal of AI processing settles the patient\'s images still waiting for AI at the site as withheld and takes their jobs out of the queue; a job already running hands back findings that are dropped. A later grant applies to images received after it.',
    body: consentRecordRequest,
    responses: { 200: { description: 'The patient\'s consent at the site, every purpose.', json: patientConsent } },
    errors: { 404: 'NOT_FOUND: a site the user does not act for.', 422: 'VALIDATION_FAILED: an unknown purpose or decision, no patient ID.' },
  }, async (c, { body, auth }) => c.json(await withdrawn(deps, await deps.store.recordConsent({ ...body, siteId: siteOf(body, auth) }, auth.user.username, auth.user.sites))));

  mount(app, {
    method: 'post', path: '/v1/consent/lookup', operationId: 'lookupConsent', access: ACCESS.consent, tag: 'consent',
    summary: 'A patient\'s consent at a site, every purpose (the Patient ID in the body, out of URLs)',
    body: consentLookupRequest,
    responses: { 200: { description: 'Whether each purpose is allowed, the site\'s policy and the decision recorded.', json: patientConsent } },
    errors: { 404: 'NOT_FOUND: a site the user does not act for.', 422: 'VALIDATION_FAILED' },
  }, async (c, { body, auth }) => c.json(await deps.store.patientConsent(siteOf(body, auth), body.patientId, auth.scope)));

  mount(app, {
    method: 'get', path: '/v1/sites/{siteId}/consent-policy', operationId: 'getConsentPolicy', access: ACCESS.anyone, tag: 'consent',
    summary: 'A site\'s consent policy per purpose (no patient data)',
    params: siteParams,
    responses: { 200: { description: 'opt-out: allowed unless the patient refused; opt-in: only once the patient granted.', json: consentPolicy } },
    errors: { 404: 'NOT_FOUND: no such site.' },
  }, async (c, { params }) => c.json(await deps.store.consentPolicy(params.siteId)));

  mount(app, {
    method: 'post', path: '/v1/sites/{siteId}/consent-policy', operationId: 'setConsentPolicy', access: ACCESS.admin, tag: 'consent',
    summary: 'Set a site\'s consent policy for one purpose',
    description: 'Making AI processing opt-in settles the site\'s images still waiting for AI whose patients have not granted it as withheld, as a refusal does.',
    params: siteParams,
    body: consentPolicyRequest,
    responses: { 200: { description: 'The site\'s policy, every purpose.', json: consentPolicy } },
    errors: { 404: 'NOT_FOUND: no such site.', 422: 'VALIDATION_FAILED' },
  }, async (c, { params, body, auth }) => c.json(await withdrawn(deps, await deps.store.setConsentPolicy(params.siteId, body.purpose, body.mode, auth.user.username))));
  return app;
}
