import { z } from 'zod';

/**
 * The declarative contract of a model folder (`models/<id>/model.json`). The registry
 * refuses to load a model whose card does not parse, whose weights do not hash to
 * `weights.sha256`, or whose ONNX graph does not expose the declared inputs/outputs.
 */
const tensorSpec = z.object({
  name: z.string().min(1),
  dtype: z.enum(['float32', 'int64', 'int32', 'uint8']),
  /** -1 marks a dynamic dimension (batch). */
  shape: z.array(z.number().int().min(-1)),
  units: z.string().optional(),
  range: z.tuple([z.number(), z.number()]).optional(),
});

const metric = z.object({
  name: z.string(),
  split: z.string(),
  value: z.number(),
  ci95: z.tuple([z.number(), z.number()]).optional(),
  method: z.string().optional(),
  n: z.number().int().optional(),
});

export const modelCardSchema = z.object({
  schemaVersion: z.literal(1),
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
  version: z.string().regex(/^\d+\.\d+\.\d+$/, 'semantic version x.y.z'),
  task: z.enum(['read-assist', 'risk', 'triage']),
  title: z.string(),
  modalities: z.array(z.string()).default([]),
  bodyParts: z.array(z.string()).default([]),
  weights: z.object({ file: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  inputs: z.array(tensorSpec).min(1),
  outputs: z.array(tensorSpec).min(1),
  labels: z.array(z.object({
    id: z.string(),
    display: z.string(),
    output: z.string(),
    index: z.number().int().min(0),
    heatmapOutput: z.string().optional(),
  })).min(1),
  preprocessing: z.object({
    id: z.string(),
    version: z.string(),
    size: z.tuple([z.number().int().positive(), z.number().int().positive()]),
  }).passthrough(),
  operatingPoints: z.array(z.object({
    label: z.string(),
    name: z.string(),
    threshold: z.number().min(0).max(1),
    rule: z.string(),
  }).passthrough()).min(1),
  calibration: z.record(z.string(), z.unknown()).optional(),
  intendedUse: z.string().min(1),
  limitations: z.array(z.string()).min(1),
  trainingData: z.object({ name: z.string(), licence: z.string() }).passthrough(),
  metrics: z.array(metric).min(1),
  aiAssisted: z.string().min(1),
}).passthrough();

export type ModelCard = z.infer<typeof modelCardSchema>;
