import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { DicomError } from '../dicom/errors.ts';
import { parseDicom } from '../dicom/parse.ts';
import { createDeidentifyContext, deidentify, PROFILE_EDITION } from '../dicom/deidentify/index.ts';
import type { WithheldCode } from '../contract/consent.ts';
import { ALL_SITES } from '../store/store.ts';
import { openStore } from '../store/open.ts';
import { studyRead } from '../store/read-audits.ts';

/**
 * `lantern export --deidentify`: de-identified copies of stored studies for a model team.
 * Reads the blob store directly (every stored object is a DICOM file named by its hash); one
 * context per run, so UIDs and date offsets agree across every file of the export and with
 * nothing outside it. What may leave its site is the database's to say (consent): the command
 * reads every instance's sharing decision once, before the first file, and exports only
 * instances allowed; the others are counted, never listed (even a new UID would link them).
 * With the embedded database, run it while Lantern is stopped (PGlite has one owner), as
 * `lantern user-add`; with DATABASE_URL, any time.
 *
 * The output folder holds the files (study/series/instance by their new UIDs) and
 * `manifest.json`, which names no original identifier. The mapping back to the originals is
 * written only when asked, to a file outside the export: whoever holds it can re-identify.
 */

export interface ExportOptions {
  blobDir: string;
  out: string;
  /** Original Study Instance UIDs to export; all studies when empty. */
  studies: string[];
  /** Where to write the re-identifying mapping; never inside `out`. */
  mapping?: string;
  /** A file of ≥ 32 bytes: the same key links two exports (same UIDs, pseudonyms and offsets). */
  keyFile?: string;
  burnedInAnnotation: 'refuse' | 'flag';
  retainLongitudinalModifiedDates: boolean;
  retainPatientCharacteristics?: boolean;
  /**
   * Each recorded instance's SOP Instance UID → null when it may leave its site, or why not
   * (store.sharingDecisions). An object absent from it is not recorded: its site and patient
   * are unknown, so it is not shared either.
   */
  sharing: ReadonlyMap<string, WithheldCode | null>;
  /** Called with each written instance's original Study Instance UID: how the command audits what left. */
  onExported?: (studyInstanceUid: string) => void;
}

export interface ExportManifest {
  profile: string;
  options: string[];
  tool: string;
  instances: {
    path: string; studyInstanceUid: string; seriesInstanceUid: string; sopInstanceUid: string; sopClassUid: string;
    modality: string; transferSyntaxUid: string; patient: string; sha256: string; bytes: number; burnedInAnnotation: string;
  }[];
  /** Stored objects not exported, by their new UID when known, with the reason code. */
  refused: { sopInstanceUid?: string; studyInstanceUid?: string; reason: string; message: string }[];
  /** Instances not shared, counted by reason (consent keeps them inside their site, or they are not recorded); listed nowhere. */
  withheld: Partial<Record<WithheldCode | 'NOT_RECORDED', number>>;
}

function blobFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) throw new Error(`no blob store at ${dir}`);
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return blobFiles(full);
    return /^[0-9a-f]{64}$/.test(entry.name) ? [full] : [];
  });
}

function isInside(child: string, parent: string): boolean {
  const relative = path.relative(path.resolve(parent), path.resolve(child));
  return !relative.startsWith('..') && !path.isAbsolute(relative);
}

export function exportDeidentified(options: ExportOptions, onProgress?: (done: number, total: number) => void): ExportManifest {
  if (options.mapping && isInside(options.mapping, options.out)) {
    throw new Error('the mapping re-identifies the export: write it outside the export folder');
  }
  const key = options.keyFile ? new Uint8Array(fs.readFileSync(options.keyFile)) : undefined;
  const context = createDeidentifyContext({ key });
  const wanted = new Set(options.studies);
  const manifest: ExportManifest = {
    profile: `DICOM PS3.15 ${PROFILE_EDITION} Annex E, Basic Application Level Confidentiality Profile`,
    options: [
      ...(options.retainLongitudinalModifiedDates ? ['Retain Longitudinal Temporal Information with Modified Dates'] : []),
      ...(options.retainPatientCharacteristics ? ['Retain Patient Characteristics'] : []),
    ],
    tool: 'lantern export --deidentify 1',
    instances: [],
    refused: [],
    withheld: {},
  };
  fs.mkdirSync(options.out, { recursive: true, mode: 0o700 });
  const files = blobFiles(options.blobDir);
  for (const [index, file] of files.entries()) {
    onProgress?.(index + 1, files.length);
    let instance;
    try {
      instance = parseDicom(new Uint8Array(fs.readFileSync(file)));
    } catch (error) {
      manifest.refused.push({ reason: error instanceof DicomError ? error.code : 'UNREADABLE', message: 'stored object could not be read as DICOM' });
      continue;
    }
    if (wanted.size > 0 && !wanted.has(instance.meta.studyInstanceUid)) continue;
    const withheld = options.sharing.has(instance.meta.sopInstanceUid) ? options.sharing.get(instance.meta.sopInstanceUid) : 'NOT_RECORDED';
    if (withheld) {
      manifest.withheld[withheld] = (manifest.withheld[withheld] ?? 0) + 1;
      continue;
    }
    try {
      const out = deidentify(instance, {
        context, burnedInAnnotation: options.burnedInAnnotation,
        retainLongitudinalModifiedDates: options.retainLongitudinalModifiedDates, retainPatientCharacteristics: options.retainPatientCharacteristics,
      });
      const relative = path.join(out.studyInstanceUid, out.seriesInstanceUid, `${out.sopInstanceUid}.dcm`);
      fs.mkdirSync(path.join(options.out, path.dirname(relative)), { recursive: true, mode: 0o700 });
      fs.writeFileSync(path.join(options.out, relative), out.bytes, { mode: 0o600 });
      manifest.instances.push({
        path: relative, studyInstanceUid: out.studyInstanceUid, seriesInstanceUid: out.seriesInstanceUid, sopInstanceUid: out.sopInstanceUid,
        sopClassUid: out.sopClassUid, modality: out.modality, transferSyntaxUid: out.transferSyntaxUid, patient: out.patientPseudonym,
        sha256: createHash('sha256').update(out.bytes).digest('hex'), bytes: out.bytes.length, burnedInAnnotation: out.burnedInAnnotation,
      });
      options.onExported?.(instance.meta.studyInstanceUid);
    } catch (error) {
      if (!(error instanceof DicomError)) throw error;
      manifest.refused.push({
        sopInstanceUid: context.uid(instance.meta.sopInstanceUid), studyInstanceUid: context.uid(instance.meta.studyInstanceUid),
        reason: error.code, message: error.message,
      });
    }
  }
  manifest.instances.sort((a, b) => a.path.localeCompare(b.path));
  fs.writeFileSync(path.join(options.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  if (options.mapping) {
    fs.mkdirSync(path.dirname(path.resolve(options.mapping)), { recursive: true, mode: 0o700 });
    fs.writeFileSync(options.mapping, `${JSON.stringify(context.mapping(), null, 2)}\n`, { mode: 0o600 });
  }
  return manifest;
}

export function exportCommand(): Command {
  return new Command('export')
    .description('write de-identified copies of stored studies (DICOM PS3.15 Annex E basic profile, modified dates) and a manifest to a folder')
    .requiredOption('--deidentify', 'required: Lantern exports only de-identified data')
    .requiredOption('--out <folder>', 'folder for the files and manifest.json')
    .option('--study <uid...>', 'original Study Instance UID(s) to export (default: every stored study)')
    .option('--blob-dir <folder>', 'blob store to read (default: LANTERN_BLOB_DIR)')
    .option('--mapping <file>', 'also write original → new UIDs, patients and date offsets here (re-identifies: keep it apart)')
    .option('--key-file <file>', 'key (≥ 32 bytes) that makes this export link with another made with the same key')
    .option('--flag-burned-in', 'export images marked Burned In Annotation YES and flag them, instead of refusing them')
    .option('--remove-dates', 'empty or dummy dates instead of shifting them per patient')
    .option('--retain-patient-characteristics', 'keep age, sex, size, weight, ethnic group, smoking and pregnancy status (PS3.15 option)')
    .action(async (flags: {
      out: string; study?: string[]; blobDir?: string; mapping?: string; keyFile?: string;
      flagBurnedIn?: boolean; removeDates?: boolean; retainPatientCharacteristics?: boolean;
    }) => {
      const config = loadConfig();
      // Reading decisions changes no study, so nothing here is ever prioritised.
      const store = await openStore({ ...config, prioritise: () => ({ priority: 0, why: '', whyZh: '' }) });
      // Each study that leaves is a read of its patient data: one study.viewed record per study, written as the store closes.
      const actor = `lantern export (${os.userInfo().username})`;
      const manifest = await store.sharingDecisions(ALL_SITES).then((sharing) => exportDeidentified({
        sharing,
        onExported: (studyInstanceUid) => store.recordRead(actor, studyRead(studyInstanceUid, 'deidentified-export')),
        blobDir: flags.blobDir ?? config.blobDir,
        out: flags.out,
        studies: flags.study ?? [],
        mapping: flags.mapping,
        keyFile: flags.keyFile,
        burnedInAnnotation: flags.flagBurnedIn ? 'flag' : 'refuse',
        retainLongitudinalModifiedDates: !flags.removeDates,
        retainPatientCharacteristics: flags.retainPatientCharacteristics ?? false,
      })).finally(() => store.close());
      const studies = new Set(manifest.instances.map((one) => one.studyInstanceUid)).size;
      const notShared = Object.values(manifest.withheld).reduce((a, b) => a + b, 0);
      console.log(`${manifest.instances.length} instances of ${studies} studies written to ${flags.out}; ${manifest.refused.length} not exported (see manifest.json); ${notShared} withheld by consent or not recorded`);
      if (flags.mapping) console.log(`mapping written to ${flags.mapping}: it re-identifies the export, keep it apart from the data`);
    });
}
