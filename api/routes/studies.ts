import { Hono } from 'hono';
import type { ApiDeps } from '../deps.ts';
import { createStudyView } from '../study-view.ts';
import { presentReaderFinding } from './reader-findings.ts';

export function studyRoutes(deps: ApiDeps) {
  const app = new Hono();
  const view = createStudyView(deps.registry);
  app.get('/v1/studies/:studyInstanceUid', async (c) => {
    const detail = await deps.store.getStudy(c.req.param('studyInstanceUid'));
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
    });
  });
  return app;
}
