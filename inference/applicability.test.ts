/**
 * The population gate, attribute by attribute, on real films' parsed attributes (RG1: a
 * 64-year-old woman's PA chest CR; CR-MONO1-10-chest: a PA chest CR that records no age),
 * with one attribute changed or removed per case, against the shipped cards; and the same age
 * check as a score card's population gate reads it from the score's inputs (NEWS2: adults).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../config.ts';
import type { InstanceMeta } from '../dicom/attributes.ts';
import { parseDicom, requirePixelData } from '../dicom/parse.ts';
import { files } from '../test/support/shared-data.ts';
import { checkPopulation, checkScorePopulation, outOfDistributionReason, patientAgeYears } from './applicability.ts';
import { modelCardSchema, type ReadAssistCard } from './model-card.ts';

const card = (id: string) => modelCardSchema.parse(JSON.parse(fs.readFileSync(path.join(repoRoot, 'models', id, 'model.json'), 'utf8'))) as ReadAssistCard;
const paediatric = card('pneumonia-cxr');

const film = (file: string) => {
  const instance = parseDicom(new Uint8Array(fs.readFileSync(file)));
  return { meta: instance.meta, image: requirePixelData(instance) };
};
const rg1 = film(files.chestJ2k);
const raw = film(files.chestRaw);

/** A card whose population is the paediatric card's, widened or narrowed per case. */
const withPopulation = (change: Partial<ReadAssistCard['population']>): ReadAssistCard => ({ ...paediatric, population: { ...paediatric.population, ...change } });
const adultCard = withPopulation({ ageYears: [18, 100], whenMissing: { age: 'run-flagged', view: 'run-flagged', bodyPart: 'run-flagged', sex: 'run-flagged' } });
const check = (meta: Partial<InstanceMeta>, c: ReadAssistCard = adultCard, image = rg1.image) => checkPopulation({ ...rg1.meta, ...meta }, image, c);

describe('patient age', () => {
  it('when Patient\'s Age is given in any DICOM unit, then it is read in years', () => {
    expect(patientAgeYears({ patientAge: '064Y' })).toBe(64);
    expect(patientAgeYears({ patientAge: '018M' })).toBe(1.5);
    expect(patientAgeYears({ patientAge: '052W' })).toBeCloseTo(0.997, 3);
    expect(patientAgeYears({ patientAge: '010D' })).toBeCloseTo(0.027, 3);
  });

  it('when only the birth date is given, then the age is counted to the study date', () => {
    expect(rg1.meta.patientAge).toBeUndefined();
    expect(patientAgeYears(rg1.meta)).toBeCloseTo(64.5, 1);
  });

  it('when neither is given or they are malformed, then the age is unknown, never 0', () => {
    expect(patientAgeYears(raw.meta)).toBeUndefined();
    expect(patientAgeYears({ patientAge: 'adult' })).toBeUndefined();
    expect(patientAgeYears({ patientBirthDate: '20100101', studyDate: '20000101' })).toBeUndefined();
  });
});

describe('the population gate', () => {
  it('when an adult PA chest CR meets an adult card, then the model may answer, with no caveat', () => {
    expect(check({})).toEqual({ applicable: true, caveats: [] });
  });

  it('when an adult film meets the paediatric card, then it is not applicable and says the age in both languages', () => {
    const verdict = checkPopulation(rg1.meta, rg1.image, paediatric);
    expect(verdict.applicable).toBe(false);
    expect(verdict.reason).toEqual({ code: 'OUTSIDE_POPULATION_AGE', text: 'patient age 64 y outside 1–5 y', textZh: '患者年龄 64 岁 不在 1–5 岁之内' });
  });

  it('when a film records no age, then the paediatric card declines and the adult card answers with a caveat', () => {
    expect(checkPopulation(raw.meta, raw.image, paediatric).reason).toMatchObject({ code: 'AGE_NOT_RECORDED', text: 'patient age not recorded' });
    const adult = checkPopulation(raw.meta, raw.image, adultCard);
    expect(adult.applicable).toBe(true);
    expect(adult.caveats).toEqual([{ code: 'AGE_NOT_RECORDED', text: 'patient age not recorded', textZh: '未记录患者年龄' }]);
  });

  it.each([
    ['a child', { patientAge: '003Y', patientBirthDate: undefined }, 'OUTSIDE_POPULATION_AGE', 'patient age 3 y outside 18–100 y'],
    ['an infant', { patientAge: '006M', patientBirthDate: undefined }, 'OUTSIDE_POPULATION_AGE', 'patient age 6 mo outside 18–100 y'],
    ['a lateral view', { viewPosition: 'LL' }, 'OUTSIDE_POPULATION_VIEW', 'view LL is not AP/PA'],
    ['another body part', { bodyPartExamined: 'KNEE' }, 'OUTSIDE_POPULATION_BODY_PART', 'body part KNEE is not CHEST/THORAX'],
    ['another modality', { modality: 'CT' }, 'OUTSIDE_POPULATION_MODALITY', 'modality CT is not one of CR/DX'],
    ['no modality', { modality: undefined }, 'MODALITY_NOT_RECORDED', 'modality not recorded'],
    ['a localizer', { imageType: ['ORIGINAL', 'PRIMARY', 'LOCALIZER'] }, 'OUTSIDE_POPULATION_IMAGE_TYPE', 'image type LOCALIZER'],
  ])('when the film is %s, then it is not applicable with that reason', (_, meta, code, text) => {
    expect(check(meta as Partial<InstanceMeta>).reason).toMatchObject({ code, text });
  });

  it('when attributes are lower case or padded, then they are compared as DICOM code strings', () => {
    expect(check({ viewPosition: ' pa ', bodyPartExamined: 'chest' }).applicable).toBe(true);
  });

  it('when the card says a missing view means not applicable, then a film without one is declined', () => {
    const strict = withPopulation({ ageYears: [18, 100], whenMissing: { ...adultCard.population.whenMissing, view: 'not-applicable' } });
    expect(check({ viewPosition: undefined }, strict).reason?.code).toBe('VIEW_NOT_RECORDED');
    expect(check({ viewPosition: undefined }).caveats.map((c) => c.code)).toEqual(['VIEW_NOT_RECORDED']);
  });

  it('when the card restricts sex, then the other sex is declined and a missing sex follows whenMissing', () => {
    const women = withPopulation({ ageYears: [18, 100], sexes: ['F'] });
    expect(check({ patientSex: 'F' }, women).applicable).toBe(true);
    expect(check({ patientSex: 'M' }, women).reason?.code).toBe('OUTSIDE_POPULATION_SEX');
    expect(check({ patientSex: undefined }, women).caveats.map((c) => c.code)).toEqual(['SEX_NOT_RECORDED']);
  });

  it('when the image is colour or shallower than the card allows, then it is declined', () => {
    expect(check({}, adultCard, { ...rg1.image, photometricInterpretation: 'RGB' }).reason?.code).toBe('OUTSIDE_POPULATION_PHOTOMETRIC');
    expect(check({}, withPopulation({ ageYears: [18, 100], minBitsStored: 10 }), { ...rg1.image, bitsStored: 8 }).reason?.text).toBe('8-bit image (at least 10 bits needed)');
  });

  it('when several attributes are outside, then every one is named and the first gives the code', () => {
    const verdict = check({ viewPosition: 'LL', patientAge: '002Y' });
    expect(verdict.reason?.code).toBe('OUTSIDE_POPULATION_VIEW');
    expect(verdict.reason?.text).toBe('view LL is not AP/PA; patient age 2 y outside 18–100 y');
    expect(verdict.reason?.textZh).toContain('；');
  });
});

describe('a score card\'s population gate (the age from its inputs, not a DICOM header)', () => {
  const adultsOnly = (age: 'run-flagged' | 'not-applicable') => ({ ageYears: [16, 120] as [number, number], whenMissing: { age } });

  it('when the age is the same as a film\'s, then the verdict is the image gate\'s, word for word', () => {
    const child = checkScorePopulation({ age: 3 }, adultsOnly('run-flagged'));
    expect(child).toEqual({ applicable: false, reason: { code: 'OUTSIDE_POPULATION_AGE', text: 'patient age 3 y outside 16–120 y', textZh: '患者年龄 3 岁 不在 16–120 岁之内' }, caveats: [] });
    const film = checkPopulation({ ...rg1.meta, patientAge: '003Y', patientBirthDate: undefined }, rg1.image, withPopulation({ ageYears: [16, 120] }));
    expect(child.reason).toEqual(film.reason);
  });

  it('when there is no age, then whenMissing decides: run-flagged answers with the caveat, not-applicable declines', () => {
    expect(checkScorePopulation({}, adultsOnly('run-flagged'))).toEqual({ applicable: true, caveats: [{ code: 'AGE_NOT_RECORDED', text: 'patient age not recorded', textZh: '未记录患者年龄' }] });
    expect(checkScorePopulation({}, adultsOnly('not-applicable'))).toMatchObject({ applicable: false, reason: { code: 'AGE_NOT_RECORDED' } });
  });

  it('when the age is on either edge, then it is inside (inclusive, as ageYears is for images)', () => {
    for (const age of [16, 120]) expect(checkScorePopulation({ age }, adultsOnly('run-flagged'))).toEqual({ applicable: true, caveats: [] });
    expect(checkScorePopulation({ age: 15.99 }, adultsOnly('run-flagged')).applicable).toBe(false);
  });

  it('when a score card declares a gate but no age input, then the card is refused at load, naming the field', () => {
    const news2 = JSON.parse(fs.readFileSync(path.join(repoRoot, 'models', 'news2', 'model.json'), 'utf8'));
    const withoutAge = { ...news2, features: news2.features.filter((f: { name: string }) => f.name !== 'age') };
    const parsed = modelCardSchema.safeParse(withoutAge);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues).toContainEqual(expect.objectContaining({ path: ['populationGate'], message: expect.stringMatching(/needs a number feature "age"/) }));
  });
});

describe('a score card\'s pregnancy gate (NEWS2: not validated in pregnancy)', () => {
  const gate = (pregnancy: 'run-flagged' | 'not-applicable' = 'run-flagged') => ({
    ageYears: [16, 120] as [number, number],
    excludesPregnancy: { possibleAgeYears: [10, 55] as [number, number], instead: 'an obstetric chart (MEOWS)', insteadZh: '产科早期预警评分（MEOWS）' },
    whenMissing: { age: 'run-flagged' as const, pregnancy },
  });
  const notRecorded = { code: 'PREGNANCY_NOT_RECORDED', text: 'pregnancy not recorded', textZh: '未记录是否妊娠' };

  it('when the patient is pregnant, then the score declines, naming what to use instead in both languages', () => {
    expect(checkScorePopulation({ age: 30, sex: 'female', pregnant: 'yes' }, gate())).toEqual({
      applicable: false,
      reason: {
        code: 'OUTSIDE_POPULATION_PREGNANCY',
        text: 'the patient is pregnant, a population this score was not validated in: use an obstetric chart (MEOWS)',
        textZh: '患者妊娠，本评分未在妊娠人群中验证：请使用产科早期预警评分（MEOWS）',
      },
      caveats: [],
    });
  });

  it('when a pregnancy is recorded whatever the sex or age says, then it still declines: the record of a pregnancy wins', () => {
    for (const patient of [{ sex: 'male', pregnant: 'yes' }, { age: 60, pregnant: 'yes' }]) expect(checkScorePopulation(patient, gate()).applicable).toBe(false);
  });

  it('when the patient is not pregnant, then nothing is left unchecked', () => {
    expect(checkScorePopulation({ age: 30, sex: 'female', pregnant: 'no' }, gate())).toEqual({ applicable: true, caveats: [] });
  });

  it('when pregnancy is not recorded where one is possible, then whenMissing decides: a caveat, or a decline', () => {
    for (const patient of [{ age: 30, sex: 'female' }, { age: 30 }, { sex: 'female' }, { age: 55 }]) {
      expect(checkScorePopulation(patient, gate())).toEqual({ applicable: true, caveats: patient.age === undefined ? [expect.objectContaining({ code: 'AGE_NOT_RECORDED' }), notRecorded] : [notRecorded] });
    }
    expect(checkScorePopulation({ age: 30 }, gate('not-applicable'))).toMatchObject({ applicable: false, reason: { code: 'PREGNANCY_NOT_RECORDED' } });
  });

  it('when pregnancy is not recorded where none is possible (a man, an age outside the card\'s), then it is not asked', () => {
    for (const patient of [{ age: 30, sex: 'male' }, { sex: 'male' }, { age: 56, sex: 'female' }, { age: 80 }]) {
      expect(checkScorePopulation(patient, gate('not-applicable'))).toEqual({ applicable: true, caveats: patient.age === undefined ? [expect.objectContaining({ code: 'AGE_NOT_RECORDED' })] : [] });
    }
  });

  it('when a card excludes pregnancy without a "pregnant" input or without saying what an unrecorded one does, then it is refused at load', () => {
    const news2 = JSON.parse(fs.readFileSync(path.join(repoRoot, 'models', 'news2', 'model.json'), 'utf8'));
    const withoutInput = { ...news2, features: news2.features.filter((f: { name: string }) => f.name !== 'pregnant') };
    expect(modelCardSchema.safeParse(withoutInput).error!.issues).toContainEqual(expect.objectContaining({ path: ['populationGate', 'excludesPregnancy'], message: expect.stringMatching(/enum feature "pregnant"/) }));
    const silent = { ...news2, populationGate: { ...news2.populationGate, whenMissing: { age: 'run-flagged' } } };
    expect(modelCardSchema.safeParse(silent).error!.issues).toContainEqual(expect.objectContaining({ path: ['populationGate', 'whenMissing', 'pregnancy'] }));
    expect(modelCardSchema.safeParse(news2).success).toBe(true);
  });
});

describe('the out-of-distribution verdict', () => {
  const ood = { output: 'ood_score', threshold: 30, method: 'm', thresholdRule: 'r' };
  it('when the score is at or below the threshold, then there is nothing to say', () => {
    expect(outOfDistributionReason(ood, 30)).toBeUndefined();
  });
  it('when it is above, then the reason states score and threshold in both languages', () => {
    expect(outOfDistributionReason(ood, 41.26)).toEqual({
      code: 'OUT_OF_DISTRIBUTION',
      text: 'image unlike the films the model was validated on (out-of-distribution score 41.3 > 30.0)',
      textZh: '图像与模型验证所用的影像差异过大（分布外评分 41.3 > 30.0）',
    });
  });
});
