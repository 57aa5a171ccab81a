import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import type { LoadedModel } from '../inference/registry.ts';
import { clinicalModelIds, denominatorOf, localDate } from './surveillance.ts';

describe('surveillance run: days, denominators, clinical models', () => {
  it('when it is 01:30 UTC on 20 November, then in Shanghai (UTC+8) it is already the 20th there and yesterday is the 19th; at 17:00 UTC it is the 21st', () => {
    expect(localDate('Asia/Shanghai', 0, new Date('2026-11-20T01:30:00Z'))).toBe('2026-11-20');
    expect(localDate('Asia/Shanghai', -1, new Date('2026-11-20T01:30:00Z'))).toBe('2026-11-19');
    expect(localDate('Asia/Shanghai', 0, new Date('2026-11-20T17:00:00Z'))).toBe('2026-11-21');
    expect(localDate('UTC', 0, new Date('2026-11-20T17:00:00Z'))).toBe('2026-11-20');
    // Across a month and a year end.
    expect(localDate('Asia/Shanghai', -1, new Date('2027-01-01T00:10:00Z'))).toBe('2026-12-31');
  });

  it('when LANTERN_TIMEZONE is unset, then days are Beijing days; a zone Node does not know stops the start naming the setting', () => {
    expect(loadConfig({}).timeZone).toBe('Asia/Shanghai');
    expect(loadConfig({ LANTERN_TIMEZONE: 'Asia/Urumqi' }).timeZone).toBe('Asia/Urumqi');
    expect(() => loadConfig({ LANTERN_TIMEZONE: 'Beijing' })).toThrow(/LANTERN_TIMEZONE must be an IANA time zone/);
  });

  it('when a signal is named, then its rate is out of studies for imaging, patients measured for fever and tachypnoea, consultations for a recommendation', () => {
    expect(denominatorOf('ai-positive:pneumonia')).toBe('studies');
    expect(denominatorOf('reader-confirmed:effusion')).toBe('studies');
    expect(denominatorOf('fever')).toBe('assessments');
    expect(denominatorOf('tachypnoea')).toBe('assessments');
    expect(denominatorOf('consultation:refer')).toBe('consultations');
  });

  it('when models are loaded, then only clinical and canary read-assist models count (not evaluate-only or shadow ones, not scores)', () => {
    const model = (id: string, task: string, deployment?: string) => ({ card: { id, task, ...(deployment && { deployment }) } }) as unknown as LoadedModel;
    expect(clinicalModelIds([model('pneumonia-cxr', 'read-assist', 'clinical'), model('nih-cxr-abnormal', 'read-assist', 'evaluate-only'), model('news2', 'score')])).toEqual(['pneumonia-cxr']);
    expect(clinicalModelIds([model('pneumonia-cxr', 'read-assist', 'canary'), model('pneumonia-cxr-next', 'read-assist', 'shadow')])).toEqual(['pneumonia-cxr']);
  });
});
