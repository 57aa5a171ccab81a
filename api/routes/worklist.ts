import { Hono } from 'hono';
import type { ApiDeps } from '../deps.ts';

export function worklistRoutes(deps: ApiDeps) {
  const app = new Hono();
  app.get('/v1/worklist', async (c) => c.json({ items: await deps.store.getWorklist() }));
  return app;
}
