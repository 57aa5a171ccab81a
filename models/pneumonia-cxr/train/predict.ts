/**
 * Run an ONNX graph of this model over one split of the PneumoniaMNIST .npz with
 * onnxruntime-node — the runtime Lantern serves with — and print JSON
 * `{ "probability": number[], "label": number[] }` on stdout.
 *
 * evaluate.py calls this, so the reported metrics are those of the exact served graph.
 *
 *   npx tsx models/pneumonia-cxr/train/predict.ts <model.onnx> <npz> <split>
 */
import * as ort from 'onnxruntime-node';
import { readNpz } from '../../../tools/evaluation/npz.ts';

export async function predictSplit(modelPath: string, npzPath: string, split: string) {
  const arrays = readNpz(npzPath);
  const images = arrays.get(`${split}_images`);
  const labels = arrays.get(`${split}_labels`);
  if (!images || !labels) throw new Error(`${npzPath} has no ${split}_images/${split}_labels`);
  const [n, h, w] = images.shape;
  const x = new Float32Array(n * h * w);
  for (let i = 0; i < x.length; i++) x[i] = Number(images.data[i]) / 255;
  const session = await ort.InferenceSession.create(modelPath);
  const out = await session.run({ image: new ort.Tensor('float32', x, [n, 1, h, w]) });
  const probability = Array.from(out.probability.data as Float32Array);
  const heatmap = out.heatmap;
  await session.release();
  return { probability, label: Array.from(labels.data as Uint8Array), heatmapDims: heatmap.dims };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [modelPath, npzPath, split] = process.argv.slice(2);
  if (!modelPath || !npzPath || !split) {
    console.error('usage: predict.ts <model.onnx> <npz> <split>');
    process.exit(2);
  }
  const r = await predictSplit(modelPath, npzPath, split);
  process.stdout.write(JSON.stringify(r));
}
