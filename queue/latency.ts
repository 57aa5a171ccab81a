import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { TriageLevel } from '../contract/studies.ts';
import { bullmqPriority } from './jobs.ts';
import { type DegradationStep, type LevelQueueState } from './degradation.ts';

/**
 * The read-assist queue measured per triage level, and the degradation step shared through Redis:
 * the Redis side of the latency promise (queue/degradation.ts decides; the API role's controller
 * and the workers use these).
 */

/** A triage level as the queue sees it: its priority range (0–100, from the triage-policy card) and its AI result target. */
export interface LevelBand {
  level: TriageLevel;
  priority: [number, number];
  targetMs: number;
}

export interface LevelQueueMeasure extends LevelQueueState {
  /** Jobs of this level waiting to run (prioritized). */
  waiting: number;
  /** Jobs of this level deferred or backing off (delayed), among the delayed jobs sampled. */
  delayed: number;
}

export interface QueueMeasure {
  at: number;
  levels: LevelQueueMeasure[];
  active: number;
  /** Worker connections BullMQ sees on the queue (CLIENT LIST): 0 means no worker is alive. */
  workers: number;
}

/** BullMQ's score of a prioritized job: priority × 2³² + an insertion counter (getPriorityScore.lua). */
const PRIORITY_SCORE = 0x100000000;
/** Jobs read per level to find its oldest, and delayed jobs read in all: the measure stays cheap under a flood of thousands. */
const OLDEST_SAMPLE = 50;
const DELAYED_SAMPLE = 500;

/**
 * The BullMQ priority range of each level. A triage priority on a boundary (25 is IV's ceiling and
 * III's floor) is counted with the more urgent level: the promise read is then the stricter one.
 */
export function bullmqBands(bands: LevelBand[]): (LevelBand & { bull: [number, number] })[] {
  const top = Math.max(...bands.map((b) => b.priority[1]));
  return bands.map((b) => ({ ...b, bull: [bullmqPriority(b.priority[1]) + (b.priority[1] === top ? 0 : 1), bullmqPriority(b.priority[0])] }));
}

/** The level a job of BullMQ priority `priority` belongs to, or undefined (e.g. no priority). */
export function levelOfPriority(bands: ReturnType<typeof bullmqBands>, priority: number | undefined): TriageLevel | undefined {
  return priority ? bands.find((b) => priority >= b.bull[0] && priority <= b.bull[1])?.level : undefined;
}

/**
 * Per level: how many jobs wait, how many are deferred, and the age of the oldest not yet running.
 * The oldest is found among the first jobs of the level's priority range by insertion order (the
 * score's counter): exact when a level's jobs share a priority (a flood does), an estimate otherwise;
 * a job re-prioritised gets a new counter and may look younger than it is.
 */
export async function measureQueue(queue: Queue, redis: Redis, bands: LevelBand[], now = Date.now()): Promise<QueueMeasure> {
  const prioritized = queue.toKey('prioritized');
  const ranged = bullmqBands(bands);
  const levels = await Promise.all(ranged.map(async (band) => {
    const [min, max] = [band.bull[0] * PRIORITY_SCORE, (band.bull[1] + 1) * PRIORITY_SCORE - 1];
    const [waiting, firstWithScores] = await Promise.all([
      redis.zcount(prioritized, min, max),
      redis.zrangebyscore(prioritized, min, max, 'WITHSCORES', 'LIMIT', 0, OLDEST_SAMPLE),
    ]);
    const firstIds = pairs(firstWithScores).sort((a, b) => a.score % PRIORITY_SCORE - b.score % PRIORITY_SCORE).slice(0, 5).map((p) => p.id);
    const stamps = await Promise.all(firstIds.map((id) => redis.hget(queue.toKey(id), 'timestamp')));
    return { band, waiting, oldest: minOf(stamps.map(Number).filter((t) => t > 0)) };
  }));
  const delayedIds = await redis.zrange(queue.toKey('delayed'), '0', String(DELAYED_SAMPLE - 1));
  const delayedJobs = await Promise.all(delayedIds.map((id) => redis.hmget(queue.toKey(id), 'priority', 'timestamp')));
  const [active, workers] = await Promise.all([redis.llen(queue.toKey('active')), queue.getWorkersCount()]);
  return {
    at: now,
    active,
    workers,
    levels: levels.map(({ band, waiting, oldest }) => {
      const deferred = delayedJobs.filter(([p]) => levelOfPriority(ranged, Number(p)) === band.level).map(([, t]) => Number(t));
      const oldestOfAll = minOf([...(oldest === undefined ? [] : [oldest]), ...deferred]);
      return { level: band.level, targetMs: band.targetMs, waiting, delayed: deferred.length, oldestWaitingMs: oldestOfAll === undefined ? null : Math.max(0, now - oldestOfAll) };
    }),
  };
}

function pairs(flat: string[]): { id: string; score: number }[] {
  const out = [];
  for (let i = 0; i < flat.length; i += 2) out.push({ id: flat[i], score: Number(flat[i + 1]) });
  return out;
}

const minOf = (values: number[]) => (values.length ? Math.min(...values) : undefined);

/** The step in force, shared by every API and worker process through Redis. `change` counts the changes (0: never changed). */
export interface SharedStep {
  step: DegradationStep;
  since: number;
  change: number;
}

/** Sets the step only if nobody changed it since `change` was read: of several API processes deciding at once, one change wins (and is audited once). */
const COMPARE_AND_SET = `
local current = tonumber(redis.call('HGET', KEYS[1], 'change') or '0')
if current ~= tonumber(ARGV[1]) then return -1 end
redis.call('HSET', KEYS[1], 'step', ARGV[2], 'since', ARGV[3], 'change', current + 1)
return current + 1`;

export function degradationStepStore(redis: Redis, prefix: string) {
  const key = `${prefix}:read-assist:degradation`;
  return {
    async read(): Promise<SharedStep> {
      const [step, since, change] = await redis.hmget(key, 'step', 'since', 'change');
      return { step: (Number(step) || 0) as DegradationStep, since: Number(since) || 0, change: Number(change) || 0 };
    },
    /** The new change number, or undefined when another process changed the step first. */
    async change(from: SharedStep, step: DegradationStep, since: number): Promise<number | undefined> {
      const changed = Number(await redis.eval(COMPARE_AND_SET, 1, key, String(from.change), String(step), String(since)));
      return changed > 0 ? changed : undefined;
    },
  };
}

export type DegradationStepStore = ReturnType<typeof degradationStepStore>;
