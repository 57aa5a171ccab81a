import { Hono } from 'hono';
import { frameParams } from '../../contract/dicomweb.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { DICOMWEB_FRAMES_RESPONSE, frameAnswers, MAX_FRAMES_PER_REQUEST } from '../frame-answer.ts';
import { dicomwebRoot } from '../dicomweb-answer.ts';
import { mount } from '../route.ts';
import { ACCESS } from '../access.ts';
import { auditStudyRead } from '../read-audit.ts';

/** WADO-RS frames (PS3.18 §10.4.1.1.2): one frame or a list, decoded pixels or the stored bitstream by Accept (api/frame-answer.ts). */
export function frameRoutes(deps: ApiDeps) {
  const app = new Hono();
  const frames = frameAnswers(deps);

  mount(app, {
    method: 'get', path: '/dicomweb/studies/{study}/series/{series}/instances/{instance}/frames/{frame}', operationId: 'getFrame', access: ACCESS.patientData, tag: 'dicomweb',
    summary: 'WADO-RS frames (`1` or a list `1,2,3`): decoded stored values, little-endian, so a viewer needs no codecs; or the stored bitstream',
    description: `At most ${MAX_FRAMES_PER_REQUEST} frames per request.`,
    params: frameParams,
    responses: { 200: DICOMWEB_FRAMES_RESPONSE },
    errors: {
      400: 'TOO_MANY_FRAMES: more frames listed than one request may ask for.',
      404: 'NOT_FOUND (no such instance in that study and series at the user\'s sites) or NO_SUCH_FRAME.',
      406: 'NOT_ACCEPTABLE: the Accept header asks for an encoding Lantern cannot produce for this instance; the message names what it can.',
      503: 'AUDIT_UNAVAILABLE: reads of patient data cannot be recorded at the moment.',
    },
  }, async (c, { params, auth }) => {
    const instance = await deps.store.getInstance(params.instance, auth.scope);
    if (instance.studyInstanceUid !== params.study || instance.seriesInstanceUid !== params.series) {
      throw new ApiError(404, 'NOT_FOUND', 'no such instance in that study and series');
    }
    const numbers = frames.frameNumbers(instance, params.frame);
    const location = `${dicomwebRoot(c)}/studies/${params.study}/series/${params.series}/instances/${params.instance}/frames`;
    const answer = await frames.negotiated(c, instance, numbers, location);
    auditStudyRead(deps, auth, instance.studyInstanceUid, 'frames');
    return answer;
  });
  return app;
}
