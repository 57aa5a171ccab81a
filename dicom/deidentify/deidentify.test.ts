import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DataSet, Element } from 'dicom-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDicom, type DicomInstance } from '../parse.ts';
import { sharedDataDir } from '../test-data.ts';
import { dictionaryVr, isClassUid } from './actions.ts';
import { encodePart10, type OutElement } from './encode.ts';
import { BurnedInAnnotationError, createDeidentifyContext, deidentify, TABLE_E1_1, type DeidentifiedInstance } from './index.ts';
import { readText, shiftDates, textValue } from './values.ts';

/**
 * The export a model team would receive, checked the way a privacy reviewer would: every
 * DICOM file under ../shared/data that Lantern would store is de-identified in one export
 * (one context), and the outputs are searched for anything the profile says must go.
 */

const dicomDir = path.join(sharedDataDir, 'dicom');
const NOT_DICOM = /\.(md|csv|txt|json)$|LICENSE|DICOMDIR$/;

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? listFiles(full) : NOT_DICOM.test(entry.name) ? [] : [full];
  });
}

interface Case {
  file: string;
  input: DicomInstance;
  output?: DeidentifiedInstance;
  parsed?: DicomInstance;
  refused?: Error;
}

interface Found { tag: number; element: Element; dataSet: DataSet; depth: number }

function* everyElement(dataSet: DataSet, depth = 0): Generator<Found> {
  const metaEnd = depth > 0 ? 0 : Math.max(0, ...Object.values(dataSet.elements).filter((e) => e.tag.startsWith('x0002')).map((e) => e.dataOffset + e.length));
  for (const element of Object.values(dataSet.elements)) {
    // dicom-parser's deflate path reports a phantom element made of the preamble's or meta's bytes.
    if (!element.tag.startsWith('x0002') && element.dataOffset < metaEnd) continue;
    yield { tag: parseInt(element.tag.slice(1), 16), element, dataSet, depth };
    for (const item of element.items ?? []) if (item.dataSet) yield* everyElement(item.dataSet, depth + 1);
  }
}

const valueOf = ({ element, dataSet }: Found) => dataSet.byteArray.subarray(element.dataOffset, element.dataOffset + element.length);
const textOf = (found: Found) => readText(valueOf(found));
const top = (instance: DicomInstance, key: string) => {
  const element = instance.dataSet.elements[key];
  return element ? readText(instance.dataSet.byteArray.subarray(element.dataOffset, element.dataOffset + element.length)) : '';
};

function pixelBytes(instance: DicomInstance): Uint8Array | undefined {
  const element = instance.dataSet.elements.x7fe00010;
  return element && instance.dataSet.byteArray.subarray(element.dataOffset, element.dataOffset + element.length);
}

/** The output with its Pixel Data blanked, so a short ID that happens to occur in pixel values is not a false alarm. */
function bytesOutsidePixels(instance: DicomInstance): Buffer {
  const copy = Buffer.from(instance.dataSet.byteArray);
  const element = instance.dataSet.elements.x7fe00010;
  if (element) copy.fill(0, element.dataOffset, element.dataOffset + element.length);
  return copy;
}

const rows = new Map(TABLE_E1_1.filter((row) => !row.repeating).map((row) => [row.tag, row]));
const DATE_VRS = new Set(['DA', 'DT', 'TM']);
const VALID_UID = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))+$/;

const context = createDeidentifyContext();
const cases: Case[] = [];
let rejectedAtParse = 0;

beforeAll(() => {
  for (const file of listFiles(dicomDir)) {
    let input: DicomInstance;
    try {
      input = parseDicom(new Uint8Array(fs.readFileSync(file)));
    } catch {
      rejectedAtParse++; // malformed on purpose: Lantern never stores these, so never exports them
      continue;
    }
    try {
      const output = deidentify(input, { context });
      cases.push({ file, input, output, parsed: parseDicom(output.bytes) });
    } catch (error) {
      cases.push({ file, input, refused: error as Error });
    }
  }
}, 120_000);

const done = () => cases.filter((c): c is Required<Case> => Boolean(c.output));
const name = (c: Case) => path.relative(dicomDir, c.file);

describe('de-identified export of ../shared/data (PS3.15 2024b Basic Profile + modified dates)', { timeout: 300_000 }, () => {
  it('when every storable file is exported, then each comes out, or is refused only for burned-in annotation', () => {
    const refusedOtherwise = cases.filter((c) => c.refused && !(c.refused instanceof BurnedInAnnotationError));
    expect(refusedOtherwise.map((c) => `${name(c)}: ${c.refused!.message}`)).toEqual([]);
    for (const c of cases.filter((one) => one.refused)) expect(top(c.input, 'x00280301')).toBe('YES');
    const modalities = new Set(done().map((c) => c.output.modality));
    const syntaxes = new Set(done().map((c) => c.output.transferSyntaxUid));
    console.log(`de-identified ${done().length} files (${cases.length - done().length} refused for burned-in annotation, ${rejectedAtParse} unstorable); ` +
      `modalities ${[...modalities].sort().join(' ')}; ${syntaxes.size} transfer syntaxes`);
    expect(done().length).toBeGreaterThanOrEqual(200);
    expect(modalities.size).toBeGreaterThanOrEqual(8);
    expect(syntaxes.size).toBeGreaterThanOrEqual(10);
  });

  it('then every attribute Table E.1-1 removes, empties or replaces is absent, empty or replaced, at any depth', () => {
    const problems: string[] = [];
    for (const c of done()) {
      const inputValues = new Map<number, Set<string>>();
      for (const found of everyElement(c.input.dataSet)) {
        if (!rows.has(found.tag) || found.element.length > 1024) continue;
        if (!inputValues.has(found.tag)) inputValues.set(found.tag, new Set());
        inputValues.get(found.tag)!.add(textOf(found));
      }
      for (const found of everyElement(c.parsed.dataSet)) {
        const row = rows.get(found.tag);
        if (!row || found.tag === 0x00020003) continue;
        const vr = found.element.items ? 'SQ' : (found.element.vr && found.element.vr !== 'UN' ? found.element.vr : dictionaryVr(found.tag) ?? '');
        const value = found.element.length > 1024 ? '' : textOf(found);
        const where = `${name(c)} ${row.name}`;
        // Dates and times are the option's (C): shifted, checked below; only the birth date and time stay Z/X.
        if (DATE_VRS.has(vr) && found.tag !== 0x00100030 && found.tag !== 0x00100032) continue;
        if (row.action === 'X') problems.push(`${where}: present but the table removes it`);
        if (row.action === 'Z' && (found.element.length > 0 || (found.element.items?.length ?? 0) > 0)) problems.push(`${where}: not empty`);
        if (row.action.includes('U') && vr === 'UI' && value.split('\\').some((uid) => uid !== '' && !uid.startsWith('2.25.'))) problems.push(`${where}: UID not replaced (${value})`);
        if (/D/.test(row.action) && vr !== 'SQ' && vr !== 'UI' && value && inputValues.get(found.tag)?.has(value)) problems.push(`${where}: kept its value ${value}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('then no private element, curve or overlay group remains', () => {
    const left = done().flatMap((c) => [...everyElement(c.parsed.dataSet)]
      .filter(({ tag }) => (tag >>> 16) % 2 === 1 || [0x5000, 0x6000].includes((tag >>> 16) & 0xff00))
      .map(({ tag }) => `${name(c)} ${tag.toString(16)}`));
    expect(left).toEqual([]);
    const hadPrivate = done().filter((c) => (c.output.counts.private ?? 0) > 0).length;
    expect(hadPrivate).toBeGreaterThan(20);
  });

  it('then no original instance UID, patient name, patient ID or accession number appears anywhere in the bytes outside Pixel Data', () => {
    const leaks: string[] = [];
    for (const c of done()) {
      const secrets = new Set<string>();
      for (const found of everyElement(c.input.dataSet)) {
        const vr = found.element.vr ?? (found.tag === 0x0020000d || found.tag === 0x0020000e || found.tag === 0x00080018 ? 'UI' : '');
        if (vr === 'UI' && !isClassUid(found.tag)) {
          // A UID of a few characters ("0", "1.2") would match by chance anywhere; real instance UIDs are longer.
          for (const uid of textOf(found).split('\\')) if (uid.length >= 8 && !uid.startsWith('1.2.840.10008.')) secrets.add(uid);
        }
      }
      // Names, IDs and accession numbers: whole values and name components of 6 characters or
      // more are searched in the bytes; shorter ones ("0001", a family name "Knee") also occur
      // innocently (a series number, an anatomy code meaning), so they must only be gone from their own attribute.
      for (const key of ['x00100010', 'x00100020', 'x00080050', 'x00101000', 'x00101001']) {
        const original = top(c.input, key);
        for (const value of [original, ...original.split(/[\\^=]/)]) if (value.trim().length >= 6) secrets.add(value.trim());
        if (original && top(c.parsed, key) === original) leaks.push(`${name(c)}: ${key} kept "${original}"`);
      }
      const haystack = bytesOutsidePixels(c.parsed);
      for (const secret of secrets) if (haystack.includes(Buffer.from(secret, 'latin1'))) leaks.push(`${name(c)}: "${secret}"`);
    }
    expect(leaks).toEqual([]);
  });

  it('then every new UID is a valid PS3.5 9.1 UID under 2.25, and one original UID maps to one new UID across all files', () => {
    const seen = new Map<string, string>();
    const clashes: string[] = [];
    for (const c of done()) {
      for (const key of ['x0020000d', 'x0020000e', 'x00080018', 'x00200052']) {
        const before = top(c.input, key);
        const after = top(c.parsed, key);
        if (!before) continue;
        expect(after).toMatch(VALID_UID);
        expect(after.startsWith('2.25.') && after.length <= 64).toBe(true);
        if (seen.has(before) && seen.get(before) !== after) clashes.push(`${name(c)} ${key} ${before}`);
        seen.set(before, after);
      }
      expect(top(c.parsed, 'x00020003')).toBe(top(c.parsed, 'x00080018'));
    }
    expect(clashes).toEqual([]);
    // Files of one study stay one study, with distinct instances; different studies stay apart.
    const byStudy = new Map<string, Required<Case>[]>();
    for (const c of done()) byStudy.set(top(c.input, 'x0020000d'), [...(byStudy.get(top(c.input, 'x0020000d')) ?? []), c]);
    const multi = [...byStudy.values()].filter((group) => group.length > 3);
    expect(multi.length).toBeGreaterThanOrEqual(3);
    for (const group of multi) expect(new Set(group.map((c) => c.output.studyInstanceUid)).size).toBe(1);
    expect(new Set(done().map((c) => c.output.studyInstanceUid)).size).toBe(byStudy.size);
  });

  it('then every date moves by its patient\'s offset, the same for all of that patient\'s files, and times are kept', () => {
    const problems: string[] = [];
    for (const c of done()) {
      const { offsetDays } = context.patient(top(c.input, 'x00100020'), top(c.input, 'x00100010'));
      expect(offsetDays).toBeLessThan(0);
      for (const key of ['x00080020', 'x00080021', 'x00080022', 'x00080023', 'x0008002a', 'x00080030']) {
        const element = c.input.dataSet.elements[key];
        if (!element) continue;
        const vr = key === 'x0008002a' ? 'DT' : key === 'x00080030' ? 'TM' : 'DA';
        const expected = readText(shiftDates(c.input.dataSet.byteArray.subarray(element.dataOffset, element.dataOffset + element.length), vr, offsetDays));
        if (top(c.parsed, key) !== expected) problems.push(`${name(c)} ${key}: ${top(c.input, key)} → ${top(c.parsed, key)}, expected ${expected}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('then Pixel Data is byte-identical and the output parses with the identity-removed attributes the standard asks for', () => {
    for (const c of done()) {
      const before = pixelBytes(c.input);
      const after = pixelBytes(c.parsed);
      if (before) expect(Buffer.compare(Buffer.from(before), Buffer.from(after!)), name(c)).toBe(0);
      expect(c.parsed.transferSyntaxUid).toBe(c.input.transferSyntaxUid);
      expect(top(c.parsed, 'x00120062')).toBe('YES');
      expect(top(c.parsed, 'x00120063')).toContain('PS3.15 2024b');
      expect(top(c.parsed, 'x00280303')).toBe('MODIFIED');
      const codes = c.parsed.dataSet.elements.x00120064.items!.map((item) => item.dataSet!.string('x00080100'));
      expect(codes).toEqual(['113100', '113107']);
    }
  });

  const dciodvfy = spawnSync('sh', ['-c', 'command -v dciodvfy']).status === 0;
  it.skipIf(!dciodvfy)('then dciodvfy finds no error in an output that it did not find in its input (two files per modality and syntax)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-deid-'));
    // Messages quote values; UIDs are meant to differ, so they are masked before comparing.
    const errors = (file: string) => new Set(spawnSync('dciodvfy', [file], { encoding: 'utf8', timeout: 20_000 }).stderr
      .split('\n').filter((line) => line.startsWith('Error'))
      .map((line) => line.replace(/\b\d+(\.\d+)*\b/g, '<n>').replace(/\s+$/, '')));
    const fresh: string[] = [];
    const perKind = new Map<string, number>();
    const checked = done().filter((c) => {
      const kind = `${c.output.modality}|${c.output.transferSyntaxUid}`;
      perKind.set(kind, (perKind.get(kind) ?? 0) + 1);
      return c.input.hasPart10Header && perKind.get(kind)! <= 2;
    });
    expect(checked.length).toBeGreaterThanOrEqual(40);
    for (const [index, c] of checked.entries()) {
      const out = path.join(dir, `${index}.dcm`);
      fs.writeFileSync(out, c.output.bytes);
      const before = errors(c.file);
      for (const error of errors(out)) if (!before.has(error)) fresh.push(`${name(c)}: ${error}`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    expect(fresh).toEqual([]);
  }, 600_000);
});

describe('burned-in annotation', () => {
  /** A tiny secondary-capture image built byte by byte, saying its pixels carry burned-in text. */
  function burnedInImage(): Uint8Array {
    const t = (tag: number, vr: string, text: string): OutElement => ({ tag, vr, value: textValue(text, vr) });
    const us = (tag: number, value: number): OutElement => ({ tag, vr: 'US', value: new Uint8Array([value & 0xff, value >> 8]) });
    const dataSet: OutElement[] = [
      t(0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.7'), t(0x00080018, 'UI', '1.2.3.4.5.6.7'), t(0x00080060, 'CS', 'OT'),
      t(0x00100010, 'PN', 'Doe^Jane'), t(0x00100020, 'LO', 'MRN-000123'), t(0x0020000d, 'UI', '1.2.3.4.5'), t(0x0020000e, 'UI', '1.2.3.4.5.6'),
      us(0x00280002, 1), t(0x00280004, 'CS', 'MONOCHROME2'), us(0x00280010, 2), us(0x00280011, 2), us(0x00280100, 8), us(0x00280101, 8),
      us(0x00280102, 7), us(0x00280103, 0), t(0x00280301, 'CS', 'YES'), { tag: 0x7fe00010, vr: 'OB', value: new Uint8Array([1, 2, 3, 4]) },
    ];
    const meta: OutElement[] = [t(0x00020002, 'UI', '1.2.840.10008.5.1.4.1.1.7'), t(0x00020003, 'UI', '1.2.3.4.5.6.7'), t(0x00020010, 'UI', '1.2.840.10008.1.2.1')];
    return new Uint8Array(encodePart10(meta, dataSet, '1.2.840.10008.1.2.1'));
  }

  it('when an image says Burned In Annotation YES, then it is refused with a typed error', () => {
    expect(() => deidentify(burnedInImage(), { context: createDeidentifyContext() })).toThrow(BurnedInAnnotationError);
  });

  it('when the exporter asks to flag instead, then it is exported and reported as YES, still without the name or ID', () => {
    const out = deidentify(burnedInImage(), { context: createDeidentifyContext(), burnedInAnnotation: 'flag' });
    expect(out.burnedInAnnotation).toBe('YES');
    const bytes = Buffer.from(out.bytes);
    expect(bytes.includes(Buffer.from('Doe'))).toBe(false);
    expect(bytes.includes(Buffer.from('MRN-000123'))).toBe(false);
    expect(execFileSync('dcmdump', ['+P', '0028,0301', '-'], { input: bytes }).toString()).toContain('YES');
  });
});

describe('options', () => {
  const file = () => new Uint8Array(fs.readFileSync(path.join(dicomDir, 'pydicom-testfiles/test_files/CT_small.dcm')));

  it('when patient characteristics are retained, then age, sex and weight stay, the option is declared, and names and IDs still go', () => {
    const out = parseDicom(deidentify(file(), { context: createDeidentifyContext(), retainPatientCharacteristics: true }).bytes);
    const input = parseDicom(file());
    for (const key of ['x00101010', 'x00100040', 'x00101030']) expect(top(out, key)).toBe(top(input, key));
    expect(out.dataSet.elements.x00120064.items!.map((item) => item.dataSet!.string('x00080100'))).toEqual(['113100', '113107', '113108']);
    expect(top(out, 'x00100010')).toBe('');
    expect(top(out, 'x00100020')).toMatch(/^LANTERN-/);
  });

  it('when dates are not retained, then they are dummies and the data set says REMOVED', () => {
    const out = parseDicom(deidentify(file(), { context: createDeidentifyContext(), retainLongitudinalModifiedDates: false }).bytes);
    expect(top(out, 'x00080020')).toBe('');
    expect(top(out, 'x00080021')).toBe('19000101');
    expect(top(out, 'x00280303')).toBe('REMOVED');
    expect(top(out, 'x00101010')).toBe('');
  });
});

describe('keys', () => {
  it('when two exports use different keys, then their UIDs and pseudonyms cannot be linked; with the same key, they match', () => {
    const file = new Uint8Array(fs.readFileSync(path.join(dicomDir, 'pydicom-testfiles/test_files/CT_small.dcm')));
    const key = new Uint8Array(32).fill(7);
    const a = deidentify(file, { context: createDeidentifyContext({ key }) });
    const b = deidentify(file, { context: createDeidentifyContext({ key }) });
    const c = deidentify(file, { context: createDeidentifyContext() });
    expect(b.sopInstanceUid).toBe(a.sopInstanceUid);
    expect(b.patientPseudonym).toBe(a.patientPseudonym);
    expect(c.sopInstanceUid).not.toBe(a.sopInstanceUid);
    expect(c.patientPseudonym).not.toBe(a.patientPseudonym);
  });
});
