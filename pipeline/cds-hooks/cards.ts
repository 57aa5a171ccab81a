import { createHash } from 'node:crypto';
import type { RiskAnswer, ScoreAnswer, TriageAnswer } from '../../contract/calculations.ts';
import { CDS_OVERRIDE_REASONS, LANTERN_CODE_SYSTEMS, type CdsCard, type CdsCoding } from '../../contract/cds-hooks.ts';
import type { Applicability } from '../../contract/findings.ts';
import type { IssuedCard, PatientStudy } from '../../store/cds-hooks.ts';
import type { RecordValue } from './fhir-inputs.ts';

/**
 * How Lantern's answers read as CDS Hooks cards: one per score or risk, one for the triage
 * policy over them, one per model that could not answer for a reason the clinician should see
 * (a unit, a value, a population), one listing what the record lacked, and one per recent
 * study of the patient here with what the AI said and a link to it in the viewer. Every card
 * says it is AI-assisted or calculated and carries its model's provenance.
 */

/** A card and what is remembered of it for feedback. */
export interface Issued {
  card: CdsCard;
  issued: IssuedCard;
}

/** Where the cards point: the origin the client called, and the hook call the uuids derive from. */
export interface CardContext {
  origin: string;
  serviceId: string;
  hookInstance: string;
  actor: string;
  patientId: string;
}

/**
 * A name-based (version 5, RFC 9562) UUID in Lantern's namespace: the same hook call gives
 * the same card uuids, so a retried call stores nothing twice and feedback finds its card.
 */
export function derivedUuid(name: string): string {
  const namespace = Buffer.from('6c616e74-6572-4e2d-8364-732d686f6f6b'.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(namespace).update(name).digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** "One-sentence, <140-character summary": longer text is cut at a word with an ellipsis. */
export function summaryOf(text: string): string {
  if (text.length < 140) return text;
  const cut = text.slice(0, 138);
  return `${cut.slice(0, Math.max(cut.lastIndexOf(' '), 100))}…`;
}

const overrideReasons: NonNullable<CdsCard['overrideReasons']> = CDS_OVERRIDE_REASONS.map(({ code, display }) => ({ system: LANTERN_CODE_SYSTEMS.overrideReason, code, display }));
const topic = (code: string, display: string): CdsCoding => ({ system: LANTERN_CODE_SYSTEMS.topic, code, display });
const uuidOf = (ctx: CardContext, key: string) => derivedUuid(`${ctx.serviceId}|${ctx.hookInstance}|${ctx.actor}|${key}`);
const modelUrl = (ctx: CardContext, id: string) => `${ctx.origin}/v1/models/${encodeURIComponent(id)}`;

/** A model's answer recorded in the chart as a FHIR R4 RiskAssessment: the one suggestion a calculated card offers. */
function recordSuggestion(ctx: CardContext, key: string, answer: { model: { id: string; version: string; title: string; sha256: string }; outcome: string; aiAssisted: string },
  prediction: Record<string, unknown>, evidence: RecordValue[], label: string): NonNullable<CdsCard['suggestions']> {
  const basis = evidence.flatMap((e) => (e.reference ? [{ reference: e.reference }] : []));
  return [{
    label,
    uuid: uuidOf(ctx, `${key}|record`),
    isRecommended: false,
    actions: [{
      type: 'create',
      description: `Record the ${answer.model.title} result in the patient's chart (AI-assisted, with its model and version).`,
      resource: {
        resourceType: 'RiskAssessment',
        status: 'final',
        subject: { reference: `Patient/${ctx.patientId}` },
        occurrenceDateTime: new Date().toISOString(),
        method: { coding: [{ system: LANTERN_CODE_SYSTEMS.model, code: answer.model.id, display: `${answer.model.title} ${answer.model.version}` }], text: `${answer.model.title} ${answer.model.version} (sha256 ${answer.model.sha256})` },
        ...(basis.length ? { basis } : {}),
        prediction: [{ outcome: { text: answer.outcome }, ...prediction }],
        note: [{ text: answer.aiAssisted }],
      },
    }],
  }];
}

const provenance = (model: { id: string; version: string; sha256: string }) => `Model \`${model.id}\` ${model.version}, sha256 \`${model.sha256.slice(0, 16)}…\`.`;
const warningLines = (answer: { warnings: { message: string }[] }) => answer.warnings.map((w) => `- ⚠ ${w.message}`);
const evidenceLines = (evidence: RecordValue[]) => evidence.map((e) => `- ${e.source}`);

/** Score bands run from least to most urgent: the top band is critical, the bottom information. */
function scoreIndicator(bands: readonly { label: string }[], label: string): CdsCard['indicator'] {
  const i = bands.findIndex((b) => b.label === label);
  return i <= 0 ? 'info' : i === bands.length - 1 ? 'critical' : 'warning';
}

export function scoreCard(ctx: CardContext, answer: ScoreAnswer, bands: readonly { label: string }[], evidence: RecordValue[]): Issued {
  const key = `score|${answer.model.id}`;
  const outside = answer.withinValidatedRange ? '' : ' (outside validated range)';
  const card: CdsCard = {
    uuid: uuidOf(ctx, key),
    // The caveat before the band's text: a long band text is what the 140 characters cut, never the caveat.
    summary: summaryOf(`${answer.model.title.split(' (')[0]} ${answer.score}${outside}: ${answer.band.display}`),
    indicator: scoreIndicator(bands, answer.band.label),
    detail: [
      `**${answer.model.title}: ${answer.score} points** — ${answer.band.display}`,
      '',
      ...answer.terms.map((t) => `- ${t.display}: ${t.points} (${t.because})`),
      ...(answer.redFlags?.length ? ['', `Red flags: ${answer.redFlags.join(', ')}`] : []),
      ...warningLines(answer),
      ...(answer.applicability?.caveats ?? []).map((c) => `- ⚠ ${c.text}`),
      '', 'From the record:', ...evidenceLines(evidence),
      '', `*Calculated by Lantern (AI-assisted decision support): ${answer.aiAssisted}* ${provenance(answer.model)}`,
    ].join('\n'),
    source: { label: `Lantern · ${answer.model.title} ${answer.model.version}`, url: modelUrl(ctx, answer.model.id), topic: topic('score', 'Calculated clinical score') },
    suggestions: recordSuggestion(ctx, key, answer, { qualitativeRisk: { text: `${answer.score} points: ${answer.band.display}` } }, evidence, `Record ${answer.model.id} ${answer.score} in the chart`),
    selectionBehavior: 'at-most-one',
    overrideReasons,
  };
  return { card, issued: issuedOf(card, 'score', answer.model) };
}

export function riskCard(ctx: CardContext, answer: RiskAnswer, evidence: RecordValue[]): Issued {
  const key = `risk|${answer.model.id}`;
  const outside = answer.withinValidatedRange ? '' : ' (outside validated range)';
  const card: CdsCard = {
    uuid: uuidOf(ctx, key),
    summary: summaryOf(`${answer.model.title.split(' (')[0]}: ${answer.riskPercent}% ${answer.horizon}${outside} — ${answer.band.display}`),
    // A long-term risk is never an emergency: it informs, or warns above the lowest band.
    indicator: answer.band.label === 'low' ? 'info' : 'warning',
    detail: [
      `**${answer.model.title}: ${answer.riskPercent}%** (${answer.horizon}) — ${answer.band.display}`,
      '', `Outcome: ${answer.outcome}`, '', 'Largest contributions:',
      ...answer.contributions.slice(0, 5).map((c) => `- ${c.display}: ${c.value.toFixed(3)} (${answer.explanationKind})`),
      ...warningLines(answer),
      '', 'From the record:', ...evidenceLines(evidence),
      '', `*Calculated by Lantern (AI-assisted decision support): ${answer.aiAssisted}* ${provenance(answer.model)}`,
    ].join('\n'),
    source: { label: `Lantern · ${answer.model.title} ${answer.model.version}`, url: modelUrl(ctx, answer.model.id), topic: topic('risk', 'Calculated disease risk') },
    suggestions: recordSuggestion(ctx, key, answer, { probabilityDecimal: answer.risk, qualitativeRisk: { text: answer.band.display } }, evidence, `Record the ${answer.model.id} risk in the chart`),
    selectionBehavior: 'at-most-one',
    overrideReasons,
  };
  return { card, issued: issuedOf(card, 'risk', answer.model) };
}

const LEVEL_INDICATOR: Record<string, CdsCard['indicator']> = { I: 'critical', II: 'critical', III: 'warning', IV: 'info' };

export function triageCard(ctx: CardContext, triage: TriageAnswer['triage'], policy: { title: string; sha256: string; aiAssisted: string }): Issued {
  const key = 'triage';
  const model = { id: triage.policy.id, version: triage.policy.version, title: policy.title, sha256: policy.sha256 };
  const card: CdsCard = {
    uuid: uuidOf(ctx, key),
    summary: summaryOf(`Triage level ${triage.levelDisplay} · ${triage.why}`),
    indicator: LEVEL_INDICATOR[triage.level] ?? 'warning',
    detail: [
      `**Triage level ${triage.levelDisplay}** (priority ${Math.round(triage.priority)}/100)${triage.news2Band ? `, NEWS2 response: ${triage.news2Band}` : ''}`,
      '', ...triage.reasons.map((r) => `- ${r.text}`),
      '', `*Lantern's triage policy over the scores above (AI-assisted decision support): ${policy.aiAssisted}* ${provenance(model)}`,
    ].join('\n'),
    source: { label: `Lantern · ${policy.title} ${triage.policy.version}`, url: modelUrl(ctx, triage.policy.id), topic: topic('triage', 'Triage priority') },
    suggestions: recordSuggestion(ctx, key, { model, outcome: 'Triage level', aiAssisted: policy.aiAssisted }, { qualitativeRisk: { text: triage.levelDisplay } }, [], `Record triage level ${triage.level} in the chart`),
    selectionBehavior: 'at-most-one',
    overrideReasons,
  };
  return { card, issued: issuedOf(card, 'triage', model) };
}

/** What the closing line of a not-calculated card tells the clinician to do, by why the model did not answer. */
const NOT_CALCULATED_NEXT = {
  record: '*Lantern gives no score rather than a wrong one: correct the record (value or unit) and open the chart again.*',
  population: '*Lantern gives no score for a patient outside the population the score was made for: assess clinically, with a score made for this patient.*',
};

/**
 * A model that could not answer: for a reason in the record the clinician can act on (`record`:
 * a unit the card does not take, a value outside what is possible), or because the patient is
 * outside the population the card declares (`population`: nothing in the record to correct).
 * A warning, never silence.
 */
export function notCalculatedCard(ctx: CardContext, model: { id: string; title: string; population: string }, problems: string[], why: keyof typeof NOT_CALCULATED_NEXT): Issued {
  const card: CdsCard = {
    uuid: uuidOf(ctx, `not-calculated|${model.id}`),
    summary: summaryOf(`${model.title.split(' (')[0]} not calculated: ${problems[0]}`),
    indicator: 'warning',
    detail: [
      `**${model.title} was not calculated** (not applicable to what the record says):`, '',
      ...problems.map((p) => `- ${p}`),
      '', `The model is declared for: ${model.population}`,
      '', NOT_CALCULATED_NEXT[why],
    ].join('\n'),
    source: { label: `Lantern · ${model.title}`, url: modelUrl(ctx, model.id), topic: topic('not-calculated', 'Not calculated') },
  };
  return { card, issued: issuedOf(card, 'not-computed') };
}

/** What the record lacked for the other models: one information card, so silence is never mistaken for "normal". */
export function missingDataCard(ctx: CardContext, missing: { title: string; needs: string[] }[]): Issued {
  const card: CdsCard = {
    uuid: uuidOf(ctx, 'missing-data'),
    summary: summaryOf(`Lantern could not calculate ${missing.length} score${missing.length === 1 ? '' : 's'} or risk${missing.length === 1 ? '' : 's'}: data missing from the record`),
    indicator: 'info',
    detail: ['Not calculated, for want of data in the record:', '', ...missing.map((m) => `- ${m.title}: needs ${m.needs.join(', ')}`)].join('\n'),
    source: { label: 'Lantern decision support', topic: topic('not-calculated', 'Not calculated') },
  };
  return { card, issued: issuedOf(card, 'not-computed') };
}

/** A study of the patient here: what the AI said of each finding (or why it did not), and the link to read it. */
export function studyCard(ctx: CardContext, study: PatientStudy): Issued {
  const answered = study.findings.filter((f) => f.probability !== null);
  const declined = study.findings.filter((f) => f.applicability?.applicable === false);
  const flagged = answered.filter((f) => f.positive || f.refer);
  const undecided = flagged.filter((f) => f.decision === null);
  const what = `${study.modality ?? 'Study'}${study.studyDate ? ` ${study.studyDate.replace(/^(\d{4})(\d{2})(\d{2})$/, '$1-$2-$3')}` : ''}`;
  const state = study.queued > 0 ? 'awaiting AI read'
    : flagged.length ? `AI flagged ${flagged.map((f) => `${f.display} p=${f.probability!.toFixed(2)}`).join(', ')}${undecided.length ? ', awaiting radiologist' : ', reviewed'}`
      : answered.length ? 'AI found nothing above its operating point'
        : declined.length ? `AI not applicable: ${declined[0].applicability!.reason?.text ?? 'outside the model\'s population'}` : 'no AI result';
  const model = (flagged[0] ?? answered[0] ?? declined[0])?.model;
  const card: CdsCard = {
    uuid: uuidOf(ctx, `study|${study.studyInstanceUid}`),
    summary: summaryOf(`${what}: ${state}`),
    indicator: undecided.length ? 'warning' : 'info',
    detail: [
      `**${what}${study.studyDescription ? ` — ${study.studyDescription}` : ''}** in Lantern`, '',
      ...answered.map((f) => `- ${f.display}: p=${f.probability!.toFixed(2)} ${f.positive ? '(positive)' : f.refer ? '(refer: uncertain)' : '(negative)'}${f.decision ? `, radiologist: ${f.decision}` : ''} — model \`${f.model.id}\` ${f.model.version}`),
      ...declined.map((f) => `- ${f.display}: **not applicable** — ${f.applicability!.reason?.text ?? 'outside the model\'s population'} (model \`${f.model.id}\` ${f.model.version})`),
      '', '*AI-assisted read-assist findings: a radiologist decides; not a diagnosis.*',
    ].join('\n'),
    source: { label: 'Lantern imaging AI', topic: topic('imaging', 'Imaging AI findings') },
    links: [{ label: 'Open the study in Lantern', url: `${ctx.origin}/#/study/${encodeURIComponent(study.studyInstanceUid)}`, type: 'absolute' }],
    ...(model ? { overrideReasons } : {}),
  };
  return { card, issued: issuedOf(card, 'imaging', model) };
}

/**
 * For an imaging order: which read-assist models will read the film for this patient, and which
 * are not applicable (outside their card's population) and why — before the film is taken.
 */
export function aiCoverageCard(ctx: CardContext, verdicts: { model: { id: string; version: string; title: string }; verdict: Applicability }[]): Issued {
  const reading = verdicts.filter((v) => v.verdict.applicable);
  const declined = verdicts.filter((v) => !v.verdict.applicable);
  const card: CdsCard = {
    uuid: uuidOf(ctx, 'ai-coverage'),
    summary: summaryOf(reading.length
      ? `Lantern AI will pre-read this chest radiograph: ${reading.map((v) => v.model.title.split(' (')[0]).join('; ')}`
      : `Lantern AI is not applicable to this chest radiograph: ${declined[0]?.verdict.reason?.text ?? 'no model for this modality'}`),
    indicator: 'info',
    detail: [
      '**AI read-assist for the film being ordered** (checked against each model\'s declared population on what the order and the chart say; the image itself is checked again when it arrives):', '',
      ...reading.map((v) => `- ${v.model.title} (\`${v.model.id}\` ${v.model.version}): will read it${v.verdict.caveats.length ? ` — ${v.verdict.caveats.map((c) => c.text).join('; ')}` : ''}`),
      ...declined.map((v) => `- ${v.model.title} (\`${v.model.id}\` ${v.model.version}): **not applicable** — ${v.verdict.reason?.text ?? 'outside its population'}`),
      '', '*AI-assisted read-assist: it proposes findings for a radiologist, who reads every film; not a diagnosis.*',
    ].join('\n'),
    source: { label: 'Lantern imaging AI', topic: topic('ai-coverage', 'AI read-assist coverage') },
  };
  return { card, issued: issuedOf(card, 'ai-coverage') };
}

function issuedOf(card: CdsCard, kind: IssuedCard['kind'], model?: { id: string; version: string }): IssuedCard {
  return { uuid: card.uuid!, kind, ...(model ? { model: { id: model.id, version: model.version } } : {}), summary: card.summary, indicator: card.indicator };
}
