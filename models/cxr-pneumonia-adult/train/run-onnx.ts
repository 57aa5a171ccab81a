/**
 * Run any single-input image graph with onnxruntime-node (Lantern's serving runtime) over an
 * array and save the requested outputs as float32 .npy files. Used by
 * models/pneumonia-cxr/train/add_ood.py (Debian's Python has no onnxruntime) to read the
 * graph's pooled features and to compare the old and new graphs' outputs.
 *
 *   npx tsx models/cxr-pneumonia-adult/train/run-onnx.ts <model.onnx> <input> <outDir> <output> [<output> ...]
 *
 * <input>: `file.npy` (uint8 -> /255, uint16 -> /65535, float32 as is; [N,H,W]) or
 * `file.npz:<key>` (same rules). The input is fed as `image` [N,1,H,W] in batches of 256.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { parseNpy, readNpz, writeNpy } from '../../../tools/evaluation/npz.ts';

const [model, input, outDir, ...outputs] = process.argv.slice(2);
if (!model || !input || !outDir || outputs.length === 0) {
  console.error('usage: run-onnx.ts <model.onnx> <file.npy | file.npz:key> <outDir> <output>...');
  process.exit(2);
}
const arr = input.includes('.npz:') ? readNpz(input.split(':')[0]).get(input.split(':')[1]) : parseNpy(readFileSync(input), input);
if (!arr) throw new Error(`${input}: not found`);
const [n, h, w] = arr.shape;
const scale = arr.data instanceof Uint8Array ? 255 : arr.data instanceof Uint16Array ? 65535 : 1;
const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 2 });
const parts: Record<string, Float32Array[]> = Object.fromEntries(outputs.map((o) => [o, []]));
const dims: Record<string, number[]> = {};
const BATCH = 256;
for (let s = 0; s < n; s += BATCH) {
  const m = Math.min(BATCH, n - s);
  const x = new Float32Array(m * h * w);
  for (let i = 0; i < x.length; i++) x[i] = scale === 1 ? Number(arr.data[s * h * w + i]) : Number(arr.data[s * h * w + i]) / scale;
  const out = await session.run({ image: new ort.Tensor('float32', x, [m, 1, h, w]) }, outputs);
  for (const o of outputs) {
    parts[o].push(new Float32Array(out[o].data as Float32Array));
    dims[o] = out[o].dims.slice(1) as number[];
  }
}
await session.release();
mkdirSync(outDir, { recursive: true });
for (const o of outputs) {
  const total = parts[o].reduce((t, p) => t + p.length, 0);
  const all = new Float32Array(total);
  let off = 0;
  for (const p of parts[o]) {
    all.set(p, off);
    off += p.length;
  }
  writeNpy(join(outDir, `${o.replace(/[^A-Za-z0-9_.-]/g, '_')}.npy`), all, [n, ...dims[o]]);
}
console.log(JSON.stringify({ n, outputs: Object.fromEntries(outputs.map((o) => [o, [n, ...dims[o]]])) }));
