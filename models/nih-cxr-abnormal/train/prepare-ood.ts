/**
 * The 64 px arrays models/nih-cxr-abnormal/train/add_ood.py fits and judges the OOD score on,
 * each prepared exactly as the model would be fed it:
 *
 *   npx tsx models/cxr-pneumonia-adult/train/prepare.ts     # once: its dicom.csv names the DICOM frames used here
 *   npx tsx models/nih-cxr-abnormal/train/prepare-ood.ts    # -> var/train-cache/nih-cxr-abnormal-ood/
 *
 * Writes float32 `.npy` [N,64,64] (the graph's input values, fed as is by run-onnx.ts) and index CSVs:
 *  - nih1000-{train,valid,test}   NIH1000 splits through readImageSet(…, image-folder, …): the very
 *                                 tensor `npm run eval` feeds (sharp greyscale, pixel/255)
 *  - nih1000-test-served          the same 200 test PNGs through preprocessImageFile(file, 'grey-square@1', [64, 64])
 *  - pmnist64                     PneumoniaMNIST official test split (624 paediatric 28 px films):
 *                                 uint8 -> PNG (sharp) -> preprocessImageFile(buffer, 'grey-square@1', [64, 64])
 *  - dicom64                      the DICOM frames of var/train-cache/cxr-pneumonia-adult/dicom.csv (one per
 *                                 series), as the worker serves them: parseDicom -> requirePixelData ->
 *                                 decodeFrame(instance, 0, chain.decode) -> chain.run(frame, image), chain =
 *                                 namedChain('grey-square@1', [64, 64]) (decoded at the level the model needs);
 *                                 the same frames are re-made at 28 px and must equal that cache's dicom28.npy,
 *                                 so the selection is the same
 *  - adultnih64                   the test split (130 films) of images/nih-cxr14-pneumonia-1000 (full-size adult
 *                                 NIH films) through preprocessImageFile(file, 'grey-square@1', [64, 64]): a served
 *                                 adult chest film, for the false-rejection rate on the population the card names
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { decodeFrame } from '../../../dicom/decode/index.ts';
import { parseDicom, requirePixelData } from '../../../dicom/parse.ts';
import { parseCsv, readImageSet, writeCsv } from '../../../tools/evaluation/datasets.ts';
import { readNpz, writeNpy } from '../../../tools/evaluation/npz.ts';
import { preprocessImageFile } from '../../../inference/image-file.ts';
import { namedChain, type Chain } from '../../../inference/preprocess/index.ts';

const REPO = resolve(import.meta.dirname, '../../..');
const DATA = resolve(REPO, '../shared/data');
const NIH1000 = 'images/nih-cxr14-1000-64px/NIH1000';
const ADULT = join(DATA, 'images/nih-cxr14-pneumonia-1000');
const PMNIST = join(DATA, 'images/pneumoniamnist/pneumoniamnist_varun19424.npz');
const ADULT_CACHE = join(REPO, 'var/train-cache/cxr-pneumonia-adult');
const OUT = join(REPO, 'var/train-cache/nih-cxr-abnormal-ood');
const P = 'grey-square@1';
const S = 64;
mkdirSync(OUT, { recursive: true });

const t0 = Date.now();
const log = (s: string) => console.log(`${s} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
const summary: Record<string, number> = {};

// NIH1000 splits, as npm run eval feeds them (card evaluation.dataset is the test one)
const labels = { '0_normal': 0, '1_abnormal': 1 } as const;
for (const split of ['train', 'valid', 'test']) {
  const set = await readImageSet(DATA, { kind: 'image-folder', path: `${NIH1000}/${split}`, labels }, [-1, 1, S, S]);
  if (set.kind !== 'images') throw new Error('expected images');
  writeNpy(join(OUT, `nih1000-${split}.npy`), set.data, [set.shape[0], S, S]);
  writeCsv(join(OUT, `nih1000-${split}.csv`), ['index', 'id', 'label'], set.ids.map((id, i) => [i, id, set.labels[i]]));
  summary[`nih1000-${split}`] = set.shape[0];
  if (split === 'test') {
    const served = new Float32Array(set.ids.length * S * S);
    for (let i = 0; i < set.ids.length; i++) {
      served.set((await preprocessImageFile(join(DATA, NIH1000, split, set.ids[i]), P, [S, S])).data, i * S * S);
    }
    writeNpy(join(OUT, 'nih1000-test-served.npy'), served, [set.ids.length, S, S]);
    summary['nih1000-test-served'] = set.ids.length;
  }
  log(`nih1000-${split}: ${set.shape[0]}`);
}

// PneumoniaMNIST test split through the serving path
{
  const npz = readNpz(PMNIST);
  const images = npz.get('test_images')!;
  const [n, h, w] = images.shape;
  const arr = new Float32Array(n * S * S);
  for (let i = 0; i < n; i++) {
    const pixels = Buffer.from((images.data as Uint8Array).subarray(i * h * w, (i + 1) * h * w));
    const png = await sharp(pixels, { raw: { width: w, height: h, channels: 1 } }).png().toBuffer();
    arr.set((await preprocessImageFile(png, P, [S, S])).data, i * S * S);
  }
  writeNpy(join(OUT, 'pmnist64.npy'), arr, [n, S, S]);
  summary.pmnist64 = n;
  log(`pmnist64: ${n}`);
}

// DICOM frames named by the cxr-pneumonia-adult cache
{
  const [header, ...rows] = parseCsv(readFileSync(join(ADULT_CACHE, 'dicom.csv'), 'utf8')).filter((r) => r.length > 1);
  const fileCol = header.indexOf('file');
  const ref = readFileSync(join(ADULT_CACHE, 'dicom28.npy'));
  const refData = new Uint16Array(new Uint8Array(ref.subarray(128)).buffer); // header is 128 bytes (64-aligned)
  if (refData.length !== rows.length * 28 * 28) throw new Error(`dicom28.npy: ${refData.length} values for ${rows.length} rows`);
  const arr = new Float32Array(rows.length * S * S);
  const [chain, chain28] = [namedChain(P, [S, S]), namedChain(P, [28, 28])];
  let mismatched = 0;
  for (let i = 0; i < rows.length; i++) {
    const inst = parseDicom(new Uint8Array(readFileSync(join(DATA, rows[i][fileCol]))));
    const image = requirePixelData(inst);
    const served = async (at: Chain) => (await at.run(await decodeFrame(inst, 0, at.decode), image)).data;
    arr.set(await served(chain), i * S * S);
    const small = await served(chain28);
    for (let j = 0; j < small.length; j++) if (Math.round(small[j] * 65535) !== refData[i * 784 + j]) { mismatched++; break; }
  }
  if (mismatched > 0) throw new Error(`${mismatched} DICOM frames differ from the cache's dicom28.npy`);
  writeNpy(join(OUT, 'dicom64.npy'), arr, [rows.length, S, S]);
  summary.dicom64 = rows.length;
  log(`dicom64: ${rows.length} (28 px re-make equals dicom28.npy)`);
}

// adult NIH films (nih-cxr14-pneumonia-1000 test split) through the serving path
{
  const [header, ...rows] = parseCsv(readFileSync(join(ADULT, 'labels.csv'), 'utf8')).filter((r) => r.length > 1);
  const col = (name: string) => header.indexOf(name);
  const test = rows.filter((r) => r[col('split')] === 'test');
  const arr = new Float32Array(test.length * S * S);
  for (let i = 0; i < test.length; i++) arr.set((await preprocessImageFile(join(ADULT, test[i][col('file')]), P, [S, S])).data, i * S * S);
  writeNpy(join(OUT, 'adultnih64.npy'), arr, [test.length, S, S]);
  writeCsv(join(OUT, 'adultnih64.csv'), ['index', 'file', 'label', 'patient_id', 'patient_in_nih1000_64px'],
    test.map((r, i) => [i, r[col('file')], r[col('label')], r[col('patient_id')], r[col('patient_in_nih1000_64px')]]));
  summary.adultnih64 = test.length;
  log(`adultnih64: ${test.length}`);
}
writeFileSync(join(OUT, 'prepare-summary.json'), JSON.stringify({ preprocessing: P, size: S, sets: summary }, null, 2) + '\n');
