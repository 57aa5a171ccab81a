/**
 * The `evaluation` object of a model card (see docs/models.md, "Evaluation") and the
 * readers for the labelled test sets it names under `../shared/data`.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { z } from 'zod';
import { readNpz } from './npz.ts';

const relativePath = z.string().min(1).refine((p) => !path.isAbsolute(p) && !p.split(/[\\/]/).includes('..'), 'a path inside the data root');

/** `<path>` = numpy archive with `<split>_images` (uint8 [N,H,W] or [N,H,W,C]) and `<split>_labels` ([N] or [N,1], 0/1). */
const npzDataset = z.object({
  kind: z.literal('npz'),
  path: relativePath,
  split: z.string().min(1),
});

/** `<path>/<folder>/*.png|jpg`, one folder per class; `labels` maps folder name → 0/1 (folders not listed are an error). */
const imageFolderDataset = z.object({
  kind: z.literal('image-folder'),
  path: relativePath,
  labels: z.record(z.string(), z.union([z.literal(0), z.literal(1)])).refine((l) => Object.keys(l).length >= 2, 'at least two class folders'),
});

/** A CSV with a header row; `columns` maps card feature → CSV column (values in the feature's canonical unit unless `units` says otherwise). */
const csvDataset = z.object({
  kind: z.literal('csv'),
  path: relativePath,
  label: z.object({ column: z.string(), positive: z.string(), negative: z.string().optional() }),
  columns: z.record(z.string(), z.string()),
  /** Unit of a column when it is not the feature's canonical unit (must be one the card accepts). */
  units: z.record(z.string(), z.string()).optional(),
  /** Inputs that are the same for every row (e.g. `{ "sex": "female" }` for an all-female cohort). */
  constants: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  /** Cells that mean "missing"; a row with a missing mapped cell is an error, never silently dropped. */
  missing: z.array(z.string()).default(['', 'NA']),
});

export const evaluationSpec = z.object({
  /** The card metrics with this `split` are the ones the harness recomputes and the drift test guards. */
  metricsSplit: z.string().min(1),
  dataset: z.discriminatedUnion('kind', [npzDataset, imageFolderDataset, csvDataset]),
  /** read-assist: which label to evaluate (default: the card's first). */
  label: z.string().optional(),
}).passthrough();

export type EvaluationSpec = z.infer<typeof evaluationSpec>;
export type CsvDataset = z.infer<typeof csvDataset>;

export class EvaluationSpecError extends Error {
  constructor(where: string, message: string) {
    super(`${where}: ${message}`);
    this.name = 'EvaluationSpecError';
  }
}

export function parseEvaluationSpec(where: string, raw: unknown): EvaluationSpec {
  const parsed = evaluationSpec.safeParse(raw);
  if (!parsed.success) {
    throw new EvaluationSpecError(where, `card "evaluation" is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

/** Images as the model's input tensor: float32, NCHW, values pixel/255. */
export interface ImageSet {
  kind: 'images';
  data: Float32Array;
  shape: [number, number, number, number];
  labels: Uint8Array;
  /** Per-image identifiers (file names or archive indices), for per-case output. */
  ids: string[];
  notes: string[];
}

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
 * the card, `[-1, C, H, W]` with C = 1 or 3). Pixels go in as value/255: these are
 * thumbnail datasets, so Lantern's DICOM window/crop/resize preprocessing is bypassed.
 */
export async function readImageSet(dataRoot: string, spec: EvaluationSpec['dataset'], inputShape: number[]): Promise<ImageSet> {
  if (inputShape.length !== 4 || (inputShape[1] !== 1 && inputShape[1] !== 3)) {
    throw new EvaluationSpecError(spec.path, `image evaluation needs an NCHW input with 1 or 3 channels; the card declares [${inputShape.join(', ')}]`);
  }
  const [, channels, height, width] = inputShape;
  const file = path.join(dataRoot, spec.path);
  if (!fs.existsSync(file)) throw new EvaluationSpecError(spec.path, `not found under ${dataRoot}`);
  if (spec.kind === 'npz') return readNpzImages(file, spec.split, channels, height, width);
  if (spec.kind === 'image-folder') return readImageFolder(file, spec.labels, channels, height, width);
  throw new EvaluationSpecError(spec.path, `a read-assist model needs an image dataset (npz or image-folder), not ${spec.kind}`);
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
