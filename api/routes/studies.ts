import { Hono } from 'hono';
import type { ApiDeps } from '../deps.ts';

export function studyRoutes(deps: ApiDeps) {
  const app = new Hono();
  app.get('/v1/studies/:studyInstanceUid', async (c) => {
    const detail = await deps.store.getStudy(c.req.param('studyInstanceUid'));
    return c.json({
      ...detail,
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
