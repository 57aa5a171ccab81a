/**
 * What a model bench scores: labelled cases, each a file on disk or pixels already in
 * memory, the files skipped with their reason, and how a file's bytes say its format.
 */
import fs from 'node:fs';
import path from 'node:path';

export type CaseFormat = 'dicom' | 'png' | 'jpeg' | 'npz';

/**
 * How PNG/JPEG files reach a model. `served`: read as an 8-bit grey film and passed through
 * the card's own preprocessing step (inference/image-file.ts), exactly what the worker does
 * to a DICOM of the same pixels. `display`: centre square, lanczos3, pixel/255, no window —
 * how the thumbnail sets the first cards were measured on are fed (`npm run eval` reads
 * them so), kept so those cards' numbers reproduce.
 */
export type ImagePrep = 'served' | 'display';

/** One labelled image: a file on disk, or pixels already in memory (a numpy archive's row). */
export interface Case {
  /** Path relative to the data folder, or `<split>[i]` for an archive. */
  id: string;
  label: 0 | 1;
  format: CaseFormat;
  file?: string;
  /** 8-bit grey pixels, row-major (archives only). */
  pixels?: { width: number; height: number; data: Uint8Array };
  /** The patient the image belongs to, when the labels name patients. */
  patient?: string;
  /** The labels CSV's other cells for this image (column → cell). */
  metadata?: Record<string, string>;
}

export interface Skipped { id: string; reason: string }

export interface Dataset {
  /** What `--data` said, and where it resolved to. */
  source: string;
  root: string;
  /** How labels were read, in one sentence for the report. */
  labelSource: string;
  cases: Case[];
  skipped: Skipped[];
  notes: string[];
  /** The column that named patients, when there was one. */
  patientColumn?: string;
  /** The labels' other columns, in CSV order (each case's `metadata` has them). */
  columns: string[];
  /** How PNG/JPEG files reach the models. */
  imagePrep: ImagePrep;
}

export interface LoadOptions {
  /** A folder, or `shared:<split>` (see NAMED_SPLITS). */
  data: string;
  /** CSV with columns `file,label`; `file` relative to `data`. */
  labels?: string;
  /** The class name (CSV cell or folder name) that means label 1. */
  positive?: string;
  /** The class name that means label 0; without it every other class is negative. */
  negative?: string;
  /** The labels CSV's patient column (default `patient_id` when the CSV has one). */
  patientColumn?: string;
  /** How PNG/JPEG files reach the models (default `served`; `display` for the thumbnail npz / image-folder splits). */
  imagePrep?: ImagePrep;
  /** Root of `../shared/data`, for `shared:` splits. */
  sharedRoot: string;
}

export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}

/** Every regular file under `root`, recursively, sorted so runs are repeatable. */
export function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() || entry.isSymbolicLink()) out.push(full);
    }
  };
  walk(root);
  return out;
}

export const toId = (root: string, file: string) => path.relative(root, file).split(path.sep).join('/');

/**
 * The format from the bytes, not the name: PNG and JPEG by signature, DICOM by the Part-10
 * `DICM` marker or, for headerless files, a `.dcm`/`.dicom` name or no extension at all
 * (the DICOM parser then decides). Anything else is skipped with its reason.
 */
export function sniffFormat(file: string): CaseFormat | { reason: string } {
  let head: Buffer;
  try {
    const fd = fs.openSync(file, 'r');
    head = Buffer.alloc(132);
    const n = fs.readSync(fd, head, 0, 132, 0);
    fs.closeSync(fd);
    head = head.subarray(0, n);
  } catch (error) {
    return { reason: `unreadable: ${(error as Error).message}` };
  }
  if (head.length === 0) return { reason: 'empty file' };
  if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.length >= 132 && head.toString('latin1', 128, 132) === 'DICM') return 'dicom';
  const ext = path.extname(file).toLowerCase();
  if (ext === '.dcm' || ext === '.dicom' || (ext === '' && !path.basename(file).startsWith('.'))) return 'dicom';
  return { reason: `not a DICOM, PNG or JPEG file (${ext || 'no extension'})` };
}
