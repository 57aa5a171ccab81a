/**
 * Read one split of the NIH ChestX-ray14 1,000-image 64 px subset as the graph's input, and run
 * an ONNX graph of this model over it with onnxruntime-node — the runtime Lantern serves with.
 * As a script it prints JSON `{ "probability": number[], "label": number[], "name": string[],
 * "heatmapDims": number[] }` on stdout; evaluate.py calls it, so the reported metrics are those
 * of the exact served graph.
 *
 *   npx tsx models/nih-cxr-abnormal/train/predict.ts <model.onnx> <train|valid|test>
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';

const here = dirname(fileURLToPath(import.meta.url));
export const NIH1000 = join(here, '../../../../shared/data/images/nih-cxr14-1000-64px/NIH1000');
export const SIZE = 64;
const CLASSES = [['0_normal', 0], ['1_abnormal', 1]] as const;

export interface Split {
  /** `[n,1,64,64]` display grey in [0,1], bone bright. */
  image: Float32Array;
  label: Uint8Array;
  /** `<class folder>/<file>`, in the order train.py and evaluate.py use (class, then name). */
  name: string[];
}

/**
 * Decode one PNG (8-bit RGB(A) with R=G=B) to grey with ITU-R 601 luma weights, as PIL's `'L'`
 * conversion does in train.py (alpha is opaque in these files and is dropped).
 */
export async function readGreyPng(file: string): Promise<Float32Array> {
  const { data, info } = await sharp(file).removeAlpha().toColourspace('srgb').raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== SIZE || info.height !== SIZE) throw new Error(`${file}: ${info.width}x${info.height}, expected ${SIZE}x${SIZE}`);
  const out = new Float32Array(SIZE * SIZE);
  const c = info.channels;
  for (let i = 0; i < out.length; i++) {
    const [r, g, b] = c >= 3 ? [data[i * c], data[i * c + 1], data[i * c + 2]] : [data[i * c], data[i * c], data[i * c]];
    // PIL's fixed-point luma: (R*19595 + G*38470 + B*7471 + 0x8000) >> 16.
    out[i] = ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16) / 255;
  }
  return out;
}

export async function loadSplit(split: string): Promise<Split> {
  const name: string[] = [];
  const labels: number[] = [];
  for (const [folder, label] of CLASSES) {
    for (const f of readdirSync(join(NIH1000, split, folder)).filter((x) => x.endsWith('.png')).sort()) {
      name.push(`${folder}/${f}`);
      labels.push(label);
    }
  }
  const image = new Float32Array(name.length * SIZE * SIZE);
  const decoded = await Promise.all(name.map((n) => readGreyPng(join(NIH1000, split, n))));
  decoded.forEach((g, i) => image.set(g, i * SIZE * SIZE));
  return { image, label: Uint8Array.from(labels), name };
}

export async function predictSplit(modelPath: string, split: string) {
  const data = await loadSplit(split);
  const n = data.label.length;
  const session = await ort.InferenceSession.create(modelPath);
  const out = await session.run({ image: new ort.Tensor('float32', data.image, [n, 1, SIZE, SIZE]) });
  const probability = Array.from(out.probability.data as Float32Array);
  const heatmapDims = out.heatmap.dims;
  await session.release();
  return { probability, label: Array.from(data.label), name: data.name, heatmapDims };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [modelPath, split] = process.argv.slice(2);
  if (!modelPath || !split) {
    console.error('usage: predict.ts <model.onnx> <train|valid|test>');
    process.exit(2);
  }
  process.stdout.write(JSON.stringify(await predictSplit(modelPath, split)));
}
