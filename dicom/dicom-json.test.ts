import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCr, buildPart10 } from '../test/support/dicom-builder.ts';
import { files } from '../test/support/shared-data.ts';
import { DICOM_JSON_MAX_CHARS, dicomJsonOf, servedPixelModule } from './dicom-json.ts';
import { DEFAULT_DICOM_LIMITS } from './limits.ts';
import { createOffThreadParser } from './parse-off-thread/index.ts';
import { parseDicom } from './parse.ts';
import { sharedDataDir } from './test-data.ts';

const jsonOf = (bytes: Uint8Array) => {
  const parsed = parseDicom(bytes);
  return dicomJsonOf(bytes, parsed.transferSyntaxUid, parsed.hasPart10Header);
};
const read = (file: string) => new Uint8Array(fs.readFileSync(file));

/** Explicit VR little endian item with a Text Value (0040,A160, UT) of `text`. */
function textItem(text: string): Uint8Array {
  const value = new TextEncoder().encode(text.length % 2 ? `${text} ` : text);
  const element = Buffer.alloc(12 + value.length);
  element.writeUInt16LE(0x0040, 0); element.writeUInt16LE(0xa160, 2); element.write('UT', 4, 'latin1'); element.writeUInt32LE(value.length, 8);
  Buffer.from(value).copy(element, 12);
  const item = Buffer.alloc(8);
  item.writeUInt16LE(0xfffe, 0); item.writeUInt16LE(0xe000, 2); item.writeUInt32LE(element.length, 4);
  return Buffer.concat([item, element]);
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
