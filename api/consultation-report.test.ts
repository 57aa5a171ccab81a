import { describe, expect, it } from 'vitest';
import type { Consultation } from '../contract/consultations.ts';
import type { ConsultationReportData } from '../store/consultations.ts';
import { escapeHtml, renderConsultationReport } from './consultation-report.ts';

const asked: Consultation = {
  id: '6f1c1f0e-0000-4000-8000-000000000001', fromSiteId: 'town-t', toSiteId: 'county-c', origin: 'asked', askedBy: 'dr-zhao',
  askedAt: '2026-12-03T08:00:00.000Z', subject: { kind: 'study', studyInstanceUid: '1.2.3' }, question: 'Pneumonia? <img src=x onerror=alert(1)>',
  urgency: 'urgent', status: 'answered', triageLevel: 'II', sla: { targetMinutes: 120, dueAt: '2026-12-03T10:00:00.000Z', breached: true },
  openedBy: 'dr-wang', openedAt: '2026-12-03T09:00:00.000Z',
  opinion: { impression: 'RLL consolidation', recommendation: 'refer', urgency: 'urgent', text: 'Send today & recheck "SpO2".', answeredBy: 'dr-wang', answeredAt: '2026-12-03T10:30:00.000Z' },
  aiAssisted: 'AI-assisted',
};

const data: ConsultationReportData = {
  consultation: asked,
  fromSite: { id: 'town-t', name: 'Township <T> clinic', level: 'township' },
  toSite: { id: 'county-c', name: 'County C hospital', level: 'county' },
  patientConsented: true,
  study: {
    studyInstanceUid: '1.2.3', patientName: 'Zhang^San', patientId: 'P-1', patientSex: 'M', patientAge: '054Y', modality: 'CR', studyDate: '20261203',
    findings: [
      { label: 'pneumonia', display: 'Pneumonia', probability: 0.914, positive: true, refer: false, model: 'cxr-pneumonia-adult 1.0.0' },
      { label: 'pneumonia', display: 'Pneumonia (paediatric)', probability: null, positive: false, refer: false, notApplicable: { en: 'adult patient', zh: '成人患者' }, model: 'pneumonia-cxr 1.1.0' },
    ],
  },
};

describe('the consultation report', () => {
  it('when a value holds markup, then it is escaped wherever it appears', () => {
    expect(escapeHtml('<a href="x">&\'</a>')).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;');
    const html = renderConsultationReport(data, 'en');
    expect(html).not.toContain('<img');
    expect(html).toContain('Pneumonia? &lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('Township &lt;T&gt; clinic');
    expect(html).toContain('Send today &amp; recheck &quot;SpO2&quot;.');
  });

  it('when rendered in English, then it names both sites with levels, the findings with probabilities and the AI-assisted statement, the opinion with both labels, and the breached SLA', () => {
    const html = renderConsultationReport(data, 'en', { now: new Date('2026-12-03T11:00:00Z'), styleNonce: 'n0nce+/=' });
    expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(html).toContain('<style nonce="n0nce+/=">');
    expect(html).toContain('<footer>Generated<span class="alt">生成时间</span>: 2026-12-03 11:00:00 UTC');
    expect(html).toContain('Township &lt;T&gt; clinic (township)');
    expect(html).toContain('County C hospital (county)');
    expect(html).toContain('<td>Pneumonia</td><td>positive</td><td>0.91</td><td>cxr-pneumonia-adult 1.0.0</td>');
    expect(html).toContain('<td>not applicable (adult patient)</td><td>—</td>');
    expect(html).toMatch(/AI-assisted finding/);
    expect(html).toContain('Recommendation<span class="alt">建议</span>');
    expect(html).toContain('Refer<span class="alt">转诊</span>');
    expect(html).toContain('<span class="breached">breached<span class="alt">超时</span></span>');
    expect(html).toContain('2026-12-03 10:30:00 UTC — dr-wang');
    expect(html).toContain('Zhang^San, M, 054Y');
    expect(html).toContain('attested by dr-zhao: the patient agreed to remote consultation');
    expect(renderConsultationReport(data, 'zh')).toContain('<td>不适用 (成人患者)</td>');
  });

  it('when rendered in Chinese for an assessment, then the labels lead in Chinese and the triage level, reasons and scores are shown; nothing is fetched from outside', () => {
    const assessment: ConsultationReportData = {
      ...data, study: undefined,
      consultation: {
        ...asked, status: 'open', opinion: undefined, openedAt: undefined, openedBy: undefined, sla: { ...asked.sla, breached: false },
        subject: {
          kind: 'assessment', patientId: 'P-2', request: { scores: {}, risks: {} },
          answer: {
            triage: { priority: 80, level: 'II', levelDisplay: 'Critical', levelDisplayZh: '危重', reasons: [{ code: 'news2', text: 'NEWS2 7 (high)', textZh: 'NEWS2 7 分（高危）', weight: 7 }], why: 'NEWS2 7', whyZh: 'NEWS2 7', policy: { id: 'triage-policy', version: '1.2.0', sha256: 'a' } },
            scores: { news2: { model: { id: 'news2', version: '1.0.0', title: 'NEWS2', sha256: 'b' }, outcome: 'deterioration', band: { label: 'high', display: 'High', displayZh: '高危' }, inputs: {}, warnings: [], withinValidatedRange: true, aiAssisted: 'x', timingMs: 0, score: 7, terms: [] } },
            risks: {}, aiAssisted: 'AI-assisted',
          },
        },
      },
    };
    const html = renderConsultationReport({ ...assessment, patientConsented: null }, 'zh');
    expect(html).toContain('未征询：按本站策略转阅片机构复核');
    expect(html).toContain('<html lang="zh-CN">');
    expect(html).toContain('远程会诊报告<span class="alt">Remote consultation report</span>');
    expect(html).toContain('II — 危重');
    expect(html).toContain('<li>NEWS2 7 分（高危）</li>');
    expect(html).toContain('<td>NEWS2</td><td>7</td><td>高危</td>');
    expect(html).toContain('尚未答复。');
    expect(html).toContain('计时中');
    expect(html).toMatch(/@media print/);
    expect(html).not.toMatch(/<script|<link|<img|url\(/);
  });
});
