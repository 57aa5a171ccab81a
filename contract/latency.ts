import { z } from 'zod';
import { triageLevel } from './studies.ts';

/** The degradation ladder's steps, in the order they are taken (queue/degradation.ts). */
export const degradationStepName = z.enum(['normal', 'shed-shadow', 'skip-low-level-heatmaps', 'defer-level-iv']);

/** One triage level's AI queue against its latency promise (the triage-policy card's aiResultTargetMinutes). */
export const levelLatency = z.object({
  level: triageLevel,
  targetMinutes: z.number(),
  waiting: z.number().int(),
  /** Deferred (degradation) or backing off after a failure. */
  delayed: z.number().int(),
  /** The oldest job of this level not yet running; null when none waits. */
  oldestWaitingSeconds: z.number().nullable(),
  /** The oldest waiting job is older than the level's target. */
  breaching: z.boolean(),
});

/** `GET /ready`: whether the AI pipeline can keep its promise now. */
export const readiness = z.object({
  status: z.enum(['ready', 'not-ready']),
  /** Why not ready (empty when ready). */
  reasons: z.array(z.string()),
  workers: z.object({ alive: z.number().int(), active: z.number().int() }),
  levels: z.array(levelLatency),
  degradation: z.object({
    step: z.number().int().min(0).max(3),
    name: degradationStepName,
    since: z.string().nullable(),
    reason: z.string(),
    pressure: z.object({ all: z.number(), urgent: z.number() }),
  }),
  /** For admins, in both languages, while the service is degraded or a level is breaching. */
  notice: z.object({ text: z.string(), textZh: z.string() }).nullable(),
  measuredAt: z.string().nullable(),
}).meta({ id: 'Readiness' });

export type Readiness = z.infer<typeof readiness>;
