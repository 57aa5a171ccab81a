import { defineMessages, locale } from '../i18n.ts';
import { msg as consultationMsg } from '../consultations/messages.ts';
import type { ConsultationRecommendation } from '../consultations/api.ts';
import type { SignalItem, SurveillanceAlert } from './api.ts';

export const msg = defineMessages({
  en: {
    title: 'Surveillance',
    heading: 'Surveillance and early warning',
    notice: 'AI-assisted surveillance: counts include AI findings and bedside assessments. An alert is a statistical prompt to look at the series and its sites, not a diagnosis of an outbreak.',
    signal: 'Signal',
    days: 'Days shown',
    noSignals: 'No signal has been counted at your sites yet. The detection runs every night at 00:30; an admin can run it now.',
    topLevel: 'Sites without a parent',
    group: (name: string) => `Group: ${name}`,
    cases: 'cases',
    expected: 'expected',
    alarmLine: 'alarm line',
    alarmDay: 'alarm',
    total: (count: number, of: number | undefined, what: string) => (of === undefined ? `${count} in the period` : `${count} of ${of} ${what}`),
    chartTitle: (site: string, signal: string) => `${signal} at ${site}, per day`,
    chartDescription: (days: number, alarms: number) => `${days} days; bars are cases per day, the shaded band runs from the expected count to the alarm line; ${alarms} alarm day(s) marked in red.`,
    alerts: 'Alerts',
    openAlerts: 'Open',
    acknowledgedAlerts: 'Acknowledged',
    noAlerts: 'No alert.',
    scope: (k: SurveillanceAlert['scopeKind']) => ({ site: 'Site', group: 'Group total', 'multi-point': 'Several sites together' })[k],
    raisedOn: (day: string) => `day ${day}`,
    method: (m: string) => `method ${m}`,
    evidence: 'Evidence',
    observed: (x: number, mean: number | undefined, sd: number | undefined, days: number) =>
      `observed ${x}; baseline ${mean === undefined ? '—' : mean.toFixed(1)}${sd === undefined ? '' : ` (sd ${sd.toFixed(1)})`} from ${days} days`,
    statistic: (s: number, t: number) => `statistic ${s.toFixed(2)} > threshold ${t.toFixed(2)}`,
    sitesRising: (sites: string, n: number, days: number) => `${sites}: at least ${n} sites within ${days} days`,
    note: 'Note (what was done)',
    acknowledge: 'Acknowledge',
    acknowledgedBy: (by: string, at: string, note: string) => `Acknowledged by ${by}, ${at}: ${note}`,
    withdrawnAlerts: 'Withdrawn',
    withdrawnOn: (at: string, runDay: string) => `Withdrawn ${at}: on the counts recomputed by the run of ${runDay}, this day no longer alarms (a case corrected or no longer counted).`,
    statisticNow: (s: number, t: number) => `statistic now ${s.toFixed(2)}, not above threshold ${t.toFixed(2)}`,
    denominator: (d: string) => ({ studies: 'studies', assessments: 'patients assessed', consultations: 'consultations' } as Record<string, string>)[d] ?? d,
    signalName: (signal: string) => ({ fever: 'Fever (≥ 38.0 °C)', tachypnoea: 'Tachypnoea (RR ≥ 21/min)' } as Record<string, string>)[signal] ?? '',
    prefix: (kind: string) => ({ 'ai-positive': 'AI-positive', 'reader-confirmed': 'Reader-confirmed', consultation: 'Consultations answered' } as Record<string, string>)[kind] ?? kind,
  },
  zh: {
    title: '监测预警',
    heading: '传染病多点触发监测预警',
    notice: 'AI辅助监测：计数包含 AI 发现与床旁评估。预警是提示查看序列与相关机构的统计信号，并非暴发诊断。',
    signal: '监测信号',
    days: '显示天数',
    noSignals: '您所在机构尚无已计数的监测信号。探测每晚 00:30 运行；管理员可立即运行。',
    topLevel: '无上级机构',
    group: (name: string) => `分组：${name}`,
    cases: '例',
    expected: '期望值',
    alarmLine: '预警线',
    alarmDay: '预警',
    total: (count: number, of: number | undefined, what: string) => (of === undefined ? `期间共 ${count} 例` : `${count} / ${of} ${what}`),
    chartTitle: (site: string, signal: string) => `${site}：${signal}（每日）`,
    chartDescription: (days: number, alarms: number) => `${days} 天；柱为每日病例数，阴影带为期望值至预警线；红色标记 ${alarms} 个预警日。`,
    alerts: '预警',
    openAlerts: '未处理',
    acknowledgedAlerts: '已确认',
    noAlerts: '暂无预警。',
    scope: (k: SurveillanceAlert['scopeKind']) => ({ site: '单点', group: '分组合计', 'multi-point': '多点同时上升' })[k],
    raisedOn: (day: string) => `日期 ${day}`,
    method: (m: string) => `方法 ${m}`,
    evidence: '证据',
    observed: (x: number, mean: number | undefined, sd: number | undefined, days: number) =>
      `观察值 ${x}；基线 ${mean === undefined ? '—' : mean.toFixed(1)}${sd === undefined ? '' : `（标准差 ${sd.toFixed(1)}）`}，基于 ${days} 天`,
    statistic: (s: number, t: number) => `统计量 ${s.toFixed(2)} > 阈值 ${t.toFixed(2)}`,
    sitesRising: (sites: string, n: number, days: number) => `${sites}：${days} 天内至少 ${n} 个机构`,
    note: '处理说明',
    acknowledge: '确认',
    acknowledgedBy: (by: string, at: string, note: string) => `${by} 于 ${at} 确认：${note}`,
    withdrawnAlerts: '已撤销',
    withdrawnOn: (at: string, runDay: string) => `已于 ${at} 撤销：按 ${runDay} 运行时重新计算的计数，该日不再报警（病例已更正或不再计入）。`,
    statisticNow: (s: number, t: number) => `当前统计量 ${s.toFixed(2)}，未超过阈值 ${t.toFixed(2)}`,
    denominator: (d: string) => ({ studies: '例检查', assessments: '名评估患者', consultations: '例会诊' } as Record<string, string>)[d] ?? d,
    signalName: (signal: string) => ({ fever: '发热（≥38.0 °C）', tachypnoea: '呼吸急促（≥21 次/分）' } as Record<string, string>)[signal] ?? '',
    prefix: (kind: string) => ({ 'ai-positive': 'AI阳性', 'reader-confirmed': '医生确认', consultation: '会诊答复' } as Record<string, string>)[kind] ?? kind,
  },
});

/** A signal's name in the current language: fever, tachypnoea, or `<kind>: <label or recommendation>`. */
export function signalName(signal: string, item?: Pick<SignalItem, 'label'>): string {
  const m = msg();
  if (m.signalName(signal)) return m.signalName(signal);
  const [kind, rest] = signal.split(':');
  const prefix = m.prefix(kind);
  const detail = kind === 'consultation'
    ? consultationMsg().recommendation(rest as ConsultationRecommendation)
    : (locale() === 'zh' ? item?.label?.displayZh : undefined) ?? item?.label?.display ?? rest;
  return `${prefix}${locale() === 'zh' ? '：' : ': '}${detail ?? rest}`;
}
