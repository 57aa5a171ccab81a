/**
 * The `evaluation` object of a model card (see docs/models.md, "Evaluation"): which card
 * metrics are recomputed, and the labelled test set under `../shared/data` they come from.
 * datasets.ts reads the set it names.
 */
import path from 'node:path';
import { z } from 'zod';

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

/**
 * A CSV listing image files (PNG/JPEG), one row per image: `fileColumn` is the image's
 * path relative to the CSV's folder (it may not leave the data root), `labelColumn` 0/1,
 * `patientColumn` (optional) groups images of one patient for per-patient metrics and
 * patient-clustered CIs; with `split`, only rows whose `splitColumn` cell equals it. Every
 * other column is metadata: breakdowns and metadata-only baselines. Images go through the
 * card's own serving preprocessing (inference/image-file.ts), not pixel/255.
 */
const imageCsvDataset = z.object({
  kind: z.literal('image-csv'),
  path: relativePath,
  fileColumn: z.string().min(1),
  labelColumn: z.string().min(1),
  patientColumn: z.string().min(1).optional(),
  splitColumn: z.string().min(1).optional(),
  split: z.string().min(1).optional(),
}).refine((d) => d.split === undefined || d.splitColumn !== undefined, { message: 'split needs splitColumn', path: ['split'] });

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
  dataset: z.discriminatedUnion('kind', [npzDataset, imageFolderDataset, imageCsvDataset, csvDataset]),
  /** read-assist: which label to evaluate (default: the card's first). */
  label: z.string().optional(),
  /** The AUROC the team aims for: the report's verdict holds the lower CI bound against it. */
  aim: z.number().gt(0.5).max(1).optional(),
}).passthrough();

export type EvaluationSpec = z.infer<typeof evaluationSpec>;
export type CsvDataset = z.infer<typeof csvDataset>;
export type ImageCsvDataset = z.infer<typeof imageCsvDataset>;

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
