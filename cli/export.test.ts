import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WithheldCode } from '../contract/consent.ts';
import { parseDicom } from '../dicom/parse.ts';
import { sharedDataDir } from '../dicom/test-data.ts';
import { createBlobStore } from '../store/blobs.ts';
import { exportDeidentified, type ExportOptions } from './export.ts';

/** A model team asks for one study out of a Lantern data dir holding several. */
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-export-'));
const blobDir = path.join(work, 'blobs');
const studyDir = path.join(sharedDataDir, 'dicom/pydicom-testfiles/test_files/dicomdirtests/98892003');
const others = ['dicom/pydicom-testfiles/test_files/CT_small.dcm', 'dicom/pydicom-data/files/RG1_J2KI.dcm'];
let studyUid = '';
let studyFiles: string[] = [];
/** Every stored object recorded and free to leave its site, as the store's sharingDecisions would say of them (api/routes/consent.test.ts asks a real store). */
const sharing = new Map<string, null>();

const options = (out: string, extra: Partial<ExportOptions> = {}): ExportOptions => ({
  blobDir, out, studies: [studyUid], burnedInAnnotation: 'refuse', retainLongitudinalModifiedDates: true, sharing, ...extra,
});

beforeAll(async () => {
  const blobs = createBlobStore(blobDir);
  const walk = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  const inStudy = walk(studyDir);
  studyUid = parseDicom(new Uint8Array(fs.readFileSync(inStudy[0]))).meta.studyInstanceUid;
  studyFiles = inStudy.filter((file) => parseDicom(new Uint8Array(fs.readFileSync(file))).meta.studyInstanceUid === studyUid);
  for (const file of [...inStudy, ...others.map((one) => path.join(sharedDataDir, one))]) {
    const bytes = new Uint8Array(fs.readFileSync(file));
    await blobs.put(bytes);
    sharing.set(parseDicom(bytes).meta.sopInstanceUid, null);
  }
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('lantern export --deidentify', () => {
  it('when one study is asked for, then only its instances are written, under new UIDs, with a manifest naming no original identifier', () => {
    const out = path.join(work, 'export-1');
    const manifest = exportDeidentified(options(out));
    expect(manifest.instances.length).toBe(studyFiles.length);
    expect(new Set(manifest.instances.map((one) => one.studyInstanceUid)).size).toBe(1);
    for (const one of manifest.instances) {
      const bytes = new Uint8Array(fs.readFileSync(path.join(out, one.path)));
      expect(parseDicom(bytes).meta.sopInstanceUid).toBe(one.sopInstanceUid);
    }
    const text = fs.readFileSync(path.join(out, 'manifest.json'), 'utf8');
    expect(text).not.toContain(studyUid);
    const original = parseDicom(new Uint8Array(fs.readFileSync(studyFiles[0])));
    expect(text).not.toContain(original.dataSet.string('x00100020')!);
    expect(fs.readdirSync(out).filter((name) => /mapping/i.test(name))).toEqual([]);
  });

  it('when the mapping is asked for, then it is written apart, readable by its owner only, and maps back to the originals', () => {
    const out = path.join(work, 'export-2');
    const mappingFile = path.join(work, 'private', 'mapping.json');
    const manifest = exportDeidentified(options(out, { mapping: mappingFile }));
    const mapping = JSON.parse(fs.readFileSync(mappingFile, 'utf8')) as { uids: Record<string, string> };
    expect(mapping.uids[studyUid]).toBe(manifest.instances[0].studyInstanceUid);
    expect(fs.statSync(mappingFile).mode & 0o077).toBe(0);
  });

  it('when the mapping would land inside the export, then the export is refused before anything is written', () => {
    const out = path.join(work, 'export-3');
    expect(() => exportDeidentified(options(out, { mapping: path.join(out, 'mapping.json') }))).toThrow(/outside the export/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('when consent withholds one instance and another is not recorded, then neither is written, nor given a new UID, and each is counted', () => {
    const [refused, unrecorded] = studyFiles.map((file) => parseDicom(new Uint8Array(fs.readFileSync(file))).meta.sopInstanceUid);
    const decisions = new Map<string, WithheldCode | null>(sharing);
    decisions.set(refused, 'patient-refused');
    decisions.delete(unrecorded);
    const mappingFile = path.join(work, 'private', 'mapping-consent.json');
    const manifest = exportDeidentified(options(path.join(work, 'export-consent'), { studies: [], sharing: decisions, mapping: mappingFile }));
    expect(manifest.instances.length).toBe(sharing.size - 2);
    expect(manifest.withheld).toEqual({ 'patient-refused': 1, NOT_RECORDED: 1 });
    expect(manifest.refused).toEqual([]);
    // Not even given a new UID: nothing of theirs is in the export or its mapping.
    const mapping = JSON.parse(fs.readFileSync(mappingFile, 'utf8')) as { uids: Record<string, string> };
    expect(Object.keys(mapping.uids)).not.toContain(refused);
    expect(Object.keys(mapping.uids)).not.toContain(unrecorded);
    // The study held these two instances only: it left nothing behind either, while the other studies did.
    expect(studyFiles).toHaveLength(2);
    expect(Object.keys(mapping.uids)).not.toContain(studyUid);
    expect(Object.keys(mapping.uids).length).toBeGreaterThan(0);
  });

  it('when instances are written, then each is reported with its original study (what the command audits as study.viewed), and none that consent kept', () => {
    const [refused] = studyFiles.map((file) => parseDicom(new Uint8Array(fs.readFileSync(file))).meta.sopInstanceUid);
    const decisions = new Map<string, WithheldCode | null>(sharing);
    decisions.set(refused, 'patient-refused');
    const reported: string[] = [];
    const manifest = exportDeidentified(options(path.join(work, 'export-reported'), { studies: [], sharing: decisions, onExported: (uid) => reported.push(uid) }));
    expect(reported).toHaveLength(manifest.instances.length);
    expect(reported.filter((uid) => uid === studyUid)).toHaveLength(1);
    const stored = fs.readdirSync(blobDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
      .map((e) => parseDicom(new Uint8Array(fs.readFileSync(path.join(e.parentPath, e.name)))).meta.studyInstanceUid);
    expect(new Set(reported)).toEqual(new Set(stored));
  });

  it('when all studies are exported twice with one key file, then both exports agree; without it, they do not', () => {
    const keyFile = path.join(work, 'key');
    fs.writeFileSync(keyFile, new Uint8Array(32).fill(3));
    const a = exportDeidentified(options(path.join(work, 'a'), { studies: [], keyFile }));
    const b = exportDeidentified(options(path.join(work, 'b'), { studies: [], keyFile }));
    const c = exportDeidentified(options(path.join(work, 'c'), { studies: [] }));
    expect(new Set(a.instances.map((one) => one.studyInstanceUid)).size).toBeGreaterThanOrEqual(3);
    expect(b.instances.map((one) => one.path)).toEqual(a.instances.map((one) => one.path));
    expect(c.instances.map((one) => one.path)).not.toEqual(a.instances.map((one) => one.path));
  });
});
