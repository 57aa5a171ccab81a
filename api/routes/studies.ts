import { Hono } from 'hono';
import { studyParams } from '../../contract/dicomweb.ts';
import { instancePage, instancePageQuery, studyDetail, type InstancePage, type StudyDetail } from '../../contract/studies.ts';
import type { InstanceRecord } from '../../store/types.ts';
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
    const detail = await deps.store.getStudy(params.studyInstanceUid, auth.scope);
    auditStudyRead(deps, auth, params.studyInstanceUid, 'view');
    return c.json({
      ...detail,
      study: view.study(detail.study, new Date()),
      findings: detail.findings.map(view.finding),
      readerFindings: detail.readerFindings.map(presentReaderFinding),
      instances: detail.instances.map(presentInstance),
    } satisfies StudyDetail);
  });
  mount(app, {
    method: 'get', path: '/v1/studies/{studyInstanceUid}/instances', operationId: 'getStudyInstances', access: ACCESS.patientData, tag: 'studies',
    summary: 'One page of a study\'s instances, in the order received',
    description: 'The study answer carries the first 500 and, when there are more, `instancesAfter`: pass it as `after` for the next page, and each page\'s `after` for the one after. Every page costs the same, however deep.',
    params: studyParams,
    query: instancePageQuery,
    responses: { 200: { description: 'The page.', json: instancePage } },
    errors: {
      404: 'No study with that Study Instance UID at the user\'s sites.',
      422: 'VALIDATION_FAILED: the path holds no DICOM UID, `limit` is not 1–1000, or `after` is not a cursor this server gave.',
      503: 'AUDIT_UNAVAILABLE: reads of patient data cannot be recorded at the moment.',
    },
  }, async (c, { params, query, auth }) => {
    const page = await deps.store.studyInstances(params.studyInstanceUid, auth.scope, query.after, query.limit);
    // Part of viewing the study: counted into the same `study.viewed` record as its first page.
    auditStudyRead(deps, auth, params.studyInstanceUid, 'view');
    return c.json({ instances: page.instances.map(presentInstance), ...(page.after && { after: page.after }) } satisfies InstancePage);
  });
  return app;
}

/** An instance as the study view renders it: with where its frames are. */
function presentInstance(i: InstanceRecord) {
  return {
    sopInstanceUid: i.sopInstanceUid,
    seriesInstanceUid: i.seriesInstanceUid,
    modality: i.modality,
    transferSyntaxUid: i.transferSyntaxUid,
    status: i.status,
    image: i.image,
    framesUrl: `/dicomweb/studies/${i.studyInstanceUid}/series/${i.seriesInstanceUid}/instances/${i.sopInstanceUid}/frames`,
  };
}
