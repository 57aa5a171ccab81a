/**
 * Runs models/diabetes-pima/model.onnx with onnxruntime-node (the runtime Lantern serves
 * with) on rows given as a JSON file of number arrays (card feature order, canonical
 * units) and prints `{ risk, contributions }` as JSON. Called by train.py, which has no
 * onnxruntime of its own.
 *
 *     npx tsx models/diabetes-pima/train/predict.ts <model.onnx> <rows.json>
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

const [modelPath, rowsPath] = process.argv.slice(2);
const rows = JSON.parse(readFileSync(rowsPath, 'utf8')) as number[][];
const k = rows[0].length;
const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1 });
const out = await session.run({ features: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, k]) });
const contributions = out.contributions.data as Float32Array;
const terms = out.contributions.dims[1] as number;
process.stdout.write(JSON.stringify({
  risk: Array.from(out.risk.data as Float32Array),
  contributions: rows.map((_, i) => Array.from(contributions.subarray(i * terms, (i + 1) * terms))),
}));
await session.release();
