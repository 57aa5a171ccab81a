import type { Applicability, ApplicabilityNote } from '../contract/findings.ts';
import type { ImageAttributes, InstanceMeta } from '../dicom/attributes.ts';
import type { OutOfDistribution, Population, ScorePopulationGate } from './model-card.ts';

/**
 * Does a read-assist model's card cover this image? Checked at ingest, where a run the header
 * alone rules out gets its answer without a job (pipeline/ingest.ts), and in the worker before
 * any pixel is decoded (DICOM attributes against the card's `population`), then after the
 * run (the graph's out-of-distribution score against the card's threshold). Outside
 * either, the finding is "not applicable" with its reason in English and Chinese, never
 * a probability. An attribute the image does not carry is handled as the card's
 * `whenMissing` says: not applicable, or answered with a caveat that says what could not
 * be checked.
 */

interface Check {
  /** The attribute's code suffix: OUTSIDE_POPULATION_<code>, <code>_NOT_RECORDED. */
  code: 'MODALITY' | 'BODY_PART' | 'VIEW' | 'AGE' | 'SEX' | 'PHOTOMETRIC' | 'BIT_DEPTH' | 'IMAGE_TYPE' | 'PREGNANCY';
  /** What the image says, or undefined when it does not say. */
  value: string | number | undefined;
  accepted: (value: never) => boolean;
  /** How the value and the accepted set read to a clinician. */
  outside: (value: never) => { en: string; zh: string };
  missing?: { policy: 'run-flagged' | 'not-applicable'; en: string; zh: string };
}

/** What the gate reads of an image's attributes: all an imaging order can state too. */
type PopulationFacts = Pick<InstanceMeta, 'modality' | 'patientAge' | 'patientBirthDate' | 'studyDate' | 'patientSex' | 'bodyPartExamined' | 'viewPosition' | 'imageType'>;

/**
 * `image` may be partial: before an image exists (an imaging order, CDS Hooks order-select) only
 * what the request states is checked, and the pixel attributes, absent, are skipped.
 */
export function checkPopulation(meta: PopulationFacts, image: Partial<Pick<ImageAttributes, 'photometricInterpretation' | 'bitsStored'>>, card: { modalities: string[]; population: Population }): Applicability {
  const p = card.population;
  const age = patientAgeYears(meta);
  const view = upper(meta.viewPosition);
  const bodyPart = upper(meta.bodyPartExamined);
  const sex = upper(meta.patientSex);
  const imageTypes = (meta.imageType ?? []).map((t) => t.toUpperCase());
  const checks: Check[] = [
    {
      code: 'MODALITY', value: meta.modality,
      accepted: (m: string) => card.modalities.includes(m),
      outside: (m: string) => ({ en: `modality ${m} is not one of ${card.modalities.join('/')}`, zh: `检查类型 ${m} 不在 ${card.modalities.join('/')} 之内` }),
      missing: { policy: 'not-applicable', en: 'modality not recorded', zh: '未记录检查类型' },
    },
    {
      code: 'PHOTOMETRIC', value: image.photometricInterpretation,
      accepted: (v: string) => (p.photometric as string[]).includes(v),
      outside: (v: string) => ({ en: `photometric interpretation ${v} (a ${p.photometric.join('/')} greyscale image is needed)`, zh: `光度解释 ${v}（需要 ${p.photometric.join('/')} 灰度图像）` }),
    },
    {
      code: 'BIT_DEPTH', value: image.bitsStored,
      accepted: (v: number) => v >= p.minBitsStored,
      outside: (v: number) => ({ en: `${v}-bit image (at least ${p.minBitsStored} bits needed)`, zh: `${v} 位图像（至少需要 ${p.minBitsStored} 位）` }),
    },
    {
      code: 'IMAGE_TYPE', value: imageTypes.find((t) => p.excludedImageTypes.includes(t)),
      accepted: () => false,
      outside: (t: string) => ({ en: `image type ${t}`, zh: `图像类型 ${t}` }),
    },
    {
      code: 'BODY_PART', value: bodyPart,
      accepted: (b: string) => p.bodyParts.includes(b),
      outside: (b: string) => ({ en: `body part ${b} is not ${p.bodyParts.join('/')}`, zh: `检查部位 ${b} 不是 ${p.bodyParts.join('/')}` }),
      missing: { policy: p.whenMissing.bodyPart, en: 'body part not recorded', zh: '未记录检查部位' },
    },
    {
      code: 'VIEW', value: view,
      accepted: (v: string) => p.views.includes(v),
      outside: (v: string) => ({ en: `view ${v} is not ${p.views.join('/')}`, zh: `投照体位 ${v} 不是 ${p.views.join('/')}` }),
      missing: { policy: p.whenMissing.view, en: 'view position not recorded', zh: '未记录投照体位' },
    },
    ageCheck(age, p.ageYears, p.whenMissing.age),
    ...(p.sexes ? [{
      code: 'SEX' as const, value: sex,
      accepted: (s: string) => (p.sexes as string[]).includes(s),
      outside: (s: string) => ({ en: `patient sex ${s} is not ${p.sexes!.join('/')}`, zh: `患者性别 ${s} 不是 ${p.sexes!.join('/')}` }),
      missing: { policy: p.whenMissing.sex, en: 'patient sex not recorded', zh: '未记录患者性别' },
    }] : []),
  ];
  return verdict(checks);
}

/** What a score's population gate reads of its inputs (canonical values; each absent when not given). */
export interface ScorePatient {
  age?: number;
  sex?: string;
  pregnant?: string;
}

/**
 * Does a score's card cover this patient? The age gate of a read-assist card, read from the
 * score's `age` input instead of the DICOM header: same codes, same wording, same
 * `whenMissing` (e.g. home readings that carry no birth date); and, where the card excludes
 * pregnancy, its `pregnant` input.
 */
export function checkScorePopulation(patient: ScorePatient, gate: ScorePopulationGate): Applicability {
  return verdict([ageCheck(patient.age, gate.ageYears, gate.whenMissing.age), ...(gate.excludesPregnancy ? pregnancyCheck(patient, gate) : [])]);
}

/**
 * "yes" declines, naming what to use instead. Not given, it is asked only where a pregnancy is
 * possible: a caveat on every man's or every 80-year-old's NEWS2 would teach clinicians to skip the caveats.
 */
function pregnancyCheck({ age, sex, pregnant }: ScorePatient, gate: ScorePopulationGate): Check[] {
  const { possibleAgeYears: [from, to], instead, insteadZh } = gate.excludesPregnancy!;
  if (pregnant === undefined && (sex === 'male' || (age !== undefined && (age < from || age > to)))) return [];
  return [{
    code: 'PREGNANCY', value: pregnant,
    accepted: (p: string) => p === 'no',
    outside: () => ({ en: `the patient is pregnant, a population this score was not validated in: use ${instead}`, zh: `患者妊娠，本评分未在妊娠人群中验证：请使用${insteadZh}` }),
    missing: { policy: gate.whenMissing.pregnancy ?? 'run-flagged', en: 'pregnancy not recorded', zh: '未记录是否妊娠' },
  }];
}

function ageCheck(age: number | undefined, [minAge, maxAge]: [number, number], whenMissing: 'run-flagged' | 'not-applicable'): Check {
  return {
    code: 'AGE', value: age,
    accepted: (a: number) => a >= minAge && a <= maxAge,
    outside: (a: number) => ({ en: `patient age ${formatAge(a)} outside ${minAge}–${maxAge} y`, zh: `患者年龄 ${formatAgeZh(a)} 不在 ${minAge}–${maxAge} 岁之内` }),
    missing: { policy: whenMissing, en: 'patient age not recorded', zh: '未记录患者年龄' },
  };
}

/** Outside any check: not applicable, every reason named; else applicable with what could not be checked. */
function verdict(checks: Check[]): Applicability {
  const outside: ApplicabilityNote[] = [];
  const caveats: ApplicabilityNote[] = [];
  for (const check of checks) {
    if (check.value === undefined) {
      if (!check.missing) continue;
      const note = { code: `${check.code}_NOT_RECORDED`, text: check.missing.en, textZh: check.missing.zh };
      if (check.missing.policy === 'not-applicable') outside.push(note);
      else caveats.push(note);
      continue;
    }
    if (check.accepted(check.value as never)) continue;
    const { en, zh } = check.outside(check.value as never);
    outside.push({ code: `OUTSIDE_POPULATION_${check.code}`, text: en, textZh: zh });
  }
  if (outside.length === 0) return { applicable: true, caveats };
  // Declined: what could not be checked no longer matters.
  return {
    applicable: false,
    reason: { code: outside[0].code, text: outside.map((o) => o.text).join('; '), textZh: outside.map((o) => o.textZh).join('；') },
    caveats: [],
  };
}

/**
 * The out-of-distribution verdict for a score the graph computed. Above the card's
 * threshold the image is unlike anything the model was validated on (another body part
 * or modality, another population, a lateral film), and its probability means nothing.
 */
export function outOfDistributionReason(ood: OutOfDistribution, score: number): ApplicabilityNote | undefined {
  if (score <= ood.threshold) return undefined;
  return {
    code: 'OUT_OF_DISTRIBUTION',
    text: `image unlike the films the model was validated on (out-of-distribution score ${score.toFixed(1)} > ${ood.threshold.toFixed(1)})`,
    textZh: `图像与模型验证所用的影像差异过大（分布外评分 ${score.toFixed(1)} > ${ood.threshold.toFixed(1)}）`,
  };
}

/**
 * Age in years: Patient's Age (0010,1010, e.g. "064Y", "018M", "003W", "010D"), else
 * Patient's Birth Date with Study Date. Undefined when neither says.
 */
export function patientAgeYears(meta: Pick<InstanceMeta, 'patientAge' | 'patientBirthDate' | 'studyDate'>): number | undefined {
  const match = /^(\d{1,3})\s*([DWMY])$/i.exec(meta.patientAge?.trim() ?? '');
  if (match) {
    const n = Number(match[1]);
    const perYear = { D: 365.25, W: 52.1775, M: 12, Y: 1 }[match[2].toUpperCase() as 'D' | 'W' | 'M' | 'Y'];
    return n / perYear;
  }
  const birth = parseDicomDate(meta.patientBirthDate);
  const study = parseDicomDate(meta.studyDate);
  if (!birth || !study || study < birth) return undefined;
  return (study.getTime() - birth.getTime()) / (365.25 * 24 * 3600 * 1000);
}

function parseDicomDate(value: string | undefined): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(value?.trim() ?? '');
  if (!match) return undefined;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const upper = (value: string | undefined) => (value?.trim() ? value.trim().toUpperCase() : undefined);

function formatAge(years: number): string {
  return years >= 2 ? `${Math.floor(years)} y` : `${Math.floor(years * 12)} mo`;
}

function formatAgeZh(years: number): string {
  return years >= 2 ? `${Math.floor(years)} 岁` : `${Math.floor(years * 12)} 个月`;
}
