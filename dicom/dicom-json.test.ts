import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DicomJsonDataset } from '../contract/dicomweb-query.ts';
import type { FindingInput, ModelProvenance } from '../contract/findings.ts';
import { buildCr, buildPart10 } from '../test/support/dicom-builder.ts';
import { files } from '../test/support/shared-data.ts';
import { DICOM_JSON_MAX_CHARS, dicomJsonOf, servedPixelModule } from './dicom-json.ts';
import { DEFAULT_DICOM_LIMITS } from './limits.ts';
import { createOffThreadParser } from './parse-off-thread/index.ts';
import { parseDicom } from './parse.ts';
import { decisionSr } from './sr/ai-results-sr.ts';
import { sourceImage } from './sr/source-attributes.ts';
import { sharedDataDir } from './test-data.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-dicom-json-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const jsonOf = (bytes: Uint8Array) => {
  const parsed = parseDicom(bytes);
  return dicomJsonOf(bytes, parsed.transferSyntaxUid, parsed.hasPart10Header);
};
const read = (file: string) => new Uint8Array(fs.readFileSync(file));

/** An explicit VR little endian element with a 4-byte length (CS, UT, SQ: what the items here hold), its value padded with a space. */
function longElement(tag: number, vr: 'CS' | 'UT' | 'SQ', value: Uint8Array): Buffer {
  const padded = value.length % 2 ? Buffer.concat([value, Buffer.from(' ')]) : Buffer.from(value);
  const header = Buffer.alloc(vr === 'CS' ? 8 : 12);
  header.writeUInt16LE(tag >>> 16, 0); header.writeUInt16LE(tag & 0xffff, 2); header.write(vr, 4, 'latin1');
  if (vr === 'CS') header.writeUInt16LE(padded.length, 6); else header.writeUInt32LE(padded.length, 8);
  return Buffer.concat([header, padded]);
}

/** A sequence item of explicit length holding `elements`. */
function item(...elements: Buffer[]): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16LE(0xfffe, 0); header.writeUInt16LE(0xe000, 2); header.writeUInt32LE(elements.reduce((n, e) => n + e.length, 0), 4);
  return Buffer.concat([header, ...elements]);
}

const TEXT_VALUE = 0x0040a160;
const CONTENT_SEQUENCE = 0x0040a730;
/** An item with a Text Value (0040,A160, UT) of `text` in UTF-8. */
const textItem = (text: string) => item(longElement(TEXT_VALUE, 'UT', new TextEncoder().encode(text)));

const ENCODED_TEXT_VRS = new Set(['SH', 'LO', 'ST', 'LT', 'UT', 'UC', 'PN']);

/**
 * The values of the character-set text (PS3.5 6.1.2.3) inside sequence items, in order. A name's
 * trailing empty components ("李伟^") are left off, as dcm2json writes them: the same name (PS3.5 6.2.1.1).
 */
function itemTexts(dataset: DicomJsonDataset, inItem = false): string[] {
  return Object.values(dataset).flatMap((attribute) => {
    if (attribute.vr === 'SQ') return ((attribute.Value ?? []) as DicomJsonDataset[]).flatMap((nested) => itemTexts(nested, true));
    if (!inItem || !ENCODED_TEXT_VRS.has(attribute.vr)) return [];
    return (attribute.Value ?? []).map((v) => (attribute.vr === 'PN' ? JSON.stringify(v).replace(/\^+"/g, '"') : String(v)));
  });
}

/** dcm2json's (dcmtk's) DICOM JSON of `bytes`: the reference peer, which converts the data set's text to UTF-8 first. */
function dcm2json(bytes: Uint8Array): DicomJsonDataset {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.dcm`);
  fs.writeFileSync(file, bytes);
  return JSON.parse(execFileSync('dcm2json', [file], { encoding: 'utf8' })) as DicomJsonDataset;
}

/** dcmtk's dcmconv re-encoding every text value of `bytes`, and Specific Character Set, to `characterSet`. */
function reencoded(bytes: Uint8Array, characterSet: string): Uint8Array {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.dcm`);
  fs.writeFileSync(file, bytes);
  execFileSync('dcmconv', ['+C', characterSet, file, `${file}.out`]);
  return new Uint8Array(fs.readFileSync(`${file}.out`));
}

/** Li Wei (李伟) of 兰亭医院 overrides a pneumonia finding on a real chest film, in a comment of his own: Chinese text deep in the content tree, as Lantern writes it (UTF-8). */
function chineseDecisionSr(): Uint8Array {
  const model: ModelProvenance = { id: 'cxr-pneumonia-adult', version: '1.0.0', weightsSha256: 'c0ffee'.padEnd(64, '0'), preprocessing: 'grey-square@1' };
  const pneumonia: FindingInput = {
    id: 'finding-pneumonia', label: 'pneumonia', display: 'Pneumonia', probability: 0.81, positive: true, refer: false,
    operatingPoint: { name: 'sens-0.90', threshold: 0.42 }, model, timingMs: {},
  };
  return decisionSr({
    source: sourceImage(read(files.chestJ2k)), model, findings: [pneumonia], createdAt: '2026-12-03T08:00:00.000Z',
    review: { id: '42', createdAt: '2026-12-03T08:05:10.000Z', reviewer: { name: '李伟', login: 'dr.li' } },
    decisions: new Map([[pneumonia.id, { decision: 'override', reason: { code: 'poor-image-quality', display: 'Poor image quality: not assessable' }, comment: '图像旋转，无法评估', reviewerName: '李伟' }]]),
    organization: '兰亭医院', predecessor: { sopInstanceUid: '1.2.826.0.1.3680043.10.1.97.3', seriesInstanceUid: '1.2.826.0.1.3680043.10.1.97.2' }, position: 1,
  }).bytes;
}

describe('DICOM JSON of an instance (PS3.18 F.2)', () => {
  it('when a real CT is read, then every attribute is keyed by tag with its VR, names are PN groups, and Pixel Data is a BulkDataURI', () => {
    const { dataset, omitted } = jsonOf(read(files.ct));
    expect(omitted).toEqual([]);
    expect(dataset['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'MISTER^CT' }] });
    expect(dataset['00080008']).toEqual({ vr: 'CS', Value: ['ORIGINAL', 'PRIMARY', 'AXIAL'] });
    expect(dataset['00180050']).toEqual({ vr: 'DS', Value: [5] });
    expect(dataset['00280010']).toEqual({ vr: 'US', Value: [512] });
    expect(dataset['7FE00010']).toEqual({ vr: 'OW', BulkDataURI: 'bulk/7FE00010' });
    // A small private binary stays inline; empty values carry no Value; group lengths and the file meta group are left out.
    expect(dataset['00091001'].InlineBinary).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(dataset['00080090']).toEqual({ vr: 'PN' });
    expect(Object.keys(dataset).some((tag) => tag.endsWith('0000') || tag.startsWith('0002'))).toBe(false);
    expect(JSON.stringify(dataset)).not.toContain('_rawValue');
  });

  it('when a JPEG 2000 chest film with nested sequences is read, then items are data sets of their own', () => {
    const { dataset } = jsonOf(read(files.chestJ2k));
    expect(dataset['00082112'].Value?.[0]).toMatchObject({ '00081150': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.1'] } });
    expect(dataset['7FE00010']).toEqual({ vr: 'OB', BulkDataURI: 'bulk/7FE00010' });
  });

  it('when an object has no Part 10 header, then it is read as a bare data set in the syntax the parser found', () => {
    const { dataset } = jsonOf(read(files.chestRaw));
    expect(dataset['00080060']).toEqual({ vr: 'CS', Value: ['CR'] });
    expect(dataset['0020000D'].Value?.[0]).toMatch(/^[0-9.]+$/);
  });

  it('when names are in GB2312 with ISO 2022 code extensions (which dcmjs refuses), then they are read by Lantern\'s decoder into their groups', () => {
    const { dataset } = jsonOf(read(path.join(sharedDataDir, 'dicom/fo-dicom/files/charset/chrGB2312.dcm')));
    expect(dataset['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'Zhang^XiaoDong', Ideographic: '张^小东' }] });
    expect(dataset['00080005']).toEqual({ vr: 'CS', Value: ['ISO_IR 192'] });
  });

  it('when an SR\'s content tree has Chinese text in UTF-8, or the same SR in GB18030, then the text inside its items reads as dcm2json reads it', () => {
    const utf8 = chineseDecisionSr();
    const gb18030 = reencoded(utf8, 'GB18030');
    expect(parseDicom(gb18030).dataSet.string('x00080005')).toBe('GB18030');
    for (const bytes of [utf8, gb18030]) {
      const texts = itemTexts(jsonOf(bytes).dataset);
      expect(texts).toEqual(itemTexts(dcm2json(bytes)));
      expect(texts).toEqual(expect.arrayContaining(['兰亭医院', '{"Alphabetic":"李伟"}', '图像旋转，无法评估']));
    }
  });

  it('when an item has its own Specific Character Set, then its text and its items\' text read in that set, and its sibling\'s in the data set\'s', () => {
    // Bytes as GB18030 and Latin-1 encode them (no stock encoder writes GB18030): 图像旋转, 无法评估, Größe.
    const gb = (hex: string) => Buffer.from(hex, 'hex');
    const rotated = gb('cdbccff1d0fdd7aa');
    const notAssessable = gb('cedeb7a8c6c0b9c0');
    expect([rotated, notAssessable].map((b) => new TextDecoder('gb18030').decode(b))).toEqual(['图像旋转', '无法评估']);
    const uid = '1.2.826.0.1.3680043.10.1.96';
    const tree = Buffer.concat([
      item(longElement(0x00080005, 'CS', Buffer.from('GB18030')), longElement(TEXT_VALUE, 'UT', rotated),
        longElement(CONTENT_SEQUENCE, 'SQ', item(longElement(TEXT_VALUE, 'UT', notAssessable)))),
      item(longElement(TEXT_VALUE, 'UT', Buffer.from('Größe', 'latin1'))),
    ]);
    const bytes = buildPart10('1.2.840.10008.1.2.1', '1.2.840.10008.5.1.4.1.1.88.22', `${uid}.3`, [
      { tag: 0x00080005, vr: 'CS', value: 'ISO_IR 100' },
      { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.88.22' },
      { tag: 0x00080018, vr: 'UI', value: `${uid}.3` },
      { tag: 0x0040a730, vr: 'SQ', value: new Uint8Array(tree) },
    ]);
    // dcm2json 3.6.7 reads the whole data set in its own set (here: 图像旋转 as "Í¼ÏñÐý×ª"); PS3.5 has an item's own set apply to it and what it holds, as pydicom 3 reads it.
    expect(itemTexts(dicomJsonOf(bytes, '1.2.840.10008.1.2.1', true).dataset)).toEqual(['图像旋转', '无法评估', 'Größe']);
  });

  it('when a data set uses ISO 2022 code extensions (which dcmjs refuses), then the text inside its items is read by Lantern\'s decoder too', () => {
    // 图像旋转 in GB2312 (ISO 2022 IR 58): the escape designating it to G1, then its bytes with the high bit set.
    const rotated = Buffer.from('1b242941cdbccff1d0fdd7aa', 'hex');
    const uid = '1.2.826.0.1.3680043.10.1.95';
    const bytes = buildPart10('1.2.840.10008.1.2.1', '1.2.840.10008.5.1.4.1.1.88.22', `${uid}.3`, [
      { tag: 0x00080005, vr: 'CS', value: '\\ISO 2022 IR 58' },
      { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.88.22' },
      { tag: 0x00080018, vr: 'UI', value: `${uid}.3` },
      { tag: 0x0020000d, vr: 'UI', value: `${uid}.1` },
      { tag: 0x0020000e, vr: 'UI', value: `${uid}.2` },
      { tag: 0x0040a730, vr: 'SQ', value: new Uint8Array(item(longElement(TEXT_VALUE, 'UT', rotated))) },
    ]);
    const texts = itemTexts(jsonOf(bytes).dataset);
    expect(texts).toEqual(['图像旋转']);
    expect(texts).toEqual(itemTexts(dcm2json(bytes)));
  });

  it('when a hostile SR\'s content tree is over the cap, then its identifiers stay, the tree is left out and named', () => {
    const uid = '1.2.826.0.1.3680043.10.1.99';
    const tree = Buffer.concat(Array.from({ length: 2500 }, () => textItem('x'.repeat(600))));
    const bytes = buildPart10('1.2.840.10008.1.2.1', '1.2.840.10008.5.1.4.1.1.88.22', `${uid}.3`, [
      { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.88.22' },
      { tag: 0x00080018, vr: 'UI', value: `${uid}.3` },
      { tag: 0x00080060, vr: 'CS', value: 'SR' },
      { tag: 0x0020000d, vr: 'UI', value: `${uid}.1` },
      { tag: 0x0020000e, vr: 'UI', value: `${uid}.2` },
      { tag: 0x0040a730, vr: 'SQ', value: new Uint8Array(tree) },
    ]);
    const { dataset, omitted } = dicomJsonOf(bytes, '1.2.840.10008.1.2.1', true);
    expect(omitted).toEqual(['0040A730']);
    expect(JSON.stringify(dataset).length).toBeLessThanOrEqual(DICOM_JSON_MAX_CHARS);
    expect(dataset['00080018']).toEqual({ vr: 'UI', Value: [`${uid}.3`] });
  });

  it('when a small image is read, then its pixels are still a BulkDataURI, never inline', () => {
    const bytes = buildCr('1.2.826.0.1.3680043.10.1.98', '1.2.840.10008.1.2.1',
      { rows: 2, columns: 2, bitsAllocated: 8, bitsStored: 8, pixelRepresentation: 0, photometricInterpretation: 'MONOCHROME2' }, new Uint8Array(4));
    expect(jsonOf(bytes).dataset['7FE00010']).toEqual({ vr: 'OB', BulkDataURI: 'bulk/7FE00010' });
  });

  it('when an upload is parsed off the event loop, then its DICOM JSON is read there too and comes back with the parse', async () => {
    const parser = createOffThreadParser({ limits: DEFAULT_DICOM_LIMITS });
    try {
      const parsed = await parser.parse(read(files.ct));
      expect(parsed.dicomJson?.dataset).toEqual(jsonOf(read(files.ct)).dataset);
    } finally {
      await parser.close();
    }
  });

  it.each([
    ['JPEG 2000', '1.2.840.10008.1.2.4.91', 'RGB'],
    ['HTJ2K', '1.2.840.10008.1.2.4.203', 'RGB'],
    ['uncompressed', '1.2.840.10008.1.2.1', 'YBR_ICT'],
  ])('when a YBR_ICT colour image stored as %s is served, then its metadata names the colour space the decoder hands out (%s)', (_, syntax, served) => {
    const image = { ...parseDicom(read(files.ct)).meta.image!, samplesPerPixel: 3, photometricInterpretation: 'YBR_ICT', bitsAllocated: 8, bitsStored: 8, highBit: 7 };
    expect(servedPixelModule(image, syntax)['00280004']).toEqual({ vr: 'CS', Value: [served] });
  });
});
