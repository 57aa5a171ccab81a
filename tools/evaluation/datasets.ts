/**
 * The readers for the labelled test sets a card's `evaluation` object (spec.ts) names under
 * `../shared/data`, and the CSV reading and writing they and the training scripts share.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { preprocessImageFile } from '../../inference/image-file.ts';
import type { Chain } from '../../inference/preprocess/index.ts';
import { readNpz } from './npz.ts';
import { EvaluationSpecError, type CsvDataset, type EvaluationSpec, type ImageCsvDataset } from './spec.ts';

/** Images as the model's input tensor: float32, NCHW (pixel/255, or the card's serving preprocessing for image-csv). */
export interface ImageSet {
  kind: 'images';
  data: Float32Array;
  shape: [number, number, number, number];
  labels: Uint8Array;
  /** Per-image identifiers (file names or archive indices), for per-case output. */
  ids: string[];
  /** Per image, the patient it belongs to (image-csv with a patientColumn). */
  patients?: { column: string; ids: string[] };
  /** Every other CSV column, one cell per image (image-csv). */
  columns?: Record<string, string[]>;
  notes: string[];
}

/**
 * How the worker prepares an image for this model: `id@version` of the card's preprocessing
 * and its size, and the loaded model's chain (without it, `preprocessing` must be a chain
 * Lantern knows by name).
 */
export interface Serving { preprocessing: string; size: [number, number]; chain?: Chain }

export interface RowSet {
  kind: 'rows';
  /** Request bodies for evaluateRisk: feature → value or `{ value, unit }`. */
  rows: Record<string, unknown>[];
  labels: Uint8Array;
  ids: string[];
  notes: string[];
}

/**
 * Reads an image dataset as the tensor a read-assist model takes (`inputShape` from
 * the card, `[-1, C, H, W]` with C = 1 or 3). npz and image-folder pixels go in as
 * value/255: these are thumbnail datasets, so Lantern's DICOM window/crop/resize
 * preprocessing is bypassed (the existing cards' metrics were computed so). image-csv
 * films go through `serving`, the card's own preprocessing step.
 */
export async function readImageSet(dataRoot: string, spec: EvaluationSpec['dataset'], inputShape: number[], serving?: Serving): Promise<ImageSet> {
  if (inputShape.length !== 4 || (inputShape[1] !== 1 && inputShape[1] !== 3)) {
    throw new EvaluationSpecError(spec.path, `image evaluation needs an NCHW input with 1 or 3 channels; the card declares [${inputShape.join(', ')}]`);
  }
  const [, channels, height, width] = inputShape;
  const file = path.join(dataRoot, spec.path);
  if (!fs.existsSync(file)) throw new EvaluationSpecError(spec.path, `not found under ${dataRoot}`);
  if (spec.kind === 'npz') return readNpzImages(file, spec.split, channels, height, width);
  if (spec.kind === 'image-folder') return readImageFolder(file, spec.labels, channels, height, width);
  if (spec.kind === 'image-csv') {
    if (!serving) throw new EvaluationSpecError(spec.path, 'an image-csv dataset is read through the card\'s serving preprocessing; none was given');
    return readImageCsv(dataRoot, spec, channels, height, width, serving);
  }
  throw new EvaluationSpecError(spec.path, `a read-assist model needs an image dataset (npz, image-folder or image-csv), not ${spec.kind}`);
}

export interface ImageCsvRow {
  /** The file cell as written (relative to the CSV's folder): the image's id in reports. */
  id: string;
  /** Absolute path, checked to be inside the data root. */
  file: string;
  label: 0 | 1;
  patient?: string;
  /** 1-based line in the CSV, for messages. */
  line: number;
  /** The other columns' cells. */
  metadata: Record<string, string>;
}

/**
 * The rows of an image-csv dataset (after the split filter), without reading any image.
 * Refuses, naming the line: a missing column, a label that is not 0/1, an empty file or
 * patient cell, a path that leaves the data root (absolute, `..`, or a symlink out), a
 * listed image that is not on disk, a split with no rows. Nothing is dropped silently.
 * Also the reader of `npm run bench:model`'s `shared:` image-csv splits.
 */
export function readImageCsvRows(dataRoot: string, spec: ImageCsvDataset): { rows: ImageCsvRow[]; columns: string[]; total: number } {
  const csv = path.join(dataRoot, spec.path);
  if (!fs.existsSync(csv)) throw new EvaluationSpecError(spec.path, `not found under ${dataRoot}`);
  const root = fs.realpathSync(dataRoot);
  const csvReal = fs.realpathSync(csv);
  const inside = (p: string) => { const rel = path.relative(root, p); return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel); };
  if (!inside(csvReal)) throw new EvaluationSpecError(spec.path, `resolves to ${csvReal}, outside the data root ${root}`);
  const [header = [], ...body] = parseCsv(fs.readFileSync(csv, 'utf8').replace(/^\uFEFF/, ''));
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new EvaluationSpecError(spec.path, `has no column "${name}" (columns: ${header.join(', ')})`);
    return i;
  };
  const fileCol = col(spec.fileColumn);
  const labelCol = col(spec.labelColumn);
  const patientCol = spec.patientColumn !== undefined ? col(spec.patientColumn) : -1;
  const splitCol = spec.splitColumn !== undefined ? col(spec.splitColumn) : -1;
  const reserved = new Set([fileCol, labelCol, patientCol, splitCol]);
  const columns = header.filter((_, i) => !reserved.has(i));
  // Image paths are checked against the real data root, so resolve them from the CSV's real folder (the root may be reached through a link).
  const folder = path.dirname(csvReal);
  const rows: ImageCsvRow[] = [];
  const splits = new Set<string>();
  body.forEach((cells, r) => {
    const line = r + 2;
    const where = `${spec.path}:${line}`;
    if (splitCol >= 0) splits.add(cells[splitCol] ?? '');
    if (spec.split !== undefined && (cells[splitCol] ?? '') !== spec.split) return;
    const id = (cells[fileCol] ?? '').trim();
    if (id === '') throw new EvaluationSpecError(where, `${spec.fileColumn} is empty`);
    const file = path.resolve(folder, id);
    if (path.isAbsolute(id) || !inside(file)) throw new EvaluationSpecError(where, `image path "${id}" leaves the data root; image paths are relative to the CSV's folder and stay under ${dataRoot}`);
    if (!fs.existsSync(file)) throw new EvaluationSpecError(where, `image ${id} is not on disk (${file})`);
    if (!inside(fs.realpathSync(file))) throw new EvaluationSpecError(where, `image path "${id}" is a link that leaves the data root`);
    const cell = (cells[labelCol] ?? '').trim();
    if (cell !== '0' && cell !== '1') throw new EvaluationSpecError(where, `${spec.labelColumn} "${cell}" is not 0 or 1`);
    let patient: string | undefined;
    if (patientCol >= 0) {
      patient = (cells[patientCol] ?? '').trim();
      if (patient === '') throw new EvaluationSpecError(where, `${spec.patientColumn} is empty; every image needs its patient for per-patient metrics`);
    }
    const metadata: Record<string, string> = {};
    header.forEach((h, i) => { if (!reserved.has(i)) metadata[h] = cells[i] ?? ''; });
    rows.push({ id, file, label: Number(cell) as 0 | 1, ...(patient !== undefined ? { patient } : {}), line, metadata });
  });
  if (rows.length === 0) {
    throw new EvaluationSpecError(spec.path, spec.split !== undefined ? `no rows with ${spec.splitColumn} = "${spec.split}" (values: ${[...splits].join(', ')})` : 'no rows');
  }
  return { rows, columns, total: body.length };
}

async function readImageCsv(dataRoot: string, spec: ImageCsvDataset, channels: number, height: number, width: number, serving: Serving): Promise<ImageSet> {
  const { rows, columns, total } = readImageCsvRows(dataRoot, spec);
  const plane = height * width;
  const data = new Float32Array(rows.length * channels * plane);
  for (let i = 0; i < rows.length; i++) {
    const image = await preprocessImageFile(rows[i].file, serving.chain ?? serving.preprocessing, serving.size);
    if (image.width !== width || image.height !== height) throw new EvaluationSpecError(rows[i].id, `${serving.preprocessing} made a ${image.width}x${image.height} image; the model takes ${width}x${height}`);
    if (image.channels === channels) data.set(image.data, i * channels * plane);
    else for (let ch = 0; ch < channels; ch++) data.set(image.data.subarray(0, plane), (i * channels + ch) * plane);
  }
  const where = spec.split !== undefined ? `the ${rows.length} rows of ${spec.path} with ${spec.splitColumn} = "${spec.split}" (of ${total})` : `the ${rows.length} rows of ${spec.path}`;
  return {
    kind: 'images', data, shape: [rows.length, channels, height, width],
    labels: Uint8Array.from(rows, (r) => r.label),
    ids: rows.map((r) => r.id),
    ...(spec.patientColumn !== undefined ? { patients: { column: spec.patientColumn, ids: rows.map((r) => r.patient!) } } : {}),
    columns: Object.fromEntries(columns.map((c) => [c, rows.map((r) => r.metadata[c])])),
    notes: [`${where}: each film read as 8-bit grey (inference/image-file.ts) and passed through the card's serving preprocessing ${serving.preprocessing} to ${serving.size.join('x')}, as the worker prepares a DICOM of the same pixels (window, crop, resize); not pixel/255.`],
  };
}

function readNpzImages(file: string, split: string, channels: number, height: number, width: number): ImageSet {
  const arrays = readNpz(file);
  const images = arrays.get(`${split}_images`);
  const labelArray = arrays.get(`${split}_labels`);
  if (!images || !labelArray) throw new EvaluationSpecError(file, `has no ${split}_images / ${split}_labels (arrays: ${[...arrays.keys()].join(', ')})`);
  const [n, h, w, c = 1] = images.shape;
  if (h !== height || w !== width) throw new EvaluationSpecError(file, `${split}_images are ${h}x${w} but the model takes ${height}x${width}`);
  if (c !== 1) throw new EvaluationSpecError(file, `${split}_images have ${c} channels; only greyscale archives are supported`);
  const data = new Float32Array(n * channels * h * w);
  const plane = h * w;
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < channels; ch++) {
      for (let j = 0; j < plane; j++) data[(i * channels + ch) * plane + j] = Number(images.data[i * plane + j]) / 255;
    }
  }
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number(labelArray.data[i]);
    if (v !== 0 && v !== 1) throw new EvaluationSpecError(file, `${split}_labels[${i}] is ${v}; only binary labels are supported`);
    labels[i] = v;
  }
  return {
    kind: 'images', data, shape: [n, channels, h, w], labels,
    ids: Array.from({ length: n }, (_, i) => `${split}[${i}]`),
    notes: [`${split}_images read from the .npz as uint8 grey values / 255 (DICOM decoding, windowing, cropping and resizing are bypassed: the archive is already the model's size).`],
  };
}

async function readImageFolder(root: string, classes: Record<string, 0 | 1>, channels: number, height: number, width: number): Promise<ImageSet> {
  const present = fs.readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  const unknown = present.filter((d) => !(d in classes));
  if (unknown.length > 0) throw new EvaluationSpecError(root, `class folders ${unknown.join(', ')} are not in "labels"`);
  const files: { file: string; label: 0 | 1; id: string }[] = [];
  for (const [folder, label] of Object.entries(classes)) {
    const dir = path.join(root, folder);
    if (!fs.existsSync(dir)) throw new EvaluationSpecError(root, `class folder ${folder} is missing`);
    for (const name of fs.readdirSync(dir).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort()) files.push({ file: path.join(dir, name), label, id: `${folder}/${name}` });
  }
  if (files.length === 0) throw new EvaluationSpecError(root, 'no .png/.jpg images');
  const plane = height * width;
  const data = new Float32Array(files.length * channels * plane);
  const labels = new Uint8Array(files.length);
  let resized = 0;
  for (let i = 0; i < files.length; i++) {
    let img = sharp(files[i].file).removeAlpha();
    const meta = await sharp(files[i].file).metadata();
    if (meta.width !== width || meta.height !== height) {
      resized++;
      img = img.resize(width, height, { fit: 'fill', kernel: 'lanczos3' });
    }
    if (channels === 1) img = img.greyscale();
    const { data: raw, info } = await img.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== channels) throw new EvaluationSpecError(files[i].id, `decoded to ${info.channels} channels, the model takes ${channels}`);
    // interleaved HWC → planar CHW
    for (let j = 0; j < plane; j++) {
      for (let ch = 0; ch < channels; ch++) data[(i * channels + ch) * plane + j] = raw[j * channels + ch] / 255;
    }
    labels[i] = files[i].label;
  }
  const notes = [`${files.length} images decoded with sharp (alpha dropped${channels === 1 ? ', RGB to grey by luminance' : ''}) and fed as pixel/255; DICOM decoding and windowing are bypassed for this thumbnail dataset.`];
  if (resized > 0) notes.push(`${resized} images were not ${width}x${height} and were resized (lanczos3, aspect not kept).`);
  return { kind: 'images', data, shape: [files.length, channels, height, width], labels, ids: files.map((f) => f.id), notes };
}

/** Writes rows as RFC 4180 CSV (the inverse of parseCsv): fields with a comma, quote or newline are quoted. */
export function writeCsv(path: string, header: string[], rows: (string | number)[][]): void {
  const line = (values: (string | number)[]) => values.map((v) => {
    const text = String(v ?? '');
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  }).join(',');
  fs.writeFileSync(path, [line(header), ...rows.map(line)].join('\n') + '\n');
}

/** Minimal RFC 4180 CSV parser: quoted fields, doubled quotes, CRLF. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (ch === '"') quoted = false; else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(field); field = ''; } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += ch;
  }
  if (field !== '' || row.length > 0) { row.push(field); rows.push(row); }
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

/**
 * Reads a CSV into request bodies for evaluateRisk. Numbers whose feature accepts several
 * units go in as `{ value, unit }` (unit from `units`, else the canonical one), exactly as
 * a client must send them.
 */
export function readRowSet(dataRoot: string, spec: CsvDataset, features: { name: string; kind: string; unit?: string; units?: Record<string, unknown> }[]): RowSet {
  const file = path.join(dataRoot, spec.path);
  if (!fs.existsSync(file)) throw new EvaluationSpecError(spec.path, `not found under ${dataRoot}`);
  const [header, ...body] = parseCsv(fs.readFileSync(file, 'utf8'));
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new EvaluationSpecError(spec.path, `has no column "${name}" (columns: ${header.join(', ')})`);
    return i;
  };
  const labelCol = col(spec.label.column);
  const byName = new Map(features.map((f) => [f.name, f]));
  const mapped = Object.entries(spec.columns).map(([feature, column]) => {
    const f = byName.get(feature);
    if (!f) throw new EvaluationSpecError(spec.path, `columns maps "${feature}", which is not a feature of the card (${[...byName.keys()].join(', ')})`);
    return { f, index: col(column), unit: spec.units?.[feature] ?? f.unit };
  });
  const rows: Record<string, unknown>[] = [];
  const labels = new Uint8Array(body.length);
  body.forEach((cells, r) => {
    const line = r + 2;
    const outcome = cells[labelCol];
    if (outcome === spec.label.positive) labels[r] = 1;
    else if (spec.label.negative === undefined || outcome === spec.label.negative) labels[r] = 0;
    else throw new EvaluationSpecError(`${spec.path}:${line}`, `label "${outcome}" is neither "${spec.label.positive}" nor "${spec.label.negative}"`);
    const row: Record<string, unknown> = { ...spec.constants };
    for (const { f, index, unit } of mapped) {
      const cell = cells[index];
      if (cell === undefined || spec.missing.includes(cell)) throw new EvaluationSpecError(`${spec.path}:${line}`, `${header[index]} is missing; the evaluation never drops rows silently`);
      if (f.kind === 'number') {
        const value = Number(cell);
        if (!Number.isFinite(value)) throw new EvaluationSpecError(`${spec.path}:${line}`, `${header[index]} "${cell}" is not a number`);
        row[f.name] = f.units && Object.keys(f.units).length > 1 ? { value, unit } : value;
      } else if (f.kind === 'boolean') {
        row[f.name] = ['1', 'true', 'TRUE', 'yes', 'Yes'].includes(cell);
      } else row[f.name] = cell;
    }
    rows.push(row);
  });
  return { kind: 'rows', rows, labels, ids: body.map((_, r) => `row ${r + 1}`), notes: [`${rows.length} rows of ${spec.path}, each sent through evaluateRisk (the API's path: unit conversion, range checks, ONNX graph).`] };
}
