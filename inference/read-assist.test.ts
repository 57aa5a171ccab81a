/**
 * The worker's read-assist path with the shipped image models on real DICOM: the adult
 * model answers on adult chest films; the paediatric model declines them before decoding;
 * images outside a card's population are declined with the reason; and images that pass
 * every attribute check but are unlike the training films are caught by the graph's
 * out-of-distribution score.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../config.ts';
import { buildCr } from '../test/support/dicom-builder.ts';
import { files, sharedData } from '../test/support/shared-data.ts';
import { readNpz } from '../tools/evaluation/npz.ts';
import { HEATMAP_SKIPPED, readAssist } from './read-assist.ts';
import { loadModel, type ReadAssistModel } from './registry.ts';

const dicom = (relative: string) => new Uint8Array(fs.readFileSync(path.join(sharedData, 'dicom', relative)));
const LEG = 'pydicom-data/files/RG3_J2KI.dcm';
const LATERAL_CSPINE = 'pydicom-testfiles/test_files/dicomdirtests/77654033/CR1/6154';

/** The model as served, with its population widened so that only the out-of-distribution check stands between an image and an answer. */
function withoutPopulationGate(model: ReadAssistModel): ReadAssistModel {
  const population = { ...model.card.population, bodyParts: ['CHEST', 'THORAX', 'EXTREMITY', 'CSPINE'], views: ['PA', 'AP', 'LL'], ageYears: [0, 150] as [number, number] };
  return { ...model, card: { ...model.card, modalities: ['CR', 'DX', 'CT'], population } };
}

describe('read-assist with the population gate and the out-of-distribution check', () => {
  let adult: ReadAssistModel;
  let paediatric: ReadAssistModel;

  beforeAll(async () => {
    [adult, paediatric] = await Promise.all(['cxr-pneumonia-adult', 'pneumonia-cxr'].map((id) => loadModel(path.join(repoRoot, 'models', id), { threads: 1 }))) as ReadAssistModel[];
  });
  afterAll(async () => {
    await Promise.all([adult?.session.release(), paediatric?.session.release()]);
  });

  it('when an adult PA chest CR (RG1, 64 y) is read, then the adult model answers with a probability, its call, a heatmap and an OOD score under its threshold', async () => {
    const { findings: [finding] } = await readAssist(dicom('pydicom-data/files/RG1_J2KI.dcm'), adult);
    expect(finding.probability).toBeGreaterThanOrEqual(0);
    expect(finding.probability).toBeLessThanOrEqual(1);
    expect(finding.positive).toBe(finding.probability! >= finding.operatingPoint.threshold);
    expect(finding.heatmap?.data).toHaveLength(28 * 28);
    expect(finding.applicability).toMatchObject({ applicable: true, caveats: [] });
    expect(finding.applicability!.outOfDistribution!.score).toBeLessThanOrEqual(adult.card.outOfDistribution!.threshold);
    expect(finding.model).toMatchObject({ id: 'cxr-pneumonia-adult', weightsSha256: adult.card.weights.sha256, preprocessing: 'grey-square@1' });
    // 1841 × 1955 for a 224-pixel model: JPEG 2000 level 2 (461 × 489), the region still in original pixels.
    expect(finding.model.decodeScale).toBe(4);
    expect(finding.heatmap?.region).toEqual({ left: 0, top: 56, size: 1841 });
  });

  it('when the same film is read without heatmaps (the degradation ladder\'s step 2), then the same probability, no heatmap, and a caveat saying why', async () => {
    const bytes = dicom('pydicom-data/files/RG1_J2KI.dcm');
    const { findings: [full] } = await readAssist(bytes, adult);
    const { findings: [light] } = await readAssist(bytes, adult, undefined, { skipHeatmaps: true });
    expect(light.probability).toBe(full.probability);
    expect(light.heatmap).toBeUndefined();
    expect(light.applicability!.caveats).toEqual([HEATMAP_SKIPPED]);
    expect(HEATMAP_SKIPPED.textZh).toMatch(/热力图/);
  });

  it('when the same film meets the paediatric model, then it declines before decoding: no probability, no heatmap, the age as the reason', async () => {
    const { findings: [finding] } = await readAssist(dicom('pydicom-data/files/RG1_J2KI.dcm'), paediatric);
    expect(finding).toMatchObject({ probability: null, positive: false, refer: false, applicability: { applicable: false, reason: { code: 'OUTSIDE_POPULATION_AGE', text: 'patient age 64 y outside 1–5 y' } } });
    expect(finding.heatmap).toBeUndefined();
    expect(Object.keys(finding.timingMs)).toEqual(['parse']);
  });

  it('when a chest CR records no age (CR-MONO1-10-chest), then the adult model answers and says the age was not checked; the paediatric model declines', async () => {
    const bytes = new Uint8Array(fs.readFileSync(files.chestRaw));
    const [{ findings: [answered] }, { findings: [declined] }] = await Promise.all([readAssist(bytes, adult), readAssist(bytes, paediatric)]);
    expect(answered.probability).not.toBeNull();
    expect(answered.applicability?.caveats.map((c) => c.code)).toEqual(['AGE_NOT_RECORDED']);
    expect(declined.applicability?.reason?.code).toBe('AGE_NOT_RECORDED');
  });

  it.each([
    ['a leg radiograph (RG3, EXTREMITY)', LEG, 'OUTSIDE_POPULATION_BODY_PART', /body part EXTREMITY is not CHEST/],
    ['a lateral C-spine CR', LATERAL_CSPINE, 'OUTSIDE_POPULATION_BODY_PART', /view LL is not PA\/AP/],
  ])('when %s reaches the adult model, then the population gate declines it with the reason', async (_what, file, code, text) => {
    const { findings: [finding] } = await readAssist(dicom(file), adult);
    expect(finding.applicability?.reason?.code).toBe(code);
    expect(finding.applicability?.reason?.text).toMatch(text);
  });

  it.each([
    ['a CT slice', path.relative(path.join(sharedData, 'dicom'), files.ct)],
    ['a leg radiograph', LEG],
    ['a lateral C-spine radiograph', LATERAL_CSPINE],
  ])('when %s passes every attribute check, then the adult model\'s OOD score declines it', async (_what, file) => {
    const { findings: [finding] } = await readAssist(dicom(file), withoutPopulationGate(adult));
    expect(finding.probability).toBeNull();
    expect(finding.applicability?.reason?.code).toBe('OUT_OF_DISTRIBUTION');
    expect(finding.applicability!.outOfDistribution!.score).toBeGreaterThan(adult.card.outOfDistribution!.threshold);
  });

  it('when the paediatric model gets adult chest films that pass its attribute checks, then its OOD score declines most of them', async () => {
    const films = ['pydicom-data/files/RG1_J2KI.dcm', LEG, LATERAL_CSPINE].map(dicom);
    const findings = await Promise.all(films.map(async (bytes) => (await readAssist(bytes, withoutPopulationGate(paediatric))).findings[0]));
    expect(findings.map((f) => f.applicability?.reason?.code)).toEqual(['OUT_OF_DISTRIBUTION', 'OUT_OF_DISTRIBUTION', 'OUT_OF_DISTRIBUTION']);
  });

  it('when paediatric films (PneumoniaMNIST) arrive as CRs without a recorded age, then the adult model\'s OOD score declines most of them', async () => {
    const npz = readNpz(path.join(sharedData, 'images/pneumoniamnist/pneumoniamnist_varun19424.npz'));
    const images = npz.get('test_images')!;
    const image = { rows: 28, columns: 28, bitsAllocated: 8, bitsStored: 8, pixelRepresentation: 0, photometricInterpretation: 'MONOCHROME2' };
    const chest = [{ tag: 0x00180015, vr: 'CS', value: 'CHEST' }, { tag: 0x00185101, vr: 'CS', value: 'AP' }];
    const n = 20;
    let declined = 0;
    for (let i = 0; i < n; i++) {
      const pixels = new Uint8Array(images.data.buffer, images.data.byteOffset + i * 28 * 28, 28 * 28);
      const bytes = buildCr(`1.2.826.0.1.3680043.10.77.${i}`, '1.2.840.10008.1.2.1', image, pixels, chest);
      const { findings: [finding] } = await readAssist(bytes, adult);
      if (finding.applicability?.reason?.code === 'OUT_OF_DISTRIBUTION') declined++;
      else expect(finding.applicability?.caveats.map((c) => c.code)).toEqual(['AGE_NOT_RECORDED']);
    }
    expect(declined / n).toBeGreaterThanOrEqual(0.8);
  });
});
