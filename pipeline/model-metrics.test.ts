import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { FindingInput } from '../contract/findings.ts';
import { parseExposition, valueOf } from '../test/support/prometheus-text.ts';
import { createModelMetrics } from './model-metrics.ts';

const model = { id: 'cxr', version: '2.0.0', weightsSha256: 'a'.repeat(64), preprocessing: 'grey-square@1' };
const finding = (label: string, call: Partial<FindingInput>): FindingInput => ({
  id: label, label, display: label, probability: 0.5, positive: false, refer: false, operatingPoint: { name: 'default', threshold: 0.6 }, model,
  timingMs: { queueWait: 1500, parse: 2, decode: 4, preprocess: 10, inference: 80, postprocess: 1 }, applicability: { applicable: true, caveats: [] }, ...call,
});
const declined = { applicable: false, reason: { code: 'OUTSIDE_POPULATION', text: 'child', textZh: '儿童' }, caveats: [] } as FindingInput['applicability'];

describe('model metrics from the results workers hand back', () => {
  it('when results are stored, then jobs count by outcome, findings by call, and the worker\'s stage timings land in the histograms in seconds', async () => {
    const registry = new Registry();
    const metrics = createModelMetrics(registry);
    metrics.record({ kind: 'findings', sopInstanceUid: '1.2', modelKey: 'cxr@2.0.0', findings: [finding('pneumonia', { positive: true }), finding('effusion', { refer: true }), finding('nodule', {})] });
    metrics.record({ kind: 'findings', sopInstanceUid: '1.3', modelKey: 'cxr@2.0.0', findings: [finding('pneumonia', { probability: null, applicability: declined, timingMs: { queueWait: 200, parse: 1 } })] });
    metrics.record({ kind: 'failure', sopInstanceUid: '1.4', model: { id: 'cxr', version: '2.0.0' }, error: { code: 'INVALID_DICOM', message: 'no preamble' } });
    metrics.record({ kind: 'failure', sopInstanceUid: '1.5', model: { id: 'cxr', version: '2.0.0' }, error: { code: 'INFERENCE_FAILED', message: 'out of memory' }, deployment: 'clinical' });
    metrics.record({ kind: 'findings', sopInstanceUid: '1.6', modelKey: 'cxr@2.0.0', deployment: 'shadow', findings: [finding('pneumonia', { positive: true })] });

    const families = parseExposition(await registry.metrics());
    const of = { model: 'cxr', version: '2.0.0', deployment: 'clinical' };
    expect(['completed', 'not-applicable', 'invalid-input', 'failed', 'model-not-loaded'].map((outcome) => valueOf(families, 'lantern_read_assist_jobs_total', { ...of, outcome }))).toEqual([1, 1, 1, 1, 0]);
    expect(valueOf(families, 'lantern_findings_total', { ...of, label: 'pneumonia', result: 'positive' })).toBe(1);
    expect(valueOf(families, 'lantern_findings_total', { ...of, label: 'pneumonia', result: 'not-applicable' })).toBe(1);
    expect(valueOf(families, 'lantern_findings_total', { ...of, label: 'effusion', result: 'refer' })).toBe(1);
    expect(valueOf(families, 'lantern_findings_total', { ...of, label: 'nodule', result: 'negative' })).toBe(1);
    // The declined image was parsed and never decoded: two parse timings, one inference.
    expect(valueOf(families, 'lantern_inference_stage_duration_seconds_count', { ...of, stage: 'parse' })).toBe(2);
    expect(valueOf(families, 'lantern_inference_stage_duration_seconds_count', { ...of, stage: 'inference' })).toBe(1);
    expect(valueOf(families, 'lantern_inference_stage_duration_seconds_sum', { ...of, stage: 'inference' })).toBeCloseTo(0.08);
    expect(valueOf(families, 'lantern_read_assist_queue_wait_seconds_sum', of)).toBeCloseTo(1.7);
    // A shadow run is counted apart from the clinical ones.
    expect(valueOf(families, 'lantern_read_assist_jobs_total', { ...of, deployment: 'shadow', outcome: 'completed' })).toBe(1);
    expect(valueOf(families, 'lantern_findings_total', { ...of, deployment: 'shadow', label: 'pneumonia', result: 'positive' })).toBe(1);
  });
});
