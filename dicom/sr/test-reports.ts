/**
 * The AI results SR data sets Lantern's tests write, as measurement-report.ts builds them
 * (naturalised, before encoding), about real films: what part10-writer.test.ts encodes with
 * both encoders and the SR encoding bench (tools/hot-path/sr-encode-bench.ts) times. Each
 * report is built as findingsSr / decisionSr build theirs (ai-results-sr.ts: the same derived
 * UIDs), so the first two are byte for byte the documents those functions write.
 *
 * Test support only: nothing at run time imports it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FindingInput, ModelProvenance } from '../../contract/findings.ts';
import { sharedDataDir as sharedData } from '../test-data.ts';
import { aiResultsSeriesUid, decisionSrUid, findingsSrUid } from './ai-results-sr.ts';
import { measurementReport, type AiResultsReport, type ClinicianDecision, type SourceImage } from './measurement-report.ts';
import { sourceImage } from './source-attributes.ts';
import { derivedUid } from './uid.ts';

export const model: ModelProvenance = { id: 'cxr-pneumonia-adult', version: '1.0.0', weightsSha256: 'c0ffee'.padEnd(64, '0'), preprocessing: 'grey-square@1' };
const nih: ModelProvenance = { id: 'nih-cxr-abnormal', version: '2.1.0', weightsSha256: 'ab'.repeat(32), preprocessing: 'grey-square@1' };
const hot = Array.from({ length: 49 }, (_, i) => ([10, 11, 17, 18].includes(i) ? 1 : 0.1));

export const pneumonia: FindingInput = {
  id: 'finding-pneumonia', label: 'pneumonia', display: 'Pneumonia', probability: 0.8123456789, positive: true, refer: false,
  operatingPoint: { name: 'sens-0.90', threshold: 0.42 }, model, timingMs: { inference: 12 },
  heatmap: { width: 7, height: 7, data: hot, region: { left: 0, top: 57, size: 1841 } },
};
export const declined: FindingInput = {
  id: 'finding-abnormal', label: 'abnormal', display: 'Abnormal (any of 14 NIH findings)', probability: null, positive: false, refer: false,
  operatingPoint: { name: 'youden', threshold: 0.5 }, model, timingMs: {},
  applicability: { applicable: false, reason: { code: 'age', text: 'patient age 64 y outside 1–5 y', textZh: '年龄不符' }, caveats: [] },
};
const long: FindingInput = { ...pneumonia, id: 'finding-long', label: 'pleural_thickening_left', display: 'Pleural thickening', probability: 0.3, positive: false, refer: true, heatmap: undefined };
/** A region off whole pixels: GraphicData (FL) that single precision rounds. */
const fractional: FindingInput = { ...pneumonia, id: 'finding-fractional', heatmap: { ...pneumonia.heatmap!, region: { left: 0, top: 57, size: 1840 } } };

/** The fourteen NIH chest X-ray labels, every state a finding can be in: positive with a heatmap, negative, refer band, not applicable. */
const NIH_LABELS = ['Atelectasis', 'Cardiomegaly', 'Effusion', 'Infiltration', 'Mass', 'Nodule', 'Pneumonia', 'Pneumothorax', 'Consolidation', 'Edema', 'Emphysema', 'Fibrosis', 'Pleural_Thickening', 'Hernia'];
const manyLabels: FindingInput[] = NIH_LABELS.map((display, i) => {
  const probability = i % 7 === 6 ? null : ((i * 0.071 + 0.013) % 1);
  return {
    id: `finding-nih-${i}`, label: display.toLowerCase(), display, probability, positive: probability !== null && probability >= 0.5, refer: i % 5 === 2,
    operatingPoint: { name: i % 2 ? 'youden' : 'sens-0.95', threshold: 0.5 - i / 100 }, model: nih, timingMs: { inference: 30 + i },
    ...(i % 3 === 0 && { heatmap: { width: 7, height: 7, data: hot.map((v, j) => (j === i ? 1 : v * ((i + 1) / 15))), region: { left: 3 * i, top: 57, size: 1841 - 3 * i } } }),
    ...(probability === null && { applicability: { applicable: false, reason: { code: 'view', text: `projection not PA (${display}): not assessed`, textZh: '投照体位不符' }, caveats: [] } }),
  };
});

const keyOf = (m: ModelProvenance) => `${m.id}@${m.version}`;

/** The preliminary document's report, as findingsSr makes it. */
export function findingsReport(source: SourceImage, findings: FindingInput[], createdAt = '2026-12-03T08:00:00.123Z', findingsModel = model): AiResultsReport {
  return {
    sopInstanceUid: findingsSrUid(source.sopInstanceUid, findingsModel), seriesInstanceUid: aiResultsSeriesUid(source.studyInstanceUid),
    instanceNumber: 1, contentTime: createdAt, source, model: findingsModel,
    findings: findings.map((f) => ({ ...f, trackingUid: derivedUid('finding', f.id) })),
    deviceObserverUid: derivedUid('device', keyOf(findingsModel), findingsModel.weightsSha256),
  };
}

/** A decision document's report, as decisionSr makes it. */
export function decisionReport(preliminary: AiResultsReport, review: { id: string; createdAt: string; reviewer: { name: string; login: string } },
  decisions: Map<string, ClinicianDecision>, organization = 'Lantern site main', position = 1): AiResultsReport {
  const complete = preliminary.findings.every((f) => f.probability === null || decisions.has(f.id));
  return {
    ...preliminary,
    sopInstanceUid: decisionSrUid(review.id), instanceNumber: position + 1, contentTime: review.createdAt, decisions,
    verification: { reviewerName: review.reviewer.name, login: review.reviewer.login, organization, complete },
    predecessor: { sopInstanceUid: preliminary.sopInstanceUid, seriesInstanceUid: preliminary.seriesInstanceUid },
  };
}

const liWei = { id: '42', createdAt: '2026-12-03T08:05:10.000Z', reviewer: { name: 'Li Wei', login: 'dr.li' } };
const override: ClinicianDecision = { decision: 'override', reason: { code: 'poor-image-quality', display: 'Poor image quality: not assessable' }, comment: 'rotated film', reviewerName: 'Li Wei' };

/**
 * Every report, by what it shows. Reading the films and re-encoding one with dcmtk's dcmodify
 * takes a second or so: call once per test file.
 */
export function testReports(): Record<string, ReturnType<typeof measurementReport>> {
  const film = (relative: string) => sourceImage(new Uint8Array(fs.readFileSync(path.join(sharedData, relative))));
  const chest = film('dicom/pydicom-data/files/RG1_J2KI.dcm');
  const raw = film('dicom/fo-dicom/files/CR-MONO1-10-chest');
  const ct = film('dicom/cornerstone-wadoloader/testImages/CTImage.dcm');
  const chinese = sourceImage(chineseNamedChest(path.join(sharedData, 'dicom/pydicom-data/files/RG1_J2KI.dcm')));
  const preliminary = findingsReport(chest, [pneumonia, declined]);
  const reports: Record<string, AiResultsReport> = {
    'findings, applicable (with a region) and not applicable': preliminary,
    'a clinician\'s override with reason and comment, complete': decisionReport(preliminary, liWei, new Map([[pneumonia.id, override]])),
    'a clinician\'s acceptance of one of two claims, partial': decisionReport(findingsReport(chest, [pneumonia, long]), { ...liWei, id: '43' },
      new Map([[pneumonia.id, { decision: 'accept', reviewerName: 'Li Wei' }]])),
    'a long local code in the refer band, from a film without a Part 10 header': findingsReport(raw, [long]),
    'a region off whole pixels (FL at single precision)': findingsReport(chest, [fractional, declined]),
    'a CT image (procedure: imaging)': findingsReport(ct, [{ ...pneumonia, heatmap: undefined }]),
    'only not-applicable findings': findingsReport(chest, [declined, { ...declined, id: 'finding-declined-2', label: 'effusion', display: 'Effusion' }]),
    'fourteen labels, every state': findingsReport(chest, manyLabels, '2026-12-03T08:00:00.000Z', nih),
    'fourteen labels, decided in Chinese': decisionReport(findingsReport(chest, manyLabels, '2026-12-03T08:00:00.000Z', nih), { id: '44', createdAt: '2026-12-03T09:00:00.000Z', reviewer: { name: '李伟', login: 'li.wei' } },
      new Map(manyLabels.filter((f) => f.probability !== null).map((f, i) => [f.id, i % 2
        ? { decision: 'override', reason: { code: 'clinical-context', display: '临床背景不支持' }, comment: `图像旋转，无法评估 \\ ${f.display}`, reviewerName: '李伟' }
        : { decision: 'accept', reviewerName: 'Li^Wei^^Dr' }])), '兰亭医院', 3),
    'a patient named in Chinese (UTF-8)': findingsReport(chinese, [pneumonia]),
  };
  // Patient names in every character set of the test films Lantern accepts (chrSQEncoding* have no Study Instance UID), copied as Unicode (the SR then says ISO_IR 192).
  for (const name of ['chrArab', 'chrFren', 'chrFrenMulti', 'chrGerm', 'chrGreek', 'chrH31', 'chrH32', 'chrHbrw', 'chrI2', 'chrJapMulti', 'chrJapMultiExplicitIR6', 'chrKoreanMulti', 'chrRuss', 'chrX1', 'chrX2']) {
    reports[`a patient named as in ${name}`] = findingsReport(film(`dicom/pydicom-testfiles/charset_files/${name}.dcm`), [declined]);
  }
  reports['a patient named in GB2312 with ISO 2022 extensions (chrGB2312)'] = findingsReport(film('dicom/fo-dicom/files/charset/chrGB2312.dcm'), [pneumonia]);
  const datasets = Object.fromEntries(Object.entries(reports).map(([what, report]) => [what, measurementReport(report)]));
  // measurement-report.ts declares UTF-8 or nothing; were it to declare GB18030, dcmjs would still write UTF-8.
  datasets['the Chinese-named patient\'s SR declared GB18030'] = { ...datasets['a patient named in Chinese (UTF-8)'], SpecificCharacterSet: 'GB18030' };
  return datasets;
}

/** The chest film with its patient's name in Chinese, in UTF-8 (dcmtk's dcmodify). */
function chineseNamedChest(file: string): Uint8Array {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-sr-reports-'));
  try {
    const copy = path.join(dir, 'film.dcm');
    fs.copyFileSync(file, copy);
    execFileSync('dcmodify', ['-nb', '-m', '(0008,0005)=ISO_IR 192', '-m', '(0010,0010)=李^雷', copy]);
    return new Uint8Array(fs.readFileSync(copy));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
