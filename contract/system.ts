import { z } from 'zod';

/** `GET /health`: 200 when Redis and the database answer, 503 (same body) when either does not. */
export const health = z.object({
  status: z.enum(['ok', 'degraded']),
  redis: z.string(),
  database: z.string(),
  /** Degraded while an audit record waits on a failed commit, after one was quarantined, or when a checkpoint could not be signed. */
  audit: z.object({
    state: z.enum(['ok', 'degraded']),
    records: z.object({ state: z.enum(['ok', 'degraded']), pending: z.number().int(), quarantined: z.number().int(), lastError: z.string().optional(), lastErrorAt: z.string().optional() }),
    checkpoints: z.object({
      state: z.enum(['ok', 'degraded']),
      lastCheckpoint: z.object({ seq: z.number().int(), at: z.string() }).optional(),
      checkpointError: z.string().optional(),
      /**
       * The remote witness, when one is configured: degraded while a head has waited longer than
       * `LANTERN_AUDIT_WITNESS_LAG_S` or the witness refused one (evidence against this chain).
       */
      witness: z.object({
        state: z.enum(['ok', 'degraded']),
        url: z.string(),
        delivered: z.object({ seq: z.number().int(), at: z.string() }).optional(),
        pending: z.object({ seq: z.number().int(), since: z.string() }).optional(),
        lastError: z.string().optional(),
        refused: z.boolean(),
      }).optional(),
    }),
  }).optional(),
  models: z.array(z.object({ id: z.string(), version: z.string(), task: z.string(), weightsSha256: z.string() })),
}).meta({ id: 'Health' });

export const liveness = z.object({ status: z.literal('ok') }).meta({ id: 'Liveness' });

/** `GET /health/event-loop`: how late this API process ran timers since `since`. */
export const eventLoopLag = z.object({
  since: z.string(),
  samples: z.number().int(),
  p50Ms: z.number(),
  p99Ms: z.number(),
  maxMs: z.number(),
}).meta({ id: 'EventLoopLag' });

export const eventLoopQuery = z.object({
  reset: z.enum(['true', 'false']).optional().meta({ description: '`true` starts a new window after answering' }),
});
