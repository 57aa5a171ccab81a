import { Hono } from 'hono';
import { researchFrameParams, researchListQuery, researchStudy, researchStudyList, researchStudyParams } from '../../contract/research.ts';
import { PRIORITY_BANDS } from '../../contract/studies.ts';
import type { ApiDeps } from '../deps.ts';
import { FRAME_RESPONSE, frameAnswers } from '../frame-answer.ts';
import { mount } from '../route.ts';
import { ACCESS } from '../access.ts';
import { auditListRead, auditStudyRead } from '../read-audit.ts';
import { createResearchView } from '../research-view.ts';
import { sitesInScope } from '../site-filter.ts';

const AUDIT_UNAVAILABLE = 'AUDIT_UNAVAILABLE: reads of patient data cannot be recorded at the moment.';

/**
 * Studies de-identified for model teams (api/research-view.ts): the AI findings with their
 * model provenance and the clinicians' decisions on them, and the images, with no patient
 * identity, real UID or real date. Every read is audited like a clinical one.
 */
export function researchRoutes(deps: ApiDeps) {
  const app = new Hono();
  const view = createResearchView(deps);
  const frames = frameAnswers(deps);

  mount(app, {
    method: 'get', path: '/v1/research/studies', operationId: 'listResearchStudies', access: ACCESS.research, tag: 'research',
    summary: 'Studies de-identified for model teams, in worklist order',
    description: 'PS3.15 Annex E Basic Profile with modified dates, over the installation\'s key: pseudonyms and shifted dates are stable across calls. Filters as the worklist\'s. Only studies whose patient\'s consent lets them leave the site (their site\'s sharing policy and the patient\'s decision); the others are counted in withheldByConsent.',
    query: researchListQuery,
    responses: { 200: { description: 'The studies.', json: researchStudyList } },
    errors: { 503: AUDIT_UNAVAILABLE },
  }, async (c, { query, auth }) => {
    const { items, shown, withheldByConsent } = await view.list({
      sites: sitesInScope(auth, query.site), statuses: query.status, modalities: query.modality, priorityRanges: query.priority?.map((band) => PRIORITY_BANDS[band]),
    }, query.limit);
    auditListRead(deps, auth, 'research', shown.map((s) => s.studyInstanceUid));
    return c.json({ items, withheldByConsent });
  });

  mount(app, {
    method: 'get', path: '/v1/research/studies/{pseudonymousUid}', operationId: 'getResearchStudy', access: ACCESS.research, tag: 'research',
    summary: 'One study de-identified: AI findings with model provenance, decisions by pseudonymous readers, images',
    params: researchStudyParams,
    responses: { 200: { description: 'The study.', json: researchStudy } },
    errors: { 404: 'No study of the user\'s sites that may be shared (consent) has that pseudonymous UID.', 503: AUDIT_UNAVAILABLE },
  }, async (c, { params, auth }) => {
    const { study, studyInstanceUid } = await view.study(params.pseudonymousUid, auth.scope);
    auditStudyRead(deps, auth, studyInstanceUid, 'deidentified-view');
    return c.json(study);
  });

  mount(app, {
    method: 'get', path: '/v1/research/studies/{pseudonymousUid}/instances/{pseudonymousInstanceUid}/frames/{frame}', operationId: 'getResearchFrame', access: ACCESS.research, tag: 'research',
    summary: 'A frame of a de-identified study: decoded pixels, as the WADO-RS frame route answers them',
    description: 'The pixels are not cleaned: an image marked Burned In Annotation YES is refused.',
    params: researchFrameParams,
    responses: { 200: FRAME_RESPONSE },
    errors: {
      404: 'NOT_FOUND (no such study of the user\'s sites, or no such instance in it) or NO_SUCH_FRAME.',
      409: 'BURNED_IN_ANNOTATION: the image says identifying text is burned into its pixels.',
      503: AUDIT_UNAVAILABLE,
    },
  }, async (c, { params, auth }) => {
    const instance = await view.instance(params.pseudonymousUid, params.pseudonymousInstanceUid, auth.scope);
    const answer = await frames.answer(c, instance, frames.frameNumber(instance, params.frame));
    auditStudyRead(deps, auth, instance.studyInstanceUid, 'deidentified-frames');
    return answer;
  });
  return app;
}
