import { DEFAULT_DRIFT_POLICY, driftAlerts, versionDrift } from '../../inference/drift/windows.ts';
import type { DriftPolicy } from '../../contract/model-drift.ts';
import { syntheticStream, UNSHIFTED, type StreamShape } from './synthetic.ts';
import { seededRandom } from '../../inference/seeded-random.ts';

/**
 * The drift alert's false-alarm rate, measured: many seeded UNSHIFTED streams (the windows
 * drawn from the reference's own distribution) and the share of windows that raise any alert;
 * and, for contrast, how often a SHIFTED stream's windows alert.
 *
 *   npx tsx tools/drift/false-alarms.ts [streams=200] [windows=10]
 */
export function alertRate(options: { streams: number; windowsPerStream: number; shape: StreamShape; policy?: DriftPolicy; seed?: number }) {
  const policy = options.policy ?? DEFAULT_DRIFT_POLICY;
  let windows = 0;
  let alerting = 0;
  let alerts = 0;
  for (let s = 0; s < options.streams; s++) {
    const random = seededRandom((options.seed ?? 1) * 100_003 + s);
    const reference = syntheticStream(policy.referenceSize, UNSHIFTED, random);
    const later = syntheticStream(options.windowsPerStream * policy.windowSize, options.shape, random, Date.UTC(2026, 1, 1));
    const drift = versionDrift('1.0.0', [...reference, ...later], policy);
    const raised = driftAlerts('synthetic', drift, policy);
    windows += drift.windows.filter((w) => w.complete).length;
    alerts += raised.length;
    alerting += new Set(raised.map((a) => a.windowIndex)).size;
  }
  return { windows, alertingWindows: alerting, alerts, windowAlertRate: alerting / windows };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const streams = Number(process.argv[2] ?? 200);
  const windowsPerStream = Number(process.argv[3] ?? 10);
  const unshifted = alertRate({ streams, windowsPerStream, shape: UNSHIFTED });
  const brighter = alertRate({ streams: Math.ceil(streams / 10), windowsPerStream, shape: { ...UNSHIFTED, brightness: 0.05 } });
  const oodShift = alertRate({ streams: Math.ceil(streams / 10), windowsPerStream, shape: { ...UNSHIFTED, oodShift: 0.2 } });
  console.log(JSON.stringify({ policy: DEFAULT_DRIFT_POLICY, unshifted, brighterBy005: brighter, oodScoreTimes122: oodShift }, null, 2));
}
