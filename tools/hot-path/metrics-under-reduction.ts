/**
 * Does the served adult model still read the same (issue 16)? Its test split
 * (nih-cxr14-pneumonia-1000, 130 films of 101 patients; the shared PNGs are 320 px, the NIH
 * originals 1024 px) encoded as JPEG 2000 DICOM — Debian's `opj_compress`, lossless, 6
 * resolutions (5 wavelet levels), wrapped by test/support/dicom-builder.ts — at 320 px as
 * shared and upsampled 4× (lanczos3) to 1280 px, because at 320 px a 224 px model gets no
 * reduced level; and the 1280 px films uncompressed, whose reduced decode is a box average
 * instead of a wavelet level. Each copy goes through `readAssist` with the real ONNX session three ways:
 *
 * - oracle-full: the float preprocessing of before issue 16 (test/support/reference-preprocess.ts), full decode;
 * - integer-full: the served grey-square@1 (integer tables), full decode;
 * - integer-reduced: the served model as loaded: the decode level read-assist picks.
 *
 * Against oracle-full: AUROC with a patient-bootstrap 95% CI (tools/evaluation/patients.ts,
 * the card's 2000 resamples and seed) and the paired difference, max and p95 |Δ probability|,
 * positive calls flipped at the card's operating point, and PSI of the probabilities with the
 * drift monitor's function and bands (inference/drift/psi.ts). DICOM goes to `workDir`, never
 * into the repository.
 *
 *   npx tsx tools/hot-path/metrics-under-reduction.ts [outDir=models/cxr-pneumonia-adult/evaluation] [workDir=/tmp/lantern-metrics-under-reduction]
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { repoRoot } from '../../config.ts';
import { decodeFrame } from '../../dicom/decode/index.ts';
import { parseDicom } from '../../dicom/parse.ts';
import { continuousPsi, psiBand, PSI_THRESHOLDS } from '../../inference/drift/psi.ts';
import type { Chain } from '../../inference/preprocess/index.ts';
import { readAssist } from '../../inference/read-assist.ts';
import { loadModel, type ReadAssistModel } from '../../inference/registry.ts';
import { buildCr } from '../../test/support/dicom-builder.ts';
import { opjCompress } from '../../test/support/jpeg2000.ts';
import { referenceGreySquare } from '../../test/support/reference-preprocess.ts';
import { sharedData } from '../../test/support/shared-data.ts';
import { readImageCsvRows, writeCsv, type ImageCsvRow } from '../evaluation/datasets.ts';
import { aurocValue, clusterBootstrap } from '../evaluation/patients.ts';

const MODEL_ID = 'cxr-pneumonia-adult';
const JPEG_2000_LOSSLESS = '1.2.840.10008.1.2.4.90';
const EXPLICIT_VR_LE = '1.2.840.10008.1.2.1';
/** The uncompressed copy shows what the other reduction (a 2^r box average of the decoded frame, dicom/decode/reduce.ts) does. */
const COPIES = [
  { name: '320 px JPEG 2000 (as shared)', side: 320, syntax: JPEG_2000_LOSSLESS },
  { name: '1280 px JPEG 2000 (upsampled 4x)', side: 1280, syntax: JPEG_2000_LOSSLESS },
  { name: '1280 px uncompressed (upsampled 4x)', side: 1280, syntax: EXPLICIT_VR_LE },
] as const;
/** The seed of the card's own AUROC interval (model.json, metrics), so the oracle arm's interval is comparable with it. */
const BOOTSTRAP_SEED = 20240611;
const ARMS = ['oracle-full', 'integer-full', 'integer-reduced'] as const;
type Arm = (typeof ARMS)[number];

const outDir = path.resolve(process.argv[2] ?? path.join(repoRoot, 'models', MODEL_ID, 'evaluation'));
const workDir = path.resolve(process.argv[3] ?? '/tmp/lantern-metrics-under-reduction');

/** One test film as a DICOM of `side` px in `syntax` (JPEG 2000 lossless or uncompressed), written once under workDir. */
async function dicomCopy(row: ImageCsvRow, index: number, { side, syntax }: (typeof COPIES)[number]): Promise<Uint8Array> {
  const stem = path.join(workDir, `${side}-${syntax}`, path.basename(row.file, '.png'));
  if (fs.existsSync(`${stem}.dcm`)) return new Uint8Array(fs.readFileSync(`${stem}.dcm`));
  fs.mkdirSync(path.dirname(stem), { recursive: true });
  const grey = await sharp(row.file).flatten().greyscale().resize(side, side, { kernel: 'lanczos3', fit: 'fill' }).raw().toBuffer();
  let pixelData: Uint8Array | Uint8Array[] = new Uint8Array(grey);
  if (syntax === JPEG_2000_LOSSLESS) {
    // Without -r or -q opj_compress writes the reversible 5/3 wavelet: lossless.
    pixelData = [opjCompress({ width: side, height: side, channels: 1, maxValue: 255, samples: new Uint8Array(grey) }, ['-n', '6'])];
  }
  const image = { rows: side, columns: side, bitsAllocated: 8, bitsStored: 8, pixelRepresentation: 0, photometricInterpretation: 'MONOCHROME2' };
  const adultChestPa = [
    { tag: 0x00100020, vr: 'LO', value: row.patient ?? row.id },
    { tag: 0x00101010, vr: 'AS', value: '050Y' },
    { tag: 0x00180015, vr: 'CS', value: 'CHEST' },
    { tag: 0x00185101, vr: 'CS', value: 'PA' },
  ];
  const bytes = buildCr(`1.2.826.0.1.3680043.10.1616.${side}.${syntax === JPEG_2000_LOSSLESS ? 1 : 2}.${index + 1}`, syntax, image, pixelData, adultChestPa);
  const decoded = await decodeFrame(parseDicom(bytes), 0);
  if (!Buffer.from(decoded.pixels.buffer, decoded.pixels.byteOffset, decoded.pixels.byteLength).equals(grey)) throw new Error(`${stem}.dcm does not decode to its pixels: not lossless`);
  fs.writeFileSync(`${stem}.dcm`, bytes);
  return bytes;
}

/** The model with its chain's `run` or `decode` replaced, noting the decoded frame's scale on every call. */
function variant(model: ReadAssistModel, scales: number[], changes: Partial<Pick<Chain, 'run' | 'decode'>> = {}): ReadAssistModel {
  const run = changes.run ?? model.chain.run;
  return { ...model, chain: { ...model.chain, ...changes, run: (frame, image) => { scales.push(frame.scale); return run(frame, image); } } };
}

const oracleRun = (size: [number, number]): Chain['run'] => async (frame, image) => {
  const { data, region } = await referenceGreySquare(frame, image, size);
  return { channels: 1, width: size[0], height: size[1], dtype: 'float32', data, region };
};

/** The model's probability for one copy under one arm (NaN when the finding is not applicable, e.g. out of distribution). */
async function probabilityOf(bytes: Uint8Array, model: ReadAssistModel): Promise<{ probability: number; positive: boolean }> {
  const [finding] = (await readAssist(bytes, model)).findings;
  return { probability: finding.probability ?? Number.NaN, positive: finding.positive ?? false };
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
};
const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;

async function main() {
  const loaded = await loadModel(path.join(repoRoot, 'models', MODEL_ID), { threads: 1 }) as ReadAssistModel;
  const { card } = loaded;
  const { rows } = readImageCsvRows(sharedData, card.evaluation!.dataset as Parameters<typeof readImageCsvRows>[1]);
  const labels = Uint8Array.from(rows, (r) => r.label);
  const patients = rows.map((r) => r.patient ?? r.id);
  const report = [];
  const films: (string | number)[][] = [];
  for (const copy of COPIES) {
    const scales: Record<Arm, number[]> = { 'oracle-full': [], 'integer-full': [], 'integer-reduced': [] };
    const models: Record<Arm, ReadAssistModel> = {
      'oracle-full': variant(loaded, scales['oracle-full'], { run: oracleRun(loaded.chain.size), decode: {} }),
      'integer-full': variant(loaded, scales['integer-full'], { decode: {} }),
      'integer-reduced': variant(loaded, scales['integer-reduced']),
    };
    const results: Record<Arm, { probability: number; positive: boolean }[]> = { 'oracle-full': [], 'integer-full': [], 'integer-reduced': [] };
    for (const [i, row] of rows.entries()) {
      const bytes = await dicomCopy(row, i, copy);
      for (const arm of ARMS) results[arm].push(await probabilityOf(bytes, models[arm]));
      if ((i + 1) % 10 === 0) process.stderr.write(`${copy.name}: ${i + 1}/${rows.length}\n`);
    }
    const p = (arm: Arm) => Float64Array.from(results[arm], (r) => r.probability);
    const boot = clusterBootstrap(patients, (idx) => {
      const values = ARMS.map((arm) => aurocValue(p(arm), labels, idx));
      return [...values, values[1] - values[0], values[2] - values[0]];
    }, { seed: BOOTSTRAP_SEED });
    const reference = Array.from(p('oracle-full'));
    const arms = ARMS.map((arm, a) => {
      const probabilities = Array.from(p(arm));
      const signed = probabilities.map((v, i) => v - reference[i]);
      const deltas = signed.map(Math.abs);
      const drift = continuousPsi(reference, probabilities);
      return {
        arm,
        decodeScale: [...new Set(scales[arm])],
        notApplicable: probabilities.filter((v) => Number.isNaN(v)).length,
        auroc: { value: round(boot.intervals[a].value), ci95: boot.intervals[a].ci95.map((v) => round(v)) },
        ...(a > 0 && {
          aurocDifference: { value: round(boot.intervals[ARMS.length + a - 1].value, 5), ci95: boot.intervals[ARMS.length + a - 1].ci95.map((v) => round(v, 5)) },
          meanDelta: round(signed.reduce((a, b) => a + b, 0) / signed.length, 6),
          higher: signed.filter((d) => d > 0).length,
          maxAbsDelta: round(Math.max(...deltas), 6),
          p95AbsDelta: round(quantile(deltas, 0.95), 6),
          positiveCallsFlipped: rows.filter((_, i) => results[arm][i].positive !== results['oracle-full'][i].positive).map((r) => r.id),
          psi: drift && { value: round(drift.psi, 5), band: psiBand(drift.psi) },
        }),
      };
    });
    films.push(...rows.map((r, i) => [copy.name, r.id, r.label, ...ARMS.map((arm) => results[arm][i].probability)]));
    report.push({ copy: copy.name, side: copy.side, transferSyntax: copy.syntax, arms });
  }
  fs.mkdirSync(outDir, { recursive: true });
  writeCsv(path.join(outDir, 'metrics-under-reduction.csv'), ['copy', 'file', 'label', ...ARMS], films);
  write(report, { films: rows.length, patients: new Set(patients).size, seed: BOOTSTRAP_SEED, operatingPoint: card.operatingPoints[0] });
}

function write(report: unknown[], about: { films: number; patients: number; seed: number; operatingPoint: { name: string; threshold: number } }) {
  const command = 'npx tsx tools/hot-path/metrics-under-reduction.ts';
  const json = { command, model: MODEL_ID, ...about, psiThresholds: PSI_THRESHOLDS, copies: report };
  fs.writeFileSync(path.join(outDir, 'metrics-under-reduction.json'), `${JSON.stringify(json, null, 2)}\n`);
  const lines = [
    `# ${MODEL_ID}: metrics under integer preprocessing and reduced decode (issue 16)`,
    '',
    `Test split: ${about.films} films of ${about.patients} patients, encoded as lossless JPEG 2000 DICOM (opj_compress, 6 resolutions) at 320 px as shared (the NIH originals are 1024 px) and upsampled 4x (lanczos3) to 1280 px, and at 1280 px uncompressed; each through readAssist with the real ONNX session. Differences are against oracle-full (the float preprocessing of before issue 16, full decode). AUROC 95% CI: patient bootstrap, 2000 resamples, seed ${about.seed}; the difference's CI is paired. Calls at ${about.operatingPoint.name} (p >= ${round(about.operatingPoint.threshold)}). PSI: inference/drift/psi.ts on the reference's deciles; stable < ${PSI_THRESHOLDS.moderate}, drift > ${PSI_THRESHOLDS.drift}.`,
    '',
    '| copy | arm | decode scale | AUROC (95% CI) | ΔAUROC (95% CI) | mean Δp (films higher) | max / p95 abs Δp | calls flipped | PSI (band) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...(report as { copy: string; arms: Record<string, any>[] }[]).flatMap(({ copy, arms }) => arms.map((a) => `| ${copy} | ${a.arm} | ${a.decodeScale.join(', ')} | ${a.auroc.value} (${a.auroc.ci95.join('–')}) | ${a.aurocDifference ? `${a.aurocDifference.value} (${a.aurocDifference.ci95.join(' to ')})` : '—'} | ${a.meanDelta ?? '—'}${a.higher === undefined ? '' : ` (${a.higher})`} | ${a.maxAbsDelta ?? '—'} / ${a.p95AbsDelta ?? '—'} | ${a.positiveCallsFlipped ? `${a.positiveCallsFlipped.length}${a.positiveCallsFlipped.length ? ` (${a.positiveCallsFlipped.join(', ')})` : ''}` : '—'} | ${a.psi ? `${a.psi.value} (${a.psi.band})` : '—'} |`)),
    '',
    'The 1280 px copies are 320 px films upsampled, so they hold no detail beyond what 320 px does: they test the reduced decode\'s filters, not what a reduced level drops from a real full-resolution film. Decode scale 2 = resolution level 1 (640 px), the coarsest with DECODE_MARGIN 2 for a 224 px model; at 320 px no level is coarse enough.',
    '',
    `Command: \`${command}\` (DICOM copies under /tmp; results here as metrics-under-reduction.json, each film's probabilities in metrics-under-reduction.csv).`,
    '',
  ];
  fs.writeFileSync(path.join(outDir, 'metrics-under-reduction.md'), lines.join('\n'));
  console.log(lines.join('\n'));
}

await main();
