import { Hono } from 'hono';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { parseBody } from '../errors.ts';

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before: z.coerce.number().int().min(1).optional(),
  entityId: z.string().max(200).optional(),
});

export function auditRoutes(deps: ApiDeps) {
  const app = new Hono();
  app.get('/v1/audit', async (c) => {
    const query = parseBody(listQuery, c.req.query());
    return c.json({ items: await deps.store.listAudit({ limit: query.limit, beforeSeq: query.before, entityId: query.entityId }) });
  });
  app.get('/v1/audit/verify', async (c) => c.json(await deps.store.verifyAudit()));
  return app;
}
