import { Hono } from 'hono';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { parseBody } from '../errors.ts';
import { createStudyView } from '../study-view.ts';

/** Priority bands, as the viewer names them (viewer/src/format.ts priorityBand): [min, max). */
export const PRIORITY_BANDS = {
  urgent: { min: 75 },
  high: { min: 50, max: 75 },
  routine: { min: 25, max: 50 },
  low: { max: 25 },
} as const;

/** `a,b,c` → ['a','b','c']; an empty or absent parameter does not filter. */
const commaList = <T extends z.ZodType<string, string>>(item: T) => z.string().optional()
  .transform((s) => s?.split(',').map((v) => v.trim()).filter(Boolean))
  .transform((list) => (list?.length ? list : undefined))
  .pipe(z.array(item).optional());

const worklistQuery = z.object({
  status: commaList(z.enum(['pending', 'ready', 'reviewed', 'failed'])),
  modality: commaList(z.string().regex(/^[A-Z0-9]{1,16}$/, 'a DICOM modality code, e.g. CR')),
  priority: commaList(z.enum(Object.keys(PRIORITY_BANDS) as [keyof typeof PRIORITY_BANDS])),
});

/**
 * `GET /v1/worklist?status=pending,ready&modality=CR,DX&priority=urgent,high`: studies
 * that still need a human first, in triage order, each with its "why" in both languages
 * and its time waiting against its level's reading target.
 */
export function worklistRoutes(deps: ApiDeps) {
  const app = new Hono();
  const view = createStudyView(deps.registry);
  app.get('/v1/worklist', async (c) => {
    const query = parseBody(worklistQuery, c.req.query());
    const items = await deps.store.getWorklist({
      statuses: query.status,
      modalities: query.modality,
      priorityRanges: query.priority?.map((band) => PRIORITY_BANDS[band]),
    });
    const now = new Date();
    return c.json({ items: items.map((item) => ({ ...view.study(item, now), findings: item.findings.map(view.finding) })) });
  });
  return app;
}
