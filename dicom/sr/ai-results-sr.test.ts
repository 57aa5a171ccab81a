/**
 * The AI results SR writer against real peers: each document it writes about a real chest
 * radiograph is read back by dcmtk's `dsrdump` (the tree is asserted on, not just that it
 * parses) and checked by dicom3tools' `dciodvfy` against the Comprehensive SR IOD, which
 * must report no error. Warnings dciodvfy gives are pinned, so a new one shows up here.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FindingInput, ModelProvenance } from '../../contract/findings.ts';
import type { DicomJsonDataset } from '../../contract/dicomweb-query.ts';
import { files, sharedData } from '../../test/support/shared-data.ts';
import { dicomJsonOf } from '../dicom-json.ts';
import { decisionSr, findingsSr, findingsSrUid, type WrittenSr } from './ai-results-sr.ts';
import { EXPLICIT_VR_LITTLE_ENDIAN } from './dcmjs-io.ts';
import { heatmapHotRegion } from './heatmap-region.ts';
import { sourceImage } from './source-attributes.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-sr-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** dsrdump's tree (codes of concept names shown), and whatever it says on stderr. */
function dsrdump(bytes: Uint8Array): { tree: string; errors: string } {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.dcm`);
  fs.writeFileSync(file, bytes);
  const run = spawnSync('dsrdump', ['+Pc', '+Pu', '+Pl', '+Pt', file], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  return { tree: run.stdout, errors: run.stderr.split('\n').filter((l) => /^[EF]:/.test(l)).join('\n') };
}

/** dciodvfy's findings, split into errors and warnings. */
function dciodvfy(bytes: Uint8Array): { errors: string[]; warnings: string[] } {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.dcm`);
  fs.writeFileSync(file, bytes);
  const run = spawnSync('dciodvfy', [file], { encoding: 'utf8' });
  const lines = `${run.stdout}\n${run.stderr}`.split('\n');
  return { errors: lines.filter((l) => l.startsWith('Error')), warnings: [...new Set(lines.filter((l) => l.startsWith('Warning')))] };
}

/**
 * What dciodvfy warns about every document on this film: the local coding scheme is not one it
 * knows, and the film's own Referring Physician's Name ("ward"), copied as it is, has the
 * retired PN form.
 */
const EXPECTED_WARNINGS = [
  'Warning - Unrecognized defined term <99LANTERN> for value 1 of attribute <Coding Scheme Designator>',
  'Warning - Value dubious for this VR - (0x0008,0x0090) PN Referring Physician\'s Name  PN [1] = <ward> - Retired Person Name form',
];

const model: ModelProvenance = { id: 'cxr-pneumonia-adult', version: '1.0.0', weightsSha256: 'c0ffee'.padEnd(64, '0'), preprocessing: 'grey-square@1' };
const hot = Array.from({ length: 49 }, (_, i) => ([10, 11, 17, 18].includes(i) ? 1 : 0.1));
const pneumonia: FindingInput = {
  id: 'finding-pneumonia', label: 'pneumonia', display: 'Pneumonia', probability: 0.8123456789, positive: true, refer: false,
  operatingPoint: { name: 'sens-0.90', threshold: 0.42 }, model, timingMs: { inference: 12 },
  heatmap: { width: 7, height: 7, data: hot, region: { left: 0, top: 57, size: 1841 } },
};
const declined: FindingInput = {
  id: 'finding-abnormal', label: 'abnormal', display: 'Abnormal (any of 14 NIH findings)', probability: null, positive: false, refer: false,
  operatingPoint: { name: 'youden', threshold: 0.5 }, model, timingMs: {},
  applicability: { applicable: false, reason: { code: 'age', text: 'patient age 64 y outside 1–5 y', textZh: '年龄不符' }, caveats: [] },
};
/** A real film whose patient's name has alphabetic, ideographic and phonetic groups in ISO 2022 Japanese (pydicom's test file). */
const japaneseNamed = path.join(sharedData, 'dicom/pydicom-testfiles/charset_files/chrH31.dcm');
const chest = sourceImage(new Uint8Array(fs.readFileSync(files.chestJ2k)));

/** Li Wei's override of the pneumonia finding (poor image quality, with a comment), superseding `predecessor`. */
const overridden = (predecessor: WrittenSr, findings = [pneumonia, declined]) => decisionSr({
  source: chest, model, findings, createdAt: '2026-12-03T08:00:00.123Z',
  review: { id: '42', createdAt: '2026-12-03T08:05:10.000Z', reviewer: { name: 'Li Wei', login: 'dr.li' } },
  decisions: new Map([[pneumonia.id, { decision: 'override', reason: { code: 'poor-image-quality', display: 'Poor image quality: not assessable' }, comment: 'rotated film', reviewerName: 'Li Wei' }]]),
  organization: 'Lantern site main',
  predecessor: { sopInstanceUid: predecessor.sopInstanceUid, seriesInstanceUid: predecessor.seriesInstanceUid },
  position: 1,
});

describe('AI results as DICOM SR (TID 1500)', () => {
  it('when a model reports on a real chest film, then the preliminary SR reads in dsrdump as a TID 1500 report with the device, algorithm, coded finding, probability, operating point and region, and dciodvfy finds no error', () => {
    const sr = findingsSr({ source: chest, model, findings: [pneumonia, declined], createdAt: '2026-12-03T08:00:00.123Z' });
    const { tree, errors } = dsrdump(sr.bytes);
    expect(errors).toBe('');
    expect(tree).toMatch(/Comprehensive SR Document/);
    expect(tree).toMatch(/Series +: Lantern AI results \(AI-assisted, not a diagnosis\) \(#7001\)/);
    expect(tree).toMatch(/Preliminary Flag +: PRELIMINARY\n.*Completion Flag +: PARTIAL\n.*Verification Flag +: UNVERIFIED/);
    // Patient and study copied from the source image, Study ID and referring physician included.
    expect(tree).toMatch(/Patient +: CompressedSamples\^RG1 \(F, 1940-03-05, #9RG1\)/);
    const header = execFileSync('dcmdump', ['-q', '+P', '0020,0010', '+P', '0008,0090', '+P', '0008,0050', writeTemp(sr.bytes)], { encoding: 'utf8' });
    expect(header).toMatch(/\(0020,0010\) SH \[9RG1\][^]*\(0008,0090\) PN \[ward\]|\(0008,0090\) PN \[ward\][^]*\(0020,0010\) SH \[9RG1\]/);
    expect(header).toContain('(0008,0050) SH [exam Number]');
    for (const line of [
      '<CONTAINER:(126000,DCM,"Imaging Measurement Report")=SEPARATE>  # TID 1500 (DCMR)',
      '<has obs context CODE:(121005,DCM,"Observer Type")=(121007,DCM,"Device")>',
      '<has obs context TEXT:(121015,DCM,"Device Observer Model Name")="cxr-pneumonia-adult 1.0.0">',
      '<contains CONTAINER:(111028,DCM,"Image Library")=SEPARATE>',
      '<contains CODE:(121071,DCM,"Finding")=(233604007,SCT,"Pneumonia")>',
      '<contains CONTAINER:(125007,DCM,"Measurement Group")=SEPARATE>  # TID 1410 (DCMR)',
      '<contains NUM:(ai-probability,99LANTERN,"AI model probability")="0.812346" (1,UCUM,"no units")>',
      '<contains NUM:(operating-point,99LANTERN,"Operating point threshold")="0.42" (1,UCUM,"no units")>',
      '<contains CODE:(705057003,SCT,"Presence")=(52101004,SCT,"Present")>',
      '<has concept mod TEXT:(111001,DCM,"Algorithm Name")="cxr-pneumonia-adult">',
      '<has concept mod TEXT:(111003,DCM,"Algorithm Version")="1.0.0">',
      `<has concept mod TEXT:(111002,DCM,"Algorithm Parameters")="weightsSha256=${model.weightsSha256}">`,
      // A label without a SNOMED CT concept is coded in the declared local scheme; not applicable says why.
      '<contains CODE:(121071,DCM,"Finding")=(abnormal,99LANTERN,"Abnormal (any of 14 NIH findings)")>',
      '<contains CODE:(705057003,SCT,"Presence")=(385432009,SCT,"Not applicable")>',
      '<contains TEXT:(121106,DCM,"Comment")="Not applicable: patient age 64 y outside 1–5 y">',
      '<contains TEXT:(121106,DCM,"Comment")="AI-assisted result from Lantern: for a clinician to confirm or override; not a diagnosis.">',
    ]) expect(tree).toContain(line);
    // The hot region, in the film's pixel space, selected from the film itself.
    expect(tree).toMatch(/<contains SCOORD:\(111030,DCM,"Image Region"\)=\(POLYLINE,789\/320,1315\/320,1315\/846,789\/846,789\/320\)>\n\s+<selected from IMAGE:=\(CR image,"[0-9.]+"\)>/);
    const validation = dciodvfy(sr.bytes);
    expect(validation.errors).toEqual([]);
    expect(validation.warnings.sort()).toEqual(EXPECTED_WARNINGS);
  });

  it('when the same findings are written twice, then the bytes and UIDs are the same: a re-run job stores nothing new', () => {
    const input = { source: chest, model, findings: [pneumonia], createdAt: '2026-12-03T08:00:00.123Z' };
    const [a, b] = [findingsSr(input), findingsSr(input)];
    expect(Buffer.compare(Buffer.from(a.bytes), Buffer.from(b.bytes))).toBe(0);
    expect(a.sopInstanceUid).toMatch(/^2\.25\.[1-9][0-9]*$/);
    expect(a.sopInstanceUid.length).toBeLessThanOrEqual(64);
    expect(findingsSr({ ...input, model: { ...model, version: '1.0.1' }, findings: [{ ...pneumonia, model: { ...model, version: '1.0.1' } }] }).sopInstanceUid).not.toBe(a.sopInstanceUid);
  });

  it('when a clinician overrides, then a new SR records the decision, the person and the reason, is verified and complete, and names the preliminary one as its predecessor', () => {
    const source = findingsSr({ source: chest, model, findings: [pneumonia], createdAt: '2026-12-03T08:00:00.123Z' });
    const sr = overridden(source);
    expect(sr.sopInstanceUid).not.toBe(source.sopInstanceUid);
    expect(sr.seriesInstanceUid).toBe(source.seriesInstanceUid);
    const { tree, errors } = dsrdump(sr.bytes);
    expect(errors).toBe('');
    // The declined finding makes no claim, so one decision completes the document.
    expect(tree).toMatch(/Preliminary Flag +: FINAL\n.*Completion Flag +: COMPLETE\n.*Predecessor Docs +: 1\n.*Verification Flag +: VERIFIED\n.*Verifying Observers : 2026-12-03 08:05:10, Li Wei\^, Lantern site main/);
    for (const line of [
      '<has obs context CODE:(121005,DCM,"Observer Type")=(121006,DCM,"Person")>',
      '<has obs context PNAME:(121008,DCM,"Person Observer Name")="Li Wei^">',
      '<has obs context TEXT:(128774,DCM,"Person Observer\'s Login Name")="dr.li">',
      '<contains CODE:(decision,99LANTERN,"Clinician decision on AI finding")=(overridden,99LANTERN,"Overridden by clinician")>',
      '<has concept mod CODE:(override-reason,99LANTERN,"Override reason")=(poor-image-quality,99LANTERN,"Poor image quality: not assessable")>',
      '<has concept mod TEXT:(121106,DCM,"Comment")="rotated film">',
    ]) expect(tree).toContain(line);
    const dump = execFileSync('dcmdump', ['-q', '+P', '0040,a360', '+P', '0008,1155', writeTemp(sr.bytes)], { encoding: 'utf8' });
    expect(dump).toContain(`[${source.sopInstanceUid}]`);
    expect(source.sopInstanceUid).toBe(findingsSrUid('1.3.6.1.4.1.5962.1.1.9.1.3.20040826185059.5457', model));
    const validation = dciodvfy(sr.bytes);
    expect(validation.errors).toEqual([]);
    expect(validation.warnings.sort()).toEqual(EXPECTED_WARNINGS);
  });

  it('when a label has no SNOMED CT concept and a long id, and the probability falls in the refer band, then it is a Long Code Value of the local scheme, presence Undetermined, and still valid', () => {
    const long: FindingInput = { ...pneumonia, id: 'finding-long', label: 'pleural_thickening_left', display: 'Pleural thickening', probability: 0.3, positive: false, refer: true, heatmap: undefined };
    const sr = findingsSr({ source: chest, model, findings: [long], createdAt: '2026-12-03T08:00:00.000Z' });
    const { tree, errors } = dsrdump(sr.bytes);
    expect(errors).toBe('');
    expect(tree).toContain('<contains CODE:(121071,DCM,"Finding")=(pleural_thickening_left,99LANTERN,"Pleural thickening")>');
    expect(tree).toContain('<contains CODE:(705057003,SCT,"Presence")=(373068000,SCT,"Undetermined")>');
    expect(execFileSync('dcmdump', ['-q', '+P', '0008,0119', writeTemp(sr.bytes)], { encoding: 'utf8' })).toContain('[pleural_thickening_left]');
    expect(dciodvfy(sr.bytes).errors).toEqual([]);
  });

  it('when the source has no Part 10 header, then the SR still copies its patient and study and validates', () => {
    const raw = sourceImage(new Uint8Array(fs.readFileSync(files.chestRaw)));
    const sr = findingsSr({ source: raw, model, findings: [{ ...pneumonia, heatmap: undefined }], createdAt: '2026-12-03T08:00:00.000Z' });
    const { tree, errors } = dsrdump(sr.bytes);
    expect(errors).toBe('');
    expect(tree).not.toContain('SCOORD');
    expect(tree).toMatch(/Patient +: Anonymized/);
    // All its text is ASCII: no Specific Character Set, the default repertoire every reader takes.
    expect(execFileSync('dcmdump', ['-q', '+P', '0008,0005', writeTemp(sr.bytes)], { encoding: 'utf8' })).toBe('');
    expect(execFileSync('dcmdump', ['-q', '+P', '0008,0050', writeTemp(sr.bytes)], { encoding: 'utf8' })).toContain('[FUJI95714]');
    expect(tree).toContain('<contains CODE:(705057003,SCT,"Presence")=(52101004,SCT,"Present")>');
    expect(dciodvfy(sr.bytes).errors).toEqual([]);
  });

  it('when the patient\'s name is in Chinese, then the SR says UTF-8 and carries the name as the film has it', () => {
    const sr = findingsSr({ source: sourceImage(chineseNamedChest()), model, findings: [pneumonia], createdAt: '2026-12-03T08:00:00.000Z' });
    expect(execFileSync('dcmdump', ['-q', '+P', '0008,0005', writeTemp(sr.bytes)], { encoding: 'utf8' })).toContain('[ISO_IR 192]');
    const { tree, errors } = dsrdump(sr.bytes);
    expect(errors).toBe('');
    expect(tree).toMatch(/Patient +: 李\^雷/);
    expect(dciodvfy(sr.bytes).errors).toEqual([]);
  });

  it('when a document is written, then its DICOM JSON, made from the data set written, is what reading the written bytes back gives, UTF-8 text inside items (the en dash of "1–5 y") included', () => {
    const createdAt = '2026-12-03T08:00:00.123Z';
    // A region off whole pixels: GraphicData (FL) reads back at single precision.
    const fractional: FindingInput = { ...pneumonia, heatmap: { ...pneumonia.heatmap!, region: { left: 0, top: 57, size: 1840 } } };
    const preliminary = findingsSr({ source: chest, model, findings: [fractional, declined], createdAt });
    const long: FindingInput = { ...pneumonia, id: 'finding-long', label: 'pleural_thickening_left', display: 'Pleural thickening', probability: 0.3, positive: false, refer: true, heatmap: undefined };
    const documents = {
      'findings, applicable and not applicable': preliminary,
      'a clinician\'s decision': overridden(preliminary, [pneumonia, declined]),
      'a long local code in the refer band, from a film without a Part 10 header': findingsSr({ source: sourceImage(new Uint8Array(fs.readFileSync(files.chestRaw))), model, findings: [long], createdAt }),
      'a patient named in Chinese (UTF-8)': findingsSr({ source: sourceImage(chineseNamedChest()), model, findings: [pneumonia], createdAt }),
      'a patient named in three groups (ISO 2022 Japanese)': findingsSr({ source: sourceImage(new Uint8Array(fs.readFileSync(japaneseNamed))), model, findings: [declined], createdAt }),
    };
    for (const [what, sr] of Object.entries(documents)) expect(sr.dicomJson, what).toStrictEqual(dicomJsonOf(sr.bytes, EXPLICIT_VR_LITTLE_ENDIAN, true));
    // What the comparison covers: person names as groups, DS as numbers, FL at single precision, nested items.
    const json = preliminary.dicomJson.dataset;
    expect(json['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'CompressedSamples^RG1' }] });
    const content = (item: DicomJsonDataset) => (item['0040A730'] as { Value: DicomJsonDataset[] }).Value;
    const [group] = content(content(json)[8]);
    expect(content(group).map((item) => item['0040A040'])).toContainEqual({ vr: 'CS', Value: ['SCOORD'] });
    const region = heatmapHotRegion(fractional.heatmap!, chest)!;
    expect(region.some((v) => Math.fround(v) !== v)).toBe(true);
    expect(content(group).find((item) => item['00700022'])!['00700022']).toEqual({ vr: 'FL', Value: region.map(Math.fround) });
    expect(content(group).find((item) => item['0040A300'])!['0040A300']).toMatchObject({ Value: [{ '0040A30A': { vr: 'DS', Value: [0.812346] }, '0040A161': { vr: 'FD', Value: [0.8123456789] } }] });
    expect(documents['a patient named in three groups (ISO 2022 Japanese)'].dicomJson.dataset['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'Yamada^Tarou', Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' }] });

    expect(JSON.stringify(preliminary.dicomJson)).toContain('outside 1–5 y');
  });

  it('when a heatmap is flat, or its box lies outside the image, then there is no region to point at', () => {
    const flat = { width: 2, height: 2, data: [0, 0, 0, 0], region: { left: 0, top: 0, size: 100 } };
    expect(heatmapHotRegion(flat, { rows: 100, columns: 100 })).toBeUndefined();
    const outside = { width: 2, height: 2, data: [0, 0, 0, 1], region: { left: 200, top: 0, size: 100 } };
    expect(heatmapHotRegion(outside, { rows: 100, columns: 100 })).toBeUndefined();
    const clipped = { width: 2, height: 2, data: [0, 1, 0, 1], region: { left: 0, top: -20, size: 140 } };
    expect(heatmapHotRegion(clipped, { rows: 100, columns: 100 })).toEqual([70, 0, 100, 0, 100, 100, 70, 100, 70, 0]);
  });
});

/** The chest film with its patient's name in Chinese, in UTF-8 (dcmtk's dcmodify). */
function chineseNamedChest(): Uint8Array {
  const film = writeTemp(new Uint8Array(fs.readFileSync(files.chestJ2k)));
  execFileSync('dcmodify', ['-nb', '-m', '(0008,0005)=ISO_IR 192', '-m', '(0010,0010)=李^雷', film]);
  return new Uint8Array(fs.readFileSync(film));
}

function writeTemp(bytes: Uint8Array): string {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.dcm`);
  fs.writeFileSync(file, bytes);
  return file;
}
