/**
 * Labels from class names: a folder a file sits in, or a labels CSV's `label` cell (with
 * the CSV's patient column and other cells). `0`/`1`, a `0_`/`1_` prefix, `--positive` /
 * `--negative`, or the built-in normal/abnormal, negative/positive.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseCsv } from '../../tools/evaluation/datasets.ts';
import { DatasetError, type LoadOptions, type Skipped } from './dataset.ts';

/** Class-folder names understood without `--positive`. */
export const BUILT_IN_CLASSES: Record<string, 0 | 1> = { normal: 0, abnormal: 1, negative: 0, positive: 1 };

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

export function folderLabels(options: LoadOptions): (id: string) => LabelResult {
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

export function csvLabels(root: string, file: string, options: LoadOptions, skipped: Skipped[]): CsvLabels {
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
