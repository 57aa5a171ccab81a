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
import { readImageCsvRows } from '../../tools/evaluation/datasets.ts';
import { readNpz } from '../../tools/evaluation/npz.ts';
import { parseEvaluationSpec, type EvaluationSpec } from '../../tools/evaluation/spec.ts';
import { DatasetError, listFiles, sniffFormat, toId, type Case, type Dataset, type LoadOptions, type Skipped } from './dataset.ts';
import { BUILT_IN_CLASSES, csvLabels, folderLabels } from './labels.ts';

/**
 * Named splits of ../shared/data, written as the card `evaluation.dataset` objects that
 * tools/evaluation/spec.ts validates (docs/models.md, "Evaluation").
 */
export const NAMED_SPLITS: Readonly<Record<string, EvaluationSpec['dataset']>> = {
  ...Object.fromEntries(['train', 'val', 'test'].map((split) => [`pneumoniamnist:${split}`, { kind: 'npz', path: 'images/pneumoniamnist/pneumoniamnist_varun19424.npz', split }])),
  ...Object.fromEntries(['train', 'val', 'test'].map((split) => [`pneumoniamnist-balanced:${split}`, { kind: 'npz', path: 'images/pneumoniamnist/pneumoniamnist_balanced_aksufatih.npz', split }])),
  ...Object.fromEntries(['train', 'valid', 'test'].map((split) => [`nih-${split}`, { kind: 'image-folder', path: `images/nih-cxr14-1000-64px/NIH1000/${split}`, labels: { '0_normal': 0, '1_abnormal': 1 } }])),
  ...Object.fromEntries(['train', 'valid', 'test'].map((split) => [`nih-pneumonia:${split}`, {
    kind: 'image-csv', path: 'images/nih-cxr14-pneumonia-1000/labels.csv', fileColumn: 'file', labelColumn: 'label', patientColumn: 'patient_id', splitColumn: 'split', split,
  }])),
} as Record<string, EvaluationSpec['dataset']>;

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

/**
 * `shared:<name>`: the split's definition goes through the card `evaluation` schema
 * (tools/evaluation/spec.ts); archives are read with the same npz reader, image folders become file
 * cases labelled by the spec's folder map (an unlisted folder is an error, as in `npm run eval`).
 */
async function loadNamedSplit(options: LoadOptions): Promise<Dataset> {
  const name = options.data.slice('shared:'.length);
  const raw = NAMED_SPLITS[name];
  if (!raw) throw new DatasetError(`unknown split "${name}"; known: ${Object.keys(NAMED_SPLITS).map((k) => `shared:${k}`).join(', ')}`);
  const { dataset: spec } = parseEvaluationSpec(`shared:${name}`, { metricsSplit: name, dataset: raw });
  const location = path.join(options.sharedRoot, spec.path);
  if (!fs.existsSync(location)) throw new DatasetError(`shared:${name}: ${location} not found`);
  if (spec.kind === 'image-csv') return imageCsvSplit(spec, location, options);
  if (spec.kind === 'npz') return npzSplit(spec, location, options);
  if (spec.kind !== 'image-folder') throw new DatasetError(`shared:${name} is a ${spec.kind} dataset, not images`);
  return imageFolderSplit(spec, location, options);
}

type SplitSpec<K extends EvaluationSpec['dataset']['kind']> = Extract<EvaluationSpec['dataset'], { kind: K }>;

/** The rows of the CSV (after its split filter), each film's format sniffed. */
function imageCsvSplit(spec: SplitSpec<'image-csv'>, location: string, options: LoadOptions): Dataset {
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

/** The archive's split as in-memory pixel cases; always the display path (there is no file to serve). */
function npzSplit(spec: SplitSpec<'npz'>, location: string, options: LoadOptions): Dataset {
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

function imageFolderSplit(spec: SplitSpec<'image-folder'>, location: string, options: LoadOptions): Dataset {
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
