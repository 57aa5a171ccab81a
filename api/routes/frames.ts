import { Hono } from 'hono';
import { frameParams } from '../../contract/dicomweb.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { FRAME_RESPONSE, frameAnswers } from '../frame-answer.ts';
import { mount } from '../route.ts';
import { ACCESS } from '../access.ts';
import { auditStudyRead } from '../read-audit.ts';

/** WADO-RS style frame retrieval, returning decoded pixels (api/frame-answer.ts). */
export function frameRoutes(deps: ApiDeps) {
  const app = new Hono();
  const frames = frameAnswers(deps);

  mount(app, {
    method: 'get', path: '/dicomweb/studies/{study}/series/{series}/instances/{instance}/frames/{frame}', operationId: 'getFrame', access: ACCESS.patientData, tag: 'dicomweb',
    summary: 'WADO-RS frame: decoded stored values, little-endian, so a viewer needs no codecs',
    params: frameParams,
    responses: { 200: FRAME_RESPONSE },
    errors: {
      404: 'NOT_FOUND (no such instance in that study and series at the user\'s sites) or NO_SUCH_FRAME.',
      503: 'AUDIT_UNAVAILABLE: reads of patient data cannot be recorded at the moment.',
    },
  }, async (c, { params, auth }) => {
    const instance = await deps.store.getInstance(params.instance, auth.user.sites);
    if (instance.studyInstanceUid !== params.study || instance.seriesInstanceUid !== params.series) {
      throw new ApiError(404, 'NOT_FOUND', 'no such instance in that study and series');
    }
    const number = frames.frameNumber(instance, params.frame);
    const answer = await frames.answer(c, instance, number);
    auditStudyRead(deps, auth, instance.studyInstanceUid, 'frames');
    return answer;
  });
  return app;
}
