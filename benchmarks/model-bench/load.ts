/**
 * The dataset of a model bench: labelled cases from a folder of DICOM / PNG / JPEG files
 * (labels from a CSV or from class-folder names) or from a named split of ../shared/data.
 * A labels CSV may also name each image's patient (per-patient metrics, patient-clustered
 * CIs) and carry any other columns (breakdowns and metadata-only baselines in the report).
 *
 * Every file under the folder is accounted for: it becomes a case or it is listed in
 * `skipped` with the reason (unknown format, no label, label not understood, in the CSV
 * but missing on disk...). Nothing is dropped silently.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseCsv, parseEvaluationSpec, readImageCsvRows, type EvaluationSpec } from '../../tools/evaluation/datasets.ts';
import { readNpz } from '../../tools/evaluation/npz.ts';

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

/**
 * Named splits of ../shared/data, written as the card `evaluation.dataset` objects that
 * tools/evaluation/datasets.ts validates (docs/models.md, "Evaluation").
 */
export const NAMED_SPLITS: Readonly<Record<string, EvaluationSpec['dataset']>> = {
  ...Object.fromEntries(['train', 'val', 'test'].map((split) => [`pneumoniamnist:${split}`, { kind: 'npz', path: 'images/pneumoniamnist/pneumoniamnist_varun19424.npz', split }])),
  ...Object.fromEntries(['train', 'val', 'test'].map((split) => [`pneumoniamnist-balanced:${split}`, { kind: 'npz', path: 'images/pneumoniamnist/pneumoniamnist_balanced_aksufatih.npz', split }])),
  ...Object.fromEntries(['train', 'valid', 'test'].map((split) => [`nih-${split}`, { kind: 'image-folder', path: `images/nih-cxr14-1000-64px/NIH1000/${split}`, labels: { '0_normal': 0, '1_abnormal': 1 } }])),
  ...Object.fromEntries(['train', 'valid', 'test'].map((split) => [`nih-pneumonia:${split}`, {
    kind: 'image-csv', path: 'images/nih-cxr14-pneumonia-1000/labels.csv', fileColumn: 'file', labelColumn: 'label', patientColumn: 'patient_id', splitColumn: 'split', split,
  }])),
} as Record<string, EvaluationSpec['dataset']>;

/** Class-folder names understood without `--positive`. */
const BUILT_IN_CLASSES: Record<string, 0 | 1> = { normal: 0, abnormal: 1, negative: 0, positive: 1 };

export async function loadDataset(options: LoadOptions): Promise<Dataset> {
  if (options.data.startsWith('shared:')) return loadNamedSplit(options);
  const root = path.resolve(options.data);
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new DatasetError(`--data ${options.data} is not a folder (or use ${Object.keys(NAMED_SPLITS).map((k) => `shared:${k}`).join(', ')})`);
  const skipped: Skipped[] = [];
  const found = listFiles(root).map((file) => ({ file, id: toId(root, file) }));
  const labelsFile = options.labels ? path.resolve(options.labels) : undefined;
  if (!labelsFile && options.patientColumn) throw new DatasetError('--patient-column names a column of the --labels CSV; there is none');
  const csv = labelsFile ? csvLabels(root, labelsFile, options, skipped) : undefined;
  const labelOf = csv?.labelOf ?? folderLabels(options);
  const cases: Case[] = [];
  const negativeClasses = new Set<string>();
  for (const { file, id } of found) {
    if (labelsFile && file === labelsFile) { skipped.push({ id, reason: 'the labels CSV itself' }); continue; }
    const format = sniffFormat(file);
    if (typeof format !== 'string') { skipped.push({ id, reason: format.reason }); continue; }
    const label = labelOf(id);
    if ('reason' in label) { skipped.push({ id, reason: label.reason }); continue; }
    if (label.negativeClass) negativeClasses.add(label.negativeClass);
    const info = csv?.infoOf(id);
    cases.push({ id, label: label.value, format, file, ...(info?.patient !== undefined ? { patient: info.patient } : {}), ...(info ? { metadata: info.metadata } : {}) });
  }
  const notes: string[] = [];
  if (negativeClasses.size > 0) notes.push(`Read as negative because they are not the positive class "${options.positive}": ${[...negativeClasses].sort().map((c) => `"${c}"`).join(', ')}.`);
  if (csv?.patientColumn) {
    const missing = cases.filter((c) => c.patient === undefined);
    if (missing.length > 0) throw new DatasetError(`${labelsFile}: ${missing.length} labelled images have an empty ${csv.patientColumn} (e.g. ${missing[0].id}); name every image's patient or drop --patient-column`);
  }
  return {
    source: options.data,
    root,
    labelSource: labelsFile
      ? `labels CSV ${labelsFile} (columns file,label${csv?.patientColumn ? `, patients from ${csv.patientColumn}` : ''}; label 0/1${options.positive ? ` or class names, positive = "${options.positive}"` : ''})`
      : `class folder names (innermost folder that names a class: 0_*/1_*, ${Object.keys(BUILT_IN_CLASSES).join('/')}${options.positive ? `, positive = "${options.positive}"${options.negative ? `, negative = "${options.negative}"` : ', any other folder negative'}` : ''})`,
    cases,
    skipped,
    notes,
    ...(csv?.patientColumn ? { patientColumn: csv.patientColumn } : {}),
    columns: csv?.columns ?? [],
    imagePrep: options.imagePrep ?? 'served',
  };
}

/** Every regular file under `root`, recursively, sorted so runs are repeatable. */
function listFiles(root: string): string[] {
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

const toId = (root: string, file: string) => path.relative(root, file).split(path.sep).join('/');

/**
 * The format from the bytes, not the name: PNG and JPEG by signature, DICOM by the Part-10
 * `DICM` marker or, for headerless files, a `.dcm`/`.dicom` name or no extension at all
 * (the DICOM parser then decides). Anything else is skipped with its reason.
 */
function sniffFormat(file: string): CaseFormat | { reason: string } {
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

type LabelResult = { value: 0 | 1; negativeClass?: string } | { reason: string };

/**
 * A class name (CSV cell or folder) → 0/1 when it names a class: `0`/`1`, a `0_`/`1_`
 * prefix, `--positive`/`--negative`, or (without `--positive`) normal/abnormal, negative/positive.
 */
function classValue(name: string, options: LoadOptions): { value: 0 | 1 } | undefined {
  const n = name.trim();
  if (n === '0' || n === '1') return { value: Number(n) as 0 | 1 };
  const prefixed = /^([01])[_\- ]/.exec(n);
  if (prefixed) return { value: Number(prefixed[1]) as 0 | 1 };
  const lower = n.toLowerCase();
  if (options.positive !== undefined) {
    if (lower === options.positive.toLowerCase()) return { value: 1 };
    if (options.negative !== undefined && lower === options.negative.toLowerCase()) return { value: 0 };
    return undefined;
  }
  return lower in BUILT_IN_CLASSES ? { value: BUILT_IN_CLASSES[lower] } : undefined;
}

/** With `--positive` and no `--negative`, every other class is the negative one (and the report lists which). */
const otherIsNegative = (options: LoadOptions) => options.positive !== undefined && options.negative === undefined;

function folderLabels(options: LoadOptions): (id: string) => LabelResult {
  return (id) => {
    const folders = id.split('/').slice(0, -1);
    if (folders.length === 0) return { reason: 'no label: the file is not in a class folder and no --labels CSV was given' };
    // Innermost first: data/test/PNEUMONIA/x.png is PNEUMONIA, data/PNEUMONIA/bacteria/x.png too.
    for (const folder of [...folders].reverse()) {
      const value = classValue(folder, options);
      if (value) return value;
    }
    if (otherIsNegative(options)) return { value: 0, negativeClass: folders[folders.length - 1] };
    return { reason: `no label: folder "${folders.join('/')}" names no class (use 0_*/1_*, normal/abnormal, negative/positive, or --positive <class>)` };
  };
}

interface CsvLabels {
  labelOf: (id: string) => LabelResult;
  /** The patient and other cells of the file's (first) row. */
  infoOf: (id: string) => { patient?: string; metadata: Record<string, string> } | undefined;
  patientColumn?: string;
  columns: string[];
}

function csvLabels(root: string, file: string, options: LoadOptions, skipped: Skipped[]): CsvLabels {
  if (!fs.existsSync(file)) throw new DatasetError(`--labels ${file} not found`);
  const [header = [], ...rows] = parseCsv(fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
  const fileCol = header.findIndex((h) => h.trim().toLowerCase() === 'file');
  const labelCol = header.findIndex((h) => h.trim().toLowerCase() === 'label');
  if (fileCol < 0 || labelCol < 0) throw new DatasetError(`${file}: needs a header with columns "file" and "label" (found: ${header.join(', ')})`);
  const patientCol = options.patientColumn !== undefined ? header.findIndex((h) => h.trim() === options.patientColumn) : header.findIndex((h) => h.trim() === 'patient_id');
  if (options.patientColumn !== undefined && patientCol < 0) throw new DatasetError(`${file}: --patient-column ${options.patientColumn} is not a column (found: ${header.join(', ')})`);
  const other = header.map((h, i) => ({ name: h.trim(), i })).filter(({ i }) => i !== fileCol && i !== labelCol && i !== patientCol);
  const info = new Map<string, { patient?: string; metadata: Record<string, string> }>();
  const labels = new Map<string, LabelResult>();
  rows.forEach((cells, r) => {
    const id = (cells[fileCol] ?? '').trim().replace(/\\/g, '/').replace(/^\.\//, '');
    if (!id) { skipped.push({ id: `${path.basename(file)}:${r + 2}`, reason: 'CSV row with no file name' }); return; }
    const cell = (cells[labelCol] ?? '').trim();
    let result: LabelResult;
    if (cell === '') result = { reason: `no label (empty cell in ${path.basename(file)} line ${r + 2})` };
    else {
      const value = classValue(cell, options) ?? (otherIsNegative(options) ? { value: 0 as const, negativeClass: cell } : undefined);
      result = value ?? { reason: `label "${cell}" is not 0/1${options.positive ? ` nor "${options.positive}"/"${options.negative}"` : ' (pass --positive <class> for class names)'}` };
    }
    const before = labels.get(id);
    if (before && JSON.stringify(before) !== JSON.stringify(result)) result = { reason: `conflicting labels in ${path.basename(file)} (line ${r + 2} and an earlier row)` };
    labels.set(id, result);
    const patient = patientCol >= 0 ? (cells[patientCol] ?? '').trim() : undefined;
    if (!info.has(id)) info.set(id, { ...(patient ? { patient } : {}), metadata: Object.fromEntries(other.map(({ name, i }) => [name, cells[i] ?? ''])) });
  });
  for (const id of labels.keys()) {
    if (!fs.existsSync(path.join(root, id))) skipped.push({ id, reason: `in ${path.basename(file)} but not found under --data` });
  }
  return {
    labelOf: (id) => labels.get(id) ?? { reason: `no row in ${path.basename(file)}` },
    infoOf: (id) => info.get(id),
    ...(patientCol >= 0 ? { patientColumn: header[patientCol].trim() } : {}),
    columns: other.map((o) => o.name),
  };
}

/**
 * `shared:<name>`: the split's definition goes through the card `evaluation` schema
 * (datasets.ts); archives are read with the same npz reader, image folders become file
 * cases labelled by the spec's folder map (an unlisted folder is an error, as in `npm run eval`).
 */
async function loadNamedSplit(options: LoadOptions): Promise<Dataset> {
  const name = options.data.slice('shared:'.length);
  const raw = NAMED_SPLITS[name];
  if (!raw) throw new DatasetError(`unknown split "${name}"; known: ${Object.keys(NAMED_SPLITS).map((k) => `shared:${k}`).join(', ')}`);
  const { dataset: spec } = parseEvaluationSpec(`shared:${name}`, { metricsSplit: name, dataset: raw });
  const location = path.join(options.sharedRoot, spec.path);
  if (!fs.existsSync(location)) throw new DatasetError(`shared:${name}: ${location} not found`);
  if (spec.kind === 'image-csv') {
    const { rows, columns, total } = readImageCsvRows(options.sharedRoot, spec);
    const cases: Case[] = [];
    const skipped: Skipped[] = [];
    for (const row of rows) {
      const format = sniffFormat(row.file);
      if (typeof format !== 'string') skipped.push({ id: row.id, reason: format.reason });
      else cases.push({ id: row.id, label: row.label, format, file: row.file, ...(row.patient !== undefined ? { patient: row.patient } : {}), metadata: row.metadata });
    }
    return {
      source: options.data, root: path.dirname(location),
      labelSource: `${spec.path} column ${spec.labelColumn}${spec.split !== undefined ? `, rows with ${spec.splitColumn} = "${spec.split}" (${rows.length} of ${total})` : ''}${spec.patientColumn ? `, patients from ${spec.patientColumn}` : ''}`,
      cases, skipped, notes: [],
      ...(spec.patientColumn ? { patientColumn: spec.patientColumn } : {}),
      columns, imagePrep: options.imagePrep ?? 'served',
    };
  }
  if (spec.kind === 'npz') {
    const arrays = readNpz(location);
    const images = arrays.get(`${spec.split}_images`);
    const labelArray = arrays.get(`${spec.split}_labels`);
    if (!images || !labelArray) throw new DatasetError(`${location} has no ${spec.split}_images / ${spec.split}_labels`);
    const [n, height, width, channels = 1] = images.shape;
    if (channels !== 1 || !(images.data instanceof Uint8Array)) throw new DatasetError(`${location}: only uint8 greyscale archives are supported (got ${images.dtype} ${images.shape.join('x')})`);
    const cases: Case[] = [];
    const skipped: Skipped[] = [];
    const plane = width * height;
    for (let i = 0; i < n; i++) {
      const id = `${spec.split}[${i}]`;
      const v = Number(labelArray.data[i]);
      if (v !== 0 && v !== 1) { skipped.push({ id, reason: `label ${v} is not 0/1` }); continue; }
      cases.push({ id, label: v, format: 'npz', pixels: { width, height, data: (images.data as Uint8Array).subarray(i * plane, (i + 1) * plane) } });
    }
    return {
      source: options.data, root: location, labelSource: `${spec.split}_labels of the archive`, cases, skipped,
      notes: [`Archive images are ${width}x${height} uint8 grey already in memory: there is no decode stage for them; preprocessing is the display path (centre square, lanczos3 to the model's size, /255), as \`npm run eval\` feeds them.`],
      columns: [], imagePrep: 'display',
    };
  }
  if (spec.kind !== 'image-folder') throw new DatasetError(`shared:${name} is a ${spec.kind} dataset, not images`);
  const present = fs.readdirSync(location, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  const unknown = present.filter((d) => !(d in spec.labels));
  if (unknown.length > 0) throw new DatasetError(`${location}: class folders ${unknown.join(', ')} are not in the split's labels`);
  const cases: Case[] = [];
  const skipped: Skipped[] = [];
  for (const file of listFiles(location)) {
    const id = toId(location, file);
    const format = sniffFormat(file);
    const label = spec.labels[id.split('/')[0]];
    if (typeof format !== 'string') skipped.push({ id, reason: format.reason });
    else if (label === undefined || !id.includes('/')) skipped.push({ id, reason: 'not in a class folder of the split' });
    else cases.push({ id, label, format, file });
  }
  return { source: options.data, root: location, labelSource: `class folders ${JSON.stringify(spec.labels)}`, cases, skipped, notes: [], columns: [], imagePrep: options.imagePrep ?? 'display' };
}
