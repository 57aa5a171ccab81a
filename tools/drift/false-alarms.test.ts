import { describe, expect, it } from 'vitest';
import { alertRate } from './false-alarms.ts';
import { UNSHIFTED } from './synthetic.ts';

describe('drift alert on synthetic streams', () => {
  it('when 40 seeded unshifted streams run 10 windows each, then at most 1% of windows raise an alert', () => {
    const { windows, windowAlertRate } = alertRate({ streams: 40, windowsPerStream: 10, shape: UNSHIFTED });
    expect(windows).toBe(400);
    expect(windowAlertRate).toBeLessThanOrEqual(0.01);
  });

  it('when images are brighter by one film-to-film sd (0.05), then nearly every window alerts', () => {
    expect(alertRate({ streams: 5, windowsPerStream: 4, shape: { ...UNSHIFTED, brightness: 0.05 } }).windowAlertRate).toBeGreaterThanOrEqual(0.95);
  });

  it('when the OOD score is one log-sd higher, then nearly every window alerts', () => {
    expect(alertRate({ streams: 5, windowsPerStream: 4, shape: { ...UNSHIFTED, oodShift: 0.2 } }).windowAlertRate).toBeGreaterThanOrEqual(0.95);
  });
});
