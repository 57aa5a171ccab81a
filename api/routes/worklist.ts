import { Hono } from 'hono';
import { PRIORITY_BANDS, worklist, worklistQuery, type Worklist } from '../../contract/studies.ts';
import type { ApiDeps } from '../deps.ts';
import { mount } from '../route.ts';
import { createStudyView } from '../study-view.ts';
import { ACCESS } from '../access.ts';
import { auditListRead } from '../read-audit.ts';
import { sitesInScope } from '../site-filter.ts';

export function worklistRoutes(deps: ApiDeps) {
  const app = new Hono();
  const view = createStudyView(deps.registry);
  mount(app, {
    method: 'get', path: '/v1/worklist', operationId: 'getWorklist', access: ACCESS.patientData, tag: 'studies',
    summary: 'Studies that need a human first, in triage order',
    description: 'Each study with its "why" in English and Chinese, its AI findings (AI-assisted) and its time waiting against its triage level\'s reading target. Filters are comma lists, each "any of". The studies are those of the user\'s sites and of the sites they read for; `site` narrows to some of them (a site outside them is 422).',
    query: worklistQuery,
    responses: { 200: { description: 'The worklist.', json: worklist } },
  }, async (c, { query, auth }) => {
    const items = await deps.store.getWorklist({
      sites: sitesInScope(auth, query.site),
      statuses: query.status,
      modalities: query.modality,
      priorityRanges: query.priority?.map((band) => PRIORITY_BANDS[band]),
    });
    auditListRead(deps, auth, 'worklist', items.map((item) => item.studyInstanceUid));
    const now = new Date();
    return c.json({ items: items.map((item) => ({ ...view.study(item, now), findings: item.findings.map(view.finding) })) } satisfies Worklist);
  });
  return app;
}
