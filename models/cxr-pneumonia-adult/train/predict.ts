/**
 * Run model.onnx with onnxruntime-node (the runtime Lantern serves with) and print JSON
 * `{ n, files?, probability[], ood_score[], heatmap?[] }` on stdout.
 *
 *   npx tsx models/cxr-pneumonia-adult/train/predict.ts <model.onnx> --nih <split> [--heatmap]
 *       every film of that split of images/nih-cxr14-pneumonia-1000/labels.csv, prepared now by
 *       preprocessImageFile(file, 'grey-square@1', [224, 224]): the serving path, as `npm run eval` does
 *   npx tsx models/cxr-pneumonia-adult/train/predict.ts <model.onnx> --npy <file.npy> [--heatmap]
 *       a uint16 [N,H,W] array written by prepare.ts (value / 65535 = what the preprocessing returned)
 *
 * train.py uses it to check the exported graph against torch; evaluate.py to produce every
 * reported number from the exact served graph and inputs.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { preprocessImageFile } from '../../../inference/image-file.ts';

const REPO = resolve(import.meta.dirname, '../../..');
const NIH = resolve(REPO, '../shared/data/images/nih-cxr14-pneumonia-1000');
const BATCH = 16;

function readNpyU16(path: string): { shape: number[]; data: Uint16Array } {
  const buf = readFileSync(path);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${path} is not .npy`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + hlen);
  if (!header.includes("'<u2'") || header.includes('True')) throw new Error(`${path}: expected C-order <u2, got ${header}`);
  const shape = header.match(/\(([^)]*)\)/)![1].split(',').filter((s) => s.trim()).map(Number);
  const off = start + hlen;
  const copy = new Uint8Array(buf.subarray(off)).buffer; // aligned
  return { shape, data: new Uint16Array(copy) };
}

async function main() {
  const [modelPath, mode, arg, ...rest] = process.argv.slice(2);
  const withHeatmap = rest.includes('--heatmap');
  if (!modelPath || !mode || !arg) {
    console.error('usage: predict.ts <model.onnx> (--nih <split> | --npy <file.npy>) [--heatmap]');
    process.exit(2);
  }
  let n: number;
  let h: number;
  let w: number;
  let files: string[] | undefined;
  let getImage: (i: number) => Promise<Float32Array>;
  if (mode === '--nih') {
    const lines = readFileSync(join(NIH, 'labels.csv'), 'utf8').trim().split('\n');
    const head = lines[0].split(',');
    const fi = head.indexOf('file');
    const si = head.indexOf('split');
    files = lines.slice(1).map((l) => l.split(',')).filter((c) => c[si] === arg).map((c) => c[fi]);
    n = files.length;
    h = w = 224;
    getImage = async (i) => (await preprocessImageFile(join(NIH, files![i]), 'grey-square@1', [224, 224])).data;
  } else if (mode === '--npy') {
    const { shape, data } = readNpyU16(resolve(arg));
    [n, h, w] = shape;
    getImage = async (i) => {
      const out = new Float32Array(h * w);
      for (let j = 0; j < out.length; j++) out[j] = data[i * h * w + j] / 65535;
      return out;
    };
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 2 });
  const probability: number[] = [];
  const ood: number[] = [];
  const heatmap: number[][] = [];
  for (let s = 0; s < n; s += BATCH) {
    const m = Math.min(BATCH, n - s);
    const x = new Float32Array(m * h * w);
    for (let k = 0; k < m; k++) x.set(await getImage(s + k), k * h * w);
    const out = await session.run({ image: new ort.Tensor('float32', x, [m, 1, h, w]) });
    probability.push(...(out.probability.data as Float32Array));
    ood.push(...(out.ood_score.data as Float32Array));
    if (withHeatmap) {
      const hm = out.heatmap.data as Float32Array;
      const px = hm.length / m;
      for (let k = 0; k < m; k++) heatmap.push(Array.from(hm.subarray(k * px, (k + 1) * px)));
    }
  }
  await session.release();
  process.stdout.write(JSON.stringify({ n, files, probability, ood_score: ood, ...(withHeatmap ? { heatmap } : {}) }));
}

await main();
