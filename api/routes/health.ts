import { Hono } from 'hono';
import type { ApiDeps } from '../deps.ts';

export function healthRoutes(deps: ApiDeps) {
  const app = new Hono();
  app.get('/health', async (c) => {
    const [redis, database] = await Promise.all([
      deps.redis.ping().then(() => 'ok', (e: Error) => `error: ${e.message}`),
      deps.store.db.query('select 1').then(() => 'ok', (e: Error) => `error: ${e.message}`),
    ]);
    const ok = redis === 'ok' && database === 'ok';
    return c.json({
      status: ok ? 'ok' : 'degraded',
      redis,
      database,
      models: deps.registry.models.map((m) => ({ id: m.card.id, version: m.card.version, task: m.card.task, weightsSha256: m.sha256 })),
    }, ok ? 200 : 503);
  });
  return app;
}
