/**
 * The lean Part 10 encoder against dcmjs 0.51's writer, the one it replaces: every AI results SR
 * the tests write comes out byte for byte the same (and dciodvfy still finds no error in it),
 * random data sets of every VR it models come out the same or are declined, and what it declines
 * dcmjs writes (or refuses) exactly as before.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { files } from '../../test/support/shared-data.ts';
import { dicomJsonOf, dicomJsonOfWritten } from '../dicom-json.ts';
import { decisionSr, findingsSr } from './ai-results-sr.ts';
import { EXPLICIT_VR_LITTLE_ENDIAN, fileMetaOf, writeDenaturalisedWithDcmjs, writePart10, writePart10WithDcmjs } from './dcmjs-io.ts';
import { encodePart10, type DenaturalisedDataset, type FileMeta } from './part10-writer.ts';
import { sourceImage } from './source-attributes.ts';
import { declined, model, pneumonia, testReports } from './test-reports.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-part10-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function run(tool: string, args: string[], bytes: Uint8Array) {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.dcm`);
  fs.writeFileSync(file, bytes);
  const done = spawnSync(tool, [...args, file], { encoding: 'utf8' });
  return { status: done.status, output: `${done.stdout}\n${done.stderr}` };
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('the lean Part 10 encoder, held to dcmjs', () => {
  let reports: ReturnType<typeof testReports>;
  beforeAll(() => {
    reports = testReports();
  }, 60_000);

  it('when every SR the tests write is encoded, then the bytes are dcmjs\'s, none is left to dcmjs, and the data set returned reads as those bytes do', () => {
    expect(Object.keys(reports).length).toBeGreaterThanOrEqual(25);
    for (const [what, dataset] of Object.entries(reports)) {
      const reference = writePart10WithDcmjs(dataset);
      const lean = encodePart10(reference.written as DenaturalisedDataset, fileMetaOf(dataset));
      expect(lean, `${what}: declined`).toBeDefined();
      expect(same(lean!, reference.bytes), `${what}: bytes differ from dcmjs's`).toBe(true);
      const written = writePart10(dataset);
      expect(same(written.bytes, reference.bytes), what).toBe(true);
      // The GB18030-labelled one is not an SR Lantern writes (its UTF-8 text reads back as mojibake: see below).
      if (dataset.SpecificCharacterSet !== 'GB18030') expect(dicomJsonOfWritten(written.written), what).toStrictEqual(dicomJsonOf(written.bytes, EXPLICIT_VR_LITTLE_ENDIAN, true));
    }
  });

  it('when findingsSr and decisionSr write the first two documents, then theirs are the bytes dcmjs writes for the reports here (the reports are theirs)', () => {
    const chest = sourceImage(new Uint8Array(fs.readFileSync(files.chestJ2k)));
    const preliminary = findingsSr({ source: chest, model, findings: [pneumonia, declined], createdAt: '2026-12-03T08:00:00.123Z' });
    expect(same(preliminary.bytes, writePart10WithDcmjs(reports['findings, applicable (with a region) and not applicable']).bytes)).toBe(true);
    const decision = decisionSr({
      source: chest, model, findings: [pneumonia, declined], createdAt: '2026-12-03T08:00:00.123Z',
      review: { id: '42', createdAt: '2026-12-03T08:05:10.000Z', reviewer: { name: 'Li Wei', login: 'dr.li' } },
      decisions: new Map([[pneumonia.id, { decision: 'override', reason: { code: 'poor-image-quality', display: 'Poor image quality: not assessable' }, comment: 'rotated film', reviewerName: 'Li Wei' }]]),
      organization: 'Lantern site main', predecessor: { sopInstanceUid: preliminary.sopInstanceUid, seriesInstanceUid: preliminary.seriesInstanceUid }, position: 1,
    });
    expect(same(decision.bytes, writePart10WithDcmjs(reports['a clinician\'s override with reason and comment, complete']).bytes)).toBe(true);
  });

  it('when the SRs are written by the lean encoder, then dciodvfy finds no error in any of them', () => {
    for (const what of ['findings, applicable (with a region) and not applicable', 'a clinician\'s override with reason and comment, complete',
      'fourteen labels, decided in Chinese', 'a patient named in Chinese (UTF-8)', 'a patient named as in chrH31', 'a long local code in the refer band, from a film without a Part 10 header']) {
      const { output } = run('dciodvfy', [], writePart10(reports[what]).bytes);
      expect(output.split('\n').filter((line) => line.startsWith('Error')), what).toEqual([]);
    }
  });

  it('when a data set declares GB18030, then both encoders write its text as UTF-8 all the same (dcmjs encodes every string so)', () => {
    const declared = reports['the Chinese-named patient\'s SR declared GB18030'];
    const bytes = writePart10(declared).bytes;
    expect(same(bytes, writePart10WithDcmjs(declared).bytes)).toBe(true);
    expect(Buffer.from(bytes).includes(Buffer.from('李^雷', 'utf8'))).toBe(true);
    // So a reader takes the set at its word and misreads the name: why measurement-report.ts declares UTF-8 or nothing.
    expect(dicomJsonOf(bytes, EXPLICIT_VR_LITTLE_ENDIAN, true).dataset['00100010']).not.toEqual({ vr: 'PN', Value: [{ Alphabetic: '李^雷' }] });
  });

  it('when a data set has an element the lean encoder does not model (AT), then dcmjs writes the whole of it, as before', () => {
    const dataset = { ...reports['findings, applicable (with a region) and not applicable'], FrameIncrementPointer: 0x00181063 };
    const reference = writePart10WithDcmjs(dataset);
    expect(encodePart10(reference.written as DenaturalisedDataset, fileMetaOf(dataset))).toBeUndefined();
    const written = writePart10(dataset);
    expect(same(written.bytes, reference.bytes)).toBe(true);
    const dump = run('dcmdump', ['-q', '+P', '0028,0009'], written.bytes);
    expect(dump.output).toContain('(0028,0009) AT (0018,1063)');
  });

  it('when dcmjs refuses a value (a date past 8 characters), then writePart10 refuses it with dcmjs\'s error', () => {
    const dataset = { ...reports['findings, applicable (with a region) and not applicable'], StudyDate: '2026120300' };
    expect(encodePart10({ '00080020': { vr: 'DA', Value: ['2026120300'] } }, META)).toBeUndefined();
    expect(() => writePart10WithDcmjs(dataset)).toThrow(/Value exceeds max length, vr: DA/);
    expect(() => writePart10(dataset)).toThrow(/Value exceeds max length, vr: DA/);
  });

  it('when random data sets of every VR the encoder models are encoded, then each is dcmjs\'s bytes, and none is declined', () => {
    const random = prng(0x5eed);
    for (let i = 0; i < 400; i++) {
      const dataset = randomDataset(random, 0, false);
      const lean = encodePart10(dataset, META);
      expect(lean, `well-formed data set ${i} declined: ${shown(dataset)}`).toBeDefined();
      expect(same(lean!, writeDenaturalisedWithDcmjs(dataset, META)), `well-formed data set ${i}: ${shown(dataset)}`).toBe(true);
    }
  });

  it('when random data sets hold hostile values (over-long, lone surrogates, non-numbers, unmodelled VRs), then each is dcmjs\'s bytes or declined, and what dcmjs refuses is always declined', () => {
    const random = prng(0xbad5eed);
    let declined = 0;
    for (let i = 0; i < 600; i++) {
      const dataset = randomDataset(random, 0, true);
      const meta = random() < 0.05 ? { ...META, mediaStorageSopInstanceUid: `1.2.${'9'.repeat(70)}` } : META;
      const lean = encodePart10(dataset, meta);
      let reference: Uint8Array | Error;
      try {
        reference = writeDenaturalisedWithDcmjs(dataset, meta);
      } catch (error) {
        reference = error as Error;
      }
      if (lean === undefined) {
        declined++;
        continue;
      }
      expect(reference, `hostile data set ${i}: dcmjs refused what the encoder wrote: ${shown(dataset)}`).toBeInstanceOf(Uint8Array);
      expect(same(lean, reference as Uint8Array), `hostile data set ${i}: ${shown(dataset)}`).toBe(true);
    }
    // Hostile enough to reach the fallback, ordinary enough to mostly compare bytes.
    expect(declined).toBeGreaterThan(30);
    expect(declined).toBeLessThan(450);
  });
});

const META: FileMeta = {
  mediaStorageSopClassUid: '1.2.840.10008.5.1.4.1.1.88.33', mediaStorageSopInstanceUid: '2.25.1234567890',
  transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN, implementationClassUid: '2.25.200137523474370930782613989235974151675', implementationVersionName: 'LANTERN',
};

/** mulberry32: the same data sets every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ASCII_VRS = ['AE', 'AS', 'CS', 'DA', 'DT', 'TM', 'UI', 'UR'];
const MAX: Record<string, number> = { AE: 16, AS: 4, CS: 16, DA: 8, DT: 26, TM: 16, UI: 64, DS: 16, IS: 12 };
const UTF8_VRS = ['LO', 'SH', 'LT', 'ST', 'UC', 'UT'];
const INT_VRS = ['US', 'SS', 'UL', 'SL'];
const FLOAT_VRS = ['FL', 'FD'];
const MODELLED = [...ASCII_VRS, 'DS', 'IS', ...UTF8_VRS, 'PN', ...INT_VRS, ...FLOAT_VRS, 'SQ'];
const UNMODELLED = ['AT', 'OB', 'OW', 'UN', 'UV', 'OD', 'OF', 'OL', 'XX'];

/** Characters that matter to an encoder: delimiters, padding bytes, Latin-1, CJK, a surrogate pair, and (hostile) lone surrogates. */
const PLAIN = 'abcXYZ019 .-_^=\\'.split('');
const WIDE = ['é', 'ß', '中', '李', 'ﾔ', '😀', '\u0000', '\u00ff', '\u0100', '\uffff'];
const LONE = ['\ud800', '\udfff'];

function randomDataset(random: () => number, depth: number, hostile: boolean): DenaturalisedDataset {
  const pick = <T>(from: readonly T[]) => from[Math.floor(random() * from.length)];
  const text = (max: number, wide: boolean) => {
    const length = hostile && random() < 0.1 ? max + 1 + Math.floor(random() * 4) : Math.floor(random() * (max + 1));
    let s = '';
    while (s.length < length) s += wide && random() < 0.3 ? pick(hostile && random() < 0.3 ? LONE : WIDE) : pick(PLAIN);
    return s.slice(0, Math.max(length, 0));
  };
  const asciiText = (vr: string) => {
    const max = MAX[vr] ?? 40;
    // DA, DT and TM take a range ('-') of more characters: keep well-formed ones without one.
    const s = text(max, hostile && random() < 0.2);
    return hostile ? s : s.replaceAll('-', '.');
  };
  const number = () => pick([0, 1, -1, 7001, 65535, 65536, -32769, 2 ** 31, 0.5, 0.8123456789, 1e-7, -2.5e-5, 1e21, 123456789012345678, -98765.4321012345, Math.PI, 1 / 3,
    // Past 16 characters on either side of DS's switch to scientific notation (1e-4, 1e14).
    0.0000123456789012, -0.00012345678901234, 0.00012345678901234, 1.234567890123e-9, 98765432109876.54, 123456789012345.6, -12345678901234.56]);
  const dataset: DenaturalisedDataset = {};
  const elements = 1 + Math.floor(random() * (depth ? 5 : 9));
  for (let i = 0; i < elements; i++) {
    const tag = `${pick(['0008', '0010', '0020', '0040', '0070', '0009'])}${Math.floor(random() * 0x10000).toString(16).padStart(4, '0')}`.toUpperCase();
    const vr = hostile && random() < 0.04 ? pick(UNMODELLED) : pick(depth >= 3 ? MODELLED.filter((v) => v !== 'SQ') : MODELLED);
    const count = Math.floor(random() * 4);
    const many = <T>(make: () => T) => Array.from({ length: count }, make);
    let Value: unknown;
    if (random() < 0.05) Value = null;
    else if (vr === 'SQ') Value = many(() => randomDataset(random, depth + 1, hostile));
    else if (ASCII_VRS.includes(vr)) Value = many(() => asciiText(vr));
    else if (vr === 'DS' || vr === 'IS') Value = many(() => (random() < 0.5 ? (vr === 'IS' ? Math.round(number() % 1e9) : number()) : String(vr === 'IS' ? Math.round(number() % 1e9) : number()).slice(0, MAX[vr])));
    else if (UTF8_VRS.includes(vr)) Value = many(() => (hostile && random() < 0.02 ? text(40000, true).repeat(2) : text(vr === 'SH' ? 16 : 80, true)));
    else if (vr === 'PN') Value = many(() => pick([
      () => text(30, true),
      () => ({ Alphabetic: text(20, false), ...(random() < 0.5 && { Ideographic: text(10, true) }), ...(random() < 0.3 && { Phonetic: text(10, true) }) }),
      () => new String(text(20, true)),
      () => (hostile ? text(70, false).replaceAll('=', '^').replaceAll('\\', '^') : ''),
      () => (hostile ? null : 'A^B'),
    ])());
    else if (INT_VRS.includes(vr)) Value = many(() => (hostile && random() < 0.2 ? pick(['12', ' 7', '0x1F', '1e3', '', 'abc', '-3']) : Math.trunc(number())));
    else if (FLOAT_VRS.includes(vr)) Value = many(() => (random() < 0.5 ? String(number()) : hostile && random() < 0.1 ? 'abc' : number()));
    else Value = many(() => text(8, false));
    dataset[tag] = { vr, Value };
    if (hostile && random() < 0.02) dataset[tag]._rawValue = Value;
  }
  return dataset;
}

function shown(dataset: DenaturalisedDataset): string {
  return JSON.stringify(dataset).slice(0, 400);
}
