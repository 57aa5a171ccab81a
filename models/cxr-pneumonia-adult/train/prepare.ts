/**
 * Prepare every image the cxr-pneumonia-adult recipe uses through Lantern's own serving
 * preprocessing, so that training, evaluation, the card and the served model all see the
 * same tensors.
 *
 *   npx tsx models/cxr-pneumonia-adult/train/prepare.ts [--out var/train-cache/cxr-pneumonia-adult]
 *
 * Writes (outside git; var/ is ignored) one uint16 `.npy` [N,H,W] per set plus an index CSV.
 * A served value v is exactly u / 65535 (preprocess.ts quantises to 16 bits and divides),
 * so storing u is lossless; this script checks Math.fround(u / 65535) === v for every pixel.
 *
 * Sets:
 *  - nih224           all 1,000 films of images/nih-cxr14-pneumonia-1000 (labels.csv order),
 *                     preprocessImageFile(file, 'grey-square@1', [224, 224])
 *  - pmnist224        PneumoniaMNIST official test split (624 paediatric films): each 28x28
 *                     uint8 image -> PNG buffer (sharp, raw input) -> preprocessImageFile(buffer, …, [224, 224])
 *  - dicom224         every DICOM under dicom/** that parses, has greyscale pixel data and decodes,
 *                     as the worker serves it: parseDicom -> requirePixelData -> decodeFrame(instance, 0,
 *                     chain.decode) -> chain.run(frame, image), chain = namedChain('grey-square@1', [224, 224]),
 *                     so decoded at the coarsest resolution level that still gives the model
 *                     DECODE_MARGIN times its pixels (full resolution for a small frame); one image per source
 *                     series (Series Instance UID; the first file in sorted path order that decodes),
 *                     so the same image stored in 15 transfer syntaxes, or 7 slices of one series,
 *                     counts once; what was skipped and why goes to dicom-skipped.csv
 *  - nih28, dicom28, pmnist28   the same at [28, 28] (the DICOM frames decoded again, at 28 px's level),
 *                     for models/pneumonia-cxr's OOD score
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import sharp from 'sharp';
import { decodeFrame } from '../../../dicom/decode/index.ts';
import { parseDicom, requirePixelData } from '../../../dicom/parse.ts';
import { writeCsv } from '../../../tools/evaluation/datasets.ts';
import { readNpz, writeNpy } from '../../../tools/evaluation/npz.ts';
import { preprocessImageFile } from '../../../inference/image-file.ts';
import { namedChain, type ModelImage } from '../../../inference/preprocess/index.ts';

const REPO = resolve(import.meta.dirname, '../../..');
const DATA = resolve(REPO, '../shared/data');
const NIH = join(DATA, 'images/nih-cxr14-pneumonia-1000');
const PMNIST = join(DATA, 'images/pneumoniamnist/pneumoniamnist_varun19424.npz');
const DICOM = join(DATA, 'dicom');
const PREPROCESSING = 'grey-square@1';

const outArg = process.argv.indexOf('--out');
const OUT = resolve(REPO, outArg > 0 ? process.argv[outArg + 1] : 'var/train-cache/cxr-pneumonia-adult');
mkdirSync(OUT, { recursive: true });

/** Served float -> exact uint16 code (throws if the value is not u / 65535 for an integer u). */
function toU16(img: ModelImage, into: Uint16Array, offset: number): void {
  const d = img.data;
  for (let i = 0; i < d.length; i++) {
    const u = Math.round(d[i] * 65535);
    if (Math.fround(u / 65535) !== d[i]) throw new Error(`value ${d[i]} is not u/65535`);
    into[offset + i] = u;
  }
}

/** Runs `fn` over items with a small concurrency (sharp is async, the rest is CPU). */
async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }));
  return out;
}

const t0 = Date.now();
const summary: Record<string, unknown> = { preprocessing: PREPROCESSING, out: relative(REPO, OUT) };

// ---- NIH films (224 and 28) --------------------------------------------------------------------
const lines = readFileSync(join(NIH, 'labels.csv'), 'utf8').trim().split('\n');
const header = lines[0].split(',');
const rows = lines.slice(1).map((l) => {
  const cells = l.split(',');
  if (cells.length !== header.length) throw new Error(`labels.csv: unexpected quoting in ${l}`);
  return Object.fromEntries(header.map((h, i) => [h, cells[i]]));
});
for (const size of [224, 28]) {
  const arr = new Uint16Array(rows.length * size * size);
  await mapLimit(rows, 2, async (r, i) => {
    const img = await preprocessImageFile(join(NIH, r.file), PREPROCESSING, [size, size]);
    toU16(img, arr, i * size * size);
  });
  writeNpy(join(OUT, `nih${size}.npy`), arr, [rows.length, size, size]);
  console.log(`nih${size}: ${rows.length} films (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
writeCsv(join(OUT, 'nih.csv'), ['index', ...header], rows.map((r, i) => [i, ...header.map((h) => r[h])]));
summary.nih = { n: rows.length, source: relative(DATA, NIH) };

// ---- PneumoniaMNIST test split, paediatric (224) -----------------------------------------------
{
  const npz = readNpz(PMNIST);
  const images = npz.get('test_images')!;
  const labels = npz.get('test_labels')!;
  const [n, h, w] = images.shape;
  const idx = Array.from({ length: n }, (_, i) => i);
  for (const size of [224, 28]) {
    const arr = new Uint16Array(n * size * size);
    await mapLimit(idx, 2, async (i) => {
      const pixels = Buffer.from((images.data as Uint8Array).subarray(i * h * w, (i + 1) * h * w));
      const png = await sharp(pixels, { raw: { width: w, height: h, channels: 1 } }).png().toBuffer();
      toU16(await preprocessImageFile(png, PREPROCESSING, [size, size]), arr, i * size * size);
    });
    writeNpy(join(OUT, `pmnist${size}.npy`), arr, [n, size, size]);
  }
  writeCsv(join(OUT, 'pmnist.csv'), ['index', 'split', 'label'], idx.map((i) => [i, 'test', Number((labels.data as Uint8Array)[i])]));
  summary.pmnist = { n, source: `${relative(DATA, PMNIST)} test split` };
  console.log(`pmnist224/28: ${n} films (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

// ---- DICOM: every decodable greyscale frame, one per SOP Instance UID --------------------------
function walk(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
const NOT_DICOM = /(\.csv|\.md|\.txt|LICENSE)$/;
const files = walk(DICOM).filter((f) => !NOT_DICOM.test(f));
interface Kept { file: string; sop: string; series: string; modality: string; bodyPart: string; view: string; description: string; rows: number; columns: number; bitsStored: number; photometric: string; syntax: string; frames: number; images: Record<number, ModelImage> }
const kept = new Map<string, Kept>(); // by Series Instance UID
const dicomChains = [224, 28].map((size) => ({ size, chain: namedChain(PREPROCESSING, [size, size]) }));
const skipped: (string | number)[][] = [];
for (const f of files) {
  const rel = relative(DATA, f);
  let sop = '';
  try {
    const inst = parseDicom(new Uint8Array(readFileSync(f)));
    sop = inst.meta.sopInstanceUid;
    const key = inst.meta.seriesInstanceUid || sop;
    if (kept.has(key)) {
      skipped.push([rel, sop, inst.meta.modality ?? '', 'series already represented (same image in another transfer syntax, or another image of the series)', kept.get(key)!.file]);
      continue;
    }
    const image = requirePixelData(inst);
    const images: Record<number, ModelImage> = {};
    for (const { size, chain } of dicomChains) images[size] = await chain.run(await decodeFrame(inst, 0, chain.decode), image);
    const m = inst.meta;
    const ds = inst.dataSet;
    kept.set(key, {
      file: rel, sop, series: m.seriesInstanceUid, modality: m.modality ?? '', bodyPart: m.bodyPartExamined ?? '',
      view: m.viewPosition ?? '', description: [ds.string('x00081030'), ds.string('x0008103e')].filter(Boolean).join(' / '),
      rows: image.rows, columns: image.columns, bitsStored: image.bitsStored, photometric: image.photometricInterpretation,
      syntax: inst.transferSyntaxUid, frames: image.numberOfFrames, images,
    });
  } catch (e) {
    skipped.push([rel, sop, '', (e as Error).message.replace(/\s+/g, ' ').slice(0, 200), '']);
  }
}
const dicomRows = [...kept.values()];
for (const size of [224, 28]) {
  const arr = new Uint16Array(dicomRows.length * size * size);
  dicomRows.forEach((k, i) => toU16(k.images[size], arr, i * size * size));
  writeNpy(join(OUT, `dicom${size}.npy`), arr, [dicomRows.length, size, size]);
}
writeCsv(join(OUT, 'dicom.csv'),
  ['index', 'file', 'modality', 'body_part', 'view_position', 'description', 'rows', 'columns', 'bits_stored', 'photometric', 'transfer_syntax', 'frames', 'sop_instance_uid', 'series_instance_uid'],
  dicomRows.map((k, i) => [i, k.file, k.modality, k.bodyPart, k.view, k.description, k.rows, k.columns, k.bitsStored, k.photometric, k.syntax, k.frames, k.sop, k.series]));
writeCsv(join(OUT, 'dicom-skipped.csv'), ['file', 'sop_instance_uid', 'modality', 'reason', 'kept_as'], skipped);
const byModality: Record<string, number> = {};
for (const k of dicomRows) byModality[k.modality] = (byModality[k.modality] ?? 0) + 1;
summary.dicom = { filesSeen: files.length, kept: dicomRows.length, byModality, skipped: skipped.length };
summary.seconds = (Date.now() - t0) / 1000;
writeFileSync(join(OUT, 'prepare-summary.json'), JSON.stringify(summary, null, 2) + '\n');
console.log(JSON.stringify(summary, null, 2));
