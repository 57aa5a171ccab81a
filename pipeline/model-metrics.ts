import { Counter, Histogram, type Registry } from 'prom-client';
import type { z } from 'zod';
import type { FindingInput } from '../contract/findings.ts';
import type { resultJob } from '../contract/jobs.ts';

/** What became of one model's run on one image, as its result says: a small fixed set, so a label never grows. */
export type JobOutcome = 'completed' | 'not-applicable' | 'invalid-input' | 'model-not-loaded' | 'failed';

/** One finding's call: not applicable first (it makes no call), then positive, then in the refer band, else negative. */
export type FindingResult = 'not-applicable' | 'positive' | 'refer' | 'negative';

/**
 * The failure codes the worker hands back that are not (or not known to be) the image's fault
 * (pipeline/read-assist-worker.ts): a job that stopped its workers may have met a crash of the
 * machine's as well as its own. Every other code is a dicom/ rejection.
 */
const NOT_THE_INPUT: Record<string, JobOutcome> = { MODEL_NOT_LOADED: 'model-not-loaded', INFERENCE_FAILED: 'failed', WORKER_STOPPED: 'failed' };

/** Seconds per stage of one image: parse and postprocess take about a millisecond, an ONNX run tens to hundreds. */
const STAGE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds a job waited in the queue: the latency promise's targets are minutes (I: 2 min … IV: 2 h). */
const QUEUE_WAIT_BUCKETS = [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200];

export function findingResult(finding: Pick<FindingInput, 'applicability' | 'positive' | 'refer'>): FindingResult {
  if (finding.applicability?.applicable === false) return 'not-applicable';
  if (finding.positive) return 'positive';
  return finding.refer ? 'refer' : 'negative';
}

/**
 * Per model, version and deployment (clinical or shadow), counted from the results the workers hand back (the results queue),
 * in the process that persists them: each result is one job's end, delivered under a job id
 * derived from the job's (a job run twice hands back one result), and its findings carry the
 * worker's own stage timer (inference/stage-timer.ts) — so the counts follow the work stored,
 * not the attempts, and live on when a worker process restarts.
 */
export function createModelMetrics(registry: Registry) {
  const registers = [registry];
  const jobs = new Counter({
    name: 'lantern_read_assist_jobs_total', help: 'Read-assist jobs by how they ended (one per model run on one image, counted when its result is stored).',
    labelNames: ['model', 'version', 'deployment', 'outcome'] as const, registers,
  });
  const findings = new Counter({
    name: 'lantern_findings_total', help: 'AI findings stored, by label and call: positive, refer, negative, not-applicable.',
    labelNames: ['model', 'version', 'deployment', 'label', 'result'] as const, registers,
  });
  const stages = new Histogram({
    name: 'lantern_inference_stage_duration_seconds', help: 'Time of each stage of one read-assist run in the worker (parse, decode, preprocess, inference, postprocess).',
    labelNames: ['model', 'version', 'deployment', 'stage'] as const, buckets: STAGE_BUCKETS, registers,
  });
  const queueWait = new Histogram({
    name: 'lantern_read_assist_queue_wait_seconds', help: 'Time a read-assist job waited in the queue before a worker took it.',
    labelNames: ['model', 'version', 'deployment'] as const, buckets: QUEUE_WAIT_BUCKETS, registers,
  });

  return {
    /** Counts one stored result, as queued: a result from a worker older than deployment states has none (clinical). */
    record(result: z.input<typeof resultJob>): void {
      // Clinical or shadow (a canary model's run is one or the other): what shadow work costs is read beside clinical work.
      const deployment = result.deployment ?? 'clinical';
      if (result.kind === 'failure') {
        jobs.inc({ model: result.model.id, version: result.model.version, deployment, outcome: NOT_THE_INPUT[result.error.code] ?? 'invalid-input' });
        return;
      }
      const [first] = result.findings;
      const model = { model: first.model.id, version: first.model.version, deployment };
      jobs.inc({ ...model, outcome: result.findings.every((f) => f.applicability?.applicable === false) ? 'not-applicable' : 'completed' });
      for (const finding of result.findings) findings.inc({ ...model, label: finding.label, result: findingResult(finding) });
      // One image, one timer: every finding of a run carries the same timings.
      for (const [stage, ms] of Object.entries(first.timingMs)) {
        if (stage === 'queueWait') queueWait.observe(model, ms / 1000);
        else stages.observe({ ...model, stage }, ms / 1000);
      }
    },
  };
}

export type ModelMetrics = ReturnType<typeof createModelMetrics>;
