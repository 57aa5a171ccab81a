/**
 * The ONNX models the FLOP/s measurement runs: ResNet-50 v1, the tiny smoke-test ResNet and
 * MatMul N×N·N×N graphs for the GEMM peak, built reproducibly by build_models.py, which also
 * counts each graph's FLOPs exactly into models/flops.json.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const DEFAULT_MODELS_DIR = path.join(HERE, 'models');
export const PYTHON = '/usr/bin/python3';

/** One graph of models/flops.json; a GEMM graph has its size `n`. */
export interface ModelEntry {
  file: string;
  sha256: string;
  bytes: number;
  input: { name: string; shape: number[] };
  output: string;
  flops: number;
  macs: number;
  other_flops: number;
  n?: number;
}

export interface FlopsJson {
  flop_convention: string;
  batchnorm: string;
  resnet_variant: string;
  models: Record<string, ModelEntry>;
}

/** Build the models with /usr/bin/python3 build_models.py if any is missing; returns models/flops.json. */
export function ensureModels(modelsDir = DEFAULT_MODELS_DIR, force = false): FlopsJson {
  const jsonPath = path.join(modelsDir, 'flops.json');
  const complete = () => {
    if (!fs.existsSync(jsonPath)) return false;
    const meta = JSON.parse(fs.readFileSync(jsonPath, 'utf8')) as FlopsJson;
    return Object.values(meta.models).every((m) => fs.existsSync(path.join(modelsDir, m.file)) && fs.statSync(path.join(modelsDir, m.file)).size === m.bytes);
  };
  if (force || !complete()) {
    const r = spawnSync(PYTHON, [path.join(HERE, 'build_models.py'), modelsDir], { encoding: 'utf8' });
    if (r.error) throw new Error(`could not run ${PYTHON} build_models.py: ${r.error.message}`);
    if (r.status !== 0) throw new Error(`build_models.py failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-5).join(' | ')}`);
    if (!complete()) throw new Error(`build_models.py ran but ${modelsDir} is incomplete`);
  }
  return JSON.parse(fs.readFileSync(jsonPath, 'utf8')) as FlopsJson;
}
