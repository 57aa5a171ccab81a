/**
 * The consultation report (`GET /v1/consultations/{id}/report?lang=`): one self-contained HTML
 * document — inline CSS with print rules, no script, no external asset — that prints the whole
 * exchange: both sites, the question, what it is about (with the AI's findings and the
 * AI-assisted statement), the opinion and the timeline with the SLA. Every label carries both
 * languages, `lang` first; every value from the case is HTML-escaped. A pure function of its data.
 */
import type { ConsultationRecommendation, ConsultationUrgency } from '../contract/consultations.ts';
import type { SITE_LEVELS } from '../contract/sites.ts';
import { findingClaim, type ConsultationReportData } from '../store/consultations.ts';
import { AI_ASSISTED_NOTICE, AI_ASSISTED_NOTICE_ZH } from '../store/types.ts';

export type ReportLanguage = 'en' | 'zh';

type Bilingual = { en: string; zh: string };

const LABELS = {
  title: { en: 'Remote consultation report', zh: '远程会诊报告' },
  asking: { en: 'Asking site', zh: '申请机构' },
  answering: { en: 'Consulting site', zh: '会诊机构' },
  origin: { en: 'Origin', zh: '来源' },
  status: { en: 'Status', zh: '状态' },
  urgency: { en: 'Urgency', zh: '紧急程度' },
  triageLevel: { en: 'Triage level', zh: '分诊级别' },
  consent: { en: 'Patient consent', zh: '患者知情同意' },
  consentRouted: { en: 'not asked: routed by site policy for review by the site that reads its films', zh: '未征询：按本站策略转阅片机构复核' },
  question: { en: 'Question', zh: '会诊问题' },
  subject: { en: 'Subject', zh: '会诊对象' },
  patient: { en: 'Patient', zh: '患者' },
  patientId: { en: 'Patient ID', zh: '患者编号' },
  modality: { en: 'Modality', zh: '检查类型' },
  studyDate: { en: 'Study date', zh: '检查日期' },
  description: { en: 'Description', zh: '检查描述' },
  findings: { en: 'AI findings', zh: 'AI 发现' },
  finding: { en: 'Finding', zh: '发现' },
  call: { en: 'AI call', zh: 'AI 判断' },
  probability: { en: 'Probability', zh: '概率' },
  model: { en: 'Model', zh: '模型' },
  reasons: { en: 'Reasons', zh: '依据' },
  scores: { en: 'Scores', zh: '评分' },
  opinion: { en: 'Opinion', zh: '会诊意见' },
  impression: { en: 'Impression', zh: '印象' },
  recommendation: { en: 'Recommendation', zh: '建议' },
  text: { en: 'Comments', zh: '补充说明' },
  answeredBy: { en: 'Answered by', zh: '会诊医生' },
  notAnswered: { en: 'Not answered yet.', zh: '尚未答复。' },
  timeline: { en: 'Timeline', zh: '时间线' },
  asked: { en: 'Asked', zh: '申请' },
  opened: { en: 'Opened', zh: '接诊' },
  answered: { en: 'Answered', zh: '答复' },
  withdrawn: { en: 'Withdrawn', zh: '撤回' },
  sla: { en: 'SLA', zh: '时限' },
  slaMet: { en: 'met', zh: '达标' },
  slaBreached: { en: 'breached', zh: '超时' },
  slaRunning: { en: 'running', zh: '计时中' },
  due: { en: 'due', zh: '截止' },
  minutes: { en: 'min', zh: '分钟' },
  vitals: { en: 'Home vital signs of the patient', zh: '患者居家生命体征' },
  assessment: { en: 'Assessment (triage)', zh: '评估（分诊）' },
  study: { en: 'Imaging study', zh: '影像检查' },
  generated: { en: 'Generated', zh: '生成时间' },
} satisfies Record<string, Bilingual>;

export const RECOMMENDATION_LABELS: Record<ConsultationRecommendation, Bilingual> = {
  refer: { en: 'Refer', zh: '转诊' },
  'treat-locally': { en: 'Treat locally', zh: '本地治疗' },
  'repeat-film': { en: 'Repeat film', zh: '重新拍片' },
  'further-tests': { en: 'Further tests', zh: '进一步检查' },
  'follow-up': { en: 'Follow-up', zh: '随访' },
};

const URGENCY_LABELS: Record<ConsultationUrgency, Bilingual> = {
  routine: { en: 'Routine', zh: '常规' }, urgent: { en: 'Urgent', zh: '紧急' }, emergency: { en: 'Emergency', zh: '急诊' },
};

const LEVEL_LABELS: Record<(typeof SITE_LEVELS)[number], Bilingual> = {
  village: { en: 'village', zh: '村' }, township: { en: 'township', zh: '乡镇' }, county: { en: 'county', zh: '县' }, city: { en: 'city', zh: '市' },
};

const STATUS_LABELS: Record<string, Bilingual> = {
  open: { en: 'Open', zh: '待接诊' }, 'in-review': { en: 'In review', zh: '会诊中' }, answered: { en: 'Answered', zh: '已答复' }, withdrawn: { en: 'Withdrawn', zh: '已撤回' },
};

const ORIGIN_LABELS: Record<string, Bilingual> = {
  asked: { en: 'Asked by a clinician', zh: '医生申请' },
  'ai-reader-disagreement': { en: 'Routed by site policy: AI and reader disagree', zh: '按策略转诊：AI 与阅片医生意见不一致' },
  'ai-low-confidence': { en: 'Routed by site policy: AI not confident', zh: 'AI 把握不足，按策略转诊' },
};

/** The five characters HTML gives meaning to, as entities. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const CSS = `
  body { font: 14px/1.5 "Noto Sans", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; color: #111; margin: 24px auto; max-width: 820px; padding: 0 16px; }
  h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 20px 0 6px; border-bottom: 1px solid #999; }
  .alt { color: #555; font-size: 0.85em; margin-left: 0.4em; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; } dt { font-weight: 600; } dd { margin: 0; }
  table { border-collapse: collapse; width: 100%; } th, td { border: 1px solid #bbb; padding: 3px 6px; text-align: left; vertical-align: top; }
  .question, .free-text { white-space: pre-wrap; border-left: 3px solid #999; padding: 4px 10px; margin: 4px 0; }
  .notice { border: 1px solid #b58900; background: #fdf6e3; padding: 6px 10px; margin-top: 12px; }
  .breached { color: #b00020; font-weight: 600; } .met { color: #1b5e20; font-weight: 600; }
  footer { margin-top: 24px; color: #555; font-size: 12px; }
  @page { size: A4; margin: 15mm; }
  @media print { body { margin: 0; max-width: none; padding: 0; } h2, tr, dl, .notice { break-inside: avoid; } .notice { background: none; } a { color: inherit; text-decoration: none; } }
`;

/**
 * The report as one HTML document in `lang` (labels in both languages, `lang` first). `styleNonce`
 * is the answer's CSP nonce, which lets the browser apply the document's own <style> (api/security.ts).
 */
export function renderConsultationReport(data: ConsultationReportData, lang: ReportLanguage, options: { now?: Date; styleNonce?: string } = {}): string {
  const now = options.now ?? new Date();
  const other: ReportLanguage = lang === 'en' ? 'zh' : 'en';
  const label = (b: Bilingual) => `${escapeHtml(b[lang])}<span class="alt">${escapeHtml(b[other])}</span>`;
  const text = (b: Bilingual) => escapeHtml(b[lang]);
  const row = (name: Bilingual, value: string | undefined) => (value === undefined ? '' : `<dt>${label(name)}</dt><dd>${value}</dd>`);
  const when = (at: string | undefined) => (at === undefined ? undefined : escapeHtml(at.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')));
  const site = (s: ConsultationReportData['fromSite']) => `${escapeHtml(s.name)} (${text(LEVEL_LABELS[s.level])})`;
  const c = data.consultation;
  const slaState: Bilingual = c.status === 'open' || c.status === 'in-review'
    ? (c.sla.breached ? LABELS.slaBreached : LABELS.slaRunning)
    : (c.sla.breached ? LABELS.slaBreached : LABELS.slaMet);
  const opinion = c.opinion
    ? `<dl>${row(LABELS.impression, escapeHtml(c.opinion.impression))}${row(LABELS.recommendation, label(RECOMMENDATION_LABELS[c.opinion.recommendation]))}${row(LABELS.urgency, label(URGENCY_LABELS[c.opinion.urgency]))}${row(LABELS.answeredBy, `${escapeHtml(c.opinion.answeredBy)}, ${when(c.opinion.answeredAt)}`)}</dl>${c.opinion.text ? `<div class="free-text">${escapeHtml(c.opinion.text)}</div>` : ''}`
    : `<p>${label(LABELS.notAnswered)}</p>`;
  return `<!doctype html>
<html lang="${lang === 'zh' ? 'zh-CN' : 'en'}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${text(LABELS.title)} — ${escapeHtml(c.id)}</title><style${options.styleNonce ? ` nonce="${escapeHtml(options.styleNonce)}"` : ''}>${CSS}</style></head>
<body>
<h1>${label(LABELS.title)}</h1>
<dl>
${row(LABELS.asking, site(data.fromSite))}
${row(LABELS.answering, site(data.toSite))}
${row(LABELS.origin, label(ORIGIN_LABELS[c.origin]))}
${row(LABELS.status, label(STATUS_LABELS[c.status]))}
${row(LABELS.urgency, label(URGENCY_LABELS[c.urgency]))}
${row(LABELS.triageLevel, c.triageLevel && escapeHtml(c.triageLevel))}
${row(LABELS.consent, data.patientConsented ? escapeHtml(lang === 'zh' ? `已由 ${c.askedBy} 确认患者同意远程会诊` : `attested by ${c.askedBy}: the patient agreed to remote consultation`) : label(LABELS.consentRouted))}
</dl>
<h2>${label(LABELS.question)}</h2>
<div class="question">${escapeHtml(c.question)}</div>
<h2>${label(LABELS.subject)}</h2>
${subjectSection(data, lang, label, row)}
<h2>${label(LABELS.opinion)}</h2>
${opinion}
<h2>${label(LABELS.timeline)}</h2>
<dl>
${row(LABELS.asked, `${when(c.askedAt)} — ${escapeHtml(c.askedBy)}`)}
${row(LABELS.opened, c.openedAt && `${when(c.openedAt)} — ${escapeHtml(c.openedBy)}`)}
${row(LABELS.answered, c.opinion && `${when(c.opinion.answeredAt)} — ${escapeHtml(c.opinion.answeredBy)}`)}
${row(LABELS.withdrawn, c.withdrawnAt && `${when(c.withdrawnAt)} — ${escapeHtml(c.withdrawnBy)}`)}
${row(LABELS.sla, `${c.sla.targetMinutes} ${text(LABELS.minutes)}, ${text(LABELS.due)} ${when(c.sla.dueAt)}: <span class="${c.sla.breached ? 'breached' : 'met'}">${label(slaState)}</span>`)}
</dl>
<footer>${label(LABELS.generated)}: ${when(now.toISOString())} · ${escapeHtml(c.id)}</footer>
</body></html>
`;
}

type Label = (b: Bilingual) => string;
type Row = (name: Bilingual, value: string | undefined) => string;

/** What the case is about: a study with its AI findings, an assessment with its reasons and scores, or a patient's home vital signs. */
function subjectSection(data: ConsultationReportData, lang: ReportLanguage, label: Label, row: Row): string {
  const subject = data.consultation.subject;
  const notice = `<p class="notice">${escapeHtml(lang === 'zh' ? AI_ASSISTED_NOTICE_ZH : AI_ASSISTED_NOTICE)}<span class="alt">${escapeHtml(lang === 'zh' ? AI_ASSISTED_NOTICE : AI_ASSISTED_NOTICE_ZH)}</span></p>`;
  if (subject.kind === 'vitals') return `<p>${label(LABELS.vitals)}</p><dl>${row(LABELS.patientId, escapeHtml(subject.patientId))}</dl>`;
  if (subject.kind === 'assessment') {
    const triage = subject.answer.triage;
    const reasons = triage.reasons.map((r) => `<li>${escapeHtml(lang === 'zh' ? r.textZh : r.text)}</li>`).join('');
    const scores = Object.entries(subject.answer.scores).map(([id, s]) => `<tr><td>${escapeHtml(s.model.title || id)}</td><td>${escapeHtml(s.score)}</td><td>${escapeHtml(lang === 'zh' ? s.band.displayZh ?? s.band.display : s.band.display)}</td></tr>`).join('');
    return `<p>${label(LABELS.assessment)}</p><dl>${row(LABELS.patientId, subject.patientId && escapeHtml(subject.patientId))}${row(LABELS.triageLevel, `${escapeHtml(triage.level)} — ${escapeHtml(lang === 'zh' ? triage.levelDisplayZh : triage.levelDisplay)}`)}</dl>
<h3>${label(LABELS.reasons)}</h3><ul>${reasons}</ul>${scores ? `<h3>${label(LABELS.scores)}</h3><table><tbody>${scores}</tbody></table>` : ''}${notice}`;
  }
  const study = data.study;
  if (!study) return `<p>${label(LABELS.study)}: ${escapeHtml(subject.studyInstanceUid)}</p>`;
  const findings = study.findings.map((f) => {
    const call = findingClaim(f)[lang] + (f.probability === null && f.notApplicable ? ` (${f.notApplicable[lang]})` : '');
    return `<tr><td>${escapeHtml(f.display)}</td><td>${escapeHtml(call)}</td><td>${f.probability === null ? '—' : escapeHtml(f.probability.toFixed(2))}</td><td>${escapeHtml(f.model)}</td></tr>`;
  }).join('');
  const patient = [study.patientName, study.patientSex, study.patientAge].filter(Boolean).join(', ');
  return `<p>${label(LABELS.study)}</p><dl>
${row(LABELS.patient, patient ? escapeHtml(patient) : undefined)}${row(LABELS.patientId, study.patientId && escapeHtml(study.patientId))}
${row(LABELS.modality, study.modality && escapeHtml(study.modality))}${row(LABELS.studyDate, study.studyDate && escapeHtml(study.studyDate))}${row(LABELS.description, study.studyDescription && escapeHtml(study.studyDescription))}
</dl>
<h3>${label(LABELS.findings)}</h3>
<table><thead><tr><th>${label(LABELS.finding)}</th><th>${label(LABELS.call)}</th><th>${label(LABELS.probability)}</th><th>${label(LABELS.model)}</th></tr></thead><tbody>${findings}</tbody></table>
${notice}`;
}
