import { Hono } from 'hono';
import { studyParams } from '../../contract/dicomweb.ts';
import { studyDetail, type StudyDetail } from '../../contract/studies.ts';
import type { ApiDeps } from '../deps.ts';
import { mount } from '../route.ts';
import { createStudyView } from '../study-view.ts';
import { presentReaderFinding } from './reader-findings.ts';
import { ACCESS } from '../access.ts';
import { auditStudyRead } from '../read-audit.ts';

export function studyRoutes(deps: ApiDeps) {
  const app = new Hono();
  const view = createStudyView(deps.registry);
  mount(app, {
    method: 'get', path: '/v1/studies/{studyInstanceUid}', operationId: 'getStudy', access: ACCESS.patientData, tag: 'studies',
    summary: 'One study: its images, AI findings with every decision on them, reader findings and errors',
    params: studyParams,
    responses: { 200: { description: 'The study.', json: studyDetail } },
    errors: {
      404: 'No study with that Study Instance UID at the user\'s sites.', 422: 'VALIDATION_FAILED: the path holds no DICOM UID.',
      503: 'AUDIT_UNAVAILABLE: reads of patient data cannot be recorded at the moment.',
    },
  }, async (c, { params, auth }) => {
    const detail = await deps.store.getStudy(params.studyInstanceUid, auth.user.sites);
    auditStudyRead(deps, auth, params.studyInstanceUid, 'view');
    return c.json({
      ...detail,
      study: view.study(detail.study, new Date()),
      findings: detail.findings.map(view.finding),
      readerFindings: detail.readerFindings.map(presentReaderFinding),
      instances: detail.instances.map((i) => ({
        sopInstanceUid: i.sopInstanceUid,
        seriesInstanceUid: i.seriesInstanceUid,
        modality: i.modality,
        transferSyntaxUid: i.transferSyntaxUid,
        status: i.status,
        image: i.image,
        framesUrl: `/dicomweb/studies/${i.studyInstanceUid}/series/${i.seriesInstanceUid}/instances/${i.sopInstanceUid}/frames`,
      })),
    } satisfies StudyDetail);
  });
  return app;
}
