/**
 * The decode stage at the resolution the model needs (issue 16) on RG1_J2KI (1841 × 1955,
 * 15-bit JPEG 2000 9/7): full resolution against the level the adult model's chain asks for
 * (224 px, margin 2: level 2) and level 3, for the file as stored and for its pixels re-encoded
 * as lossless HTJ2K by OpenJPH. Beside each, Debian's native OpenJPEG at the same level, one
 * thread, as the decode time it reports itself (no process start). Arms alternate in one
 * process, rotating which goes first.
 *
 *   npx tsx tools/hot-path/decode-levels.ts [rounds=20] [outDir=benchmarks/results/<today>]
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ratio, summarise } from '../../benchmarks/stats.ts';
import { repoRoot } from '../../config.ts';
import { decodeFrame, type DecodeOptions } from '../../dicom/decode/index.ts';
import { encapsulatedFrame } from '../../dicom/decode/frames.ts';
import { sizeAtLevel } from '../../dicom/decode/reduce.ts';
import { parseDicom, requirePixelData, type DicomInstance } from '../../dicom/parse.ts';
import { namedChain } from '../../inference/preprocess/index.ts';
import { buildCr } from '../../test/support/dicom-builder.ts';
import { htj2kEncode } from '../../test/support/jpeg2000.ts';
import { files } from '../../test/support/shared-data.ts';

const rounds = Number(process.argv[2] ?? 20);
const outDir = process.argv[3] ?? path.join(repoRoot, 'benchmarks/results', new Date().toISOString().slice(0, 10));

const j2k = parseDicom(new Uint8Array(fs.readFileSync(files.chestJ2k)));
const image = requirePixelData(j2k);
const full = await decodeFrame(j2k, 0);
const htj2kCodestream = await htj2kEncode({ width: full.columns, height: full.rows, channels: 1, maxValue: 2 ** 15 - 1, samples: full.pixels as Uint16Array }, 15, { lossless: true, decompositions: 5 });
const grey = { rows: image.rows, columns: image.columns, bitsAllocated: 16, bitsStored: 15, pixelRepresentation: 0, photometricInterpretation: 'MONOCHROME1' };
const htj2k = parseDicom(buildCr('1.2.826.0.1.3680043.10.1.16.90', '1.2.840.10008.1.2.4.201', grey, [htj2kCodestream]));

const modelLevel = Math.log2((await decodeFrame(j2k, 0, namedChain('grey-square@1', [224, 224]).decode)).scale);
const levels = [0, modelLevel, modelLevel + 1];
const optionsAt = (level: number): DecodeOptions => (level === 0 ? {} : { atLeast: sizeAtLevel(image, level) });

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-decode-levels-'));
const codestreams = { 'JPEG 2000': encapsulatedFrame(j2k, j2k.dataSet.elements.x7fe00010, 0), HTJ2K: htj2kCodestream };
/** opj_decompress's own "decode time: N ms" (it reports whole milliseconds). */
function nativeMs(codec: keyof typeof codestreams, level: number): number {
  const input = path.join(scratch, `${codec === 'HTJ2K' ? 'ht' : 'j2k'}.j2c`);
  if (!fs.existsSync(input)) fs.writeFileSync(input, codestreams[codec]);
  const log = execFileSync('opj_decompress', ['-threads', '1', '-r', String(level), '-i', input, '-o', path.join(scratch, 'out.pgm')], { encoding: 'utf8' });
  return Number(/decode time: (\d+(?:\.\d+)?) ms/.exec(log)![1]);
}

const arms = Object.entries({ 'JPEG 2000': j2k, HTJ2K: htj2k } as Record<keyof typeof codestreams, DicomInstance>)
  .flatMap(([codec, instance]) => levels.map((level) => ({ codec: codec as keyof typeof codestreams, level, instance, ms: [] as number[], native: [] as number[] })));
for (const arm of arms) await decodeFrame(arm.instance, 0, optionsAt(arm.level));
for (let round = 0; round < rounds; round++) {
  for (let i = 0; i < arms.length; i++) {
    const arm = arms[(i + round) % arms.length];
    const start = performance.now();
    await decodeFrame(arm.instance, 0, optionsAt(arm.level));
    arm.ms.push(performance.now() - start);
    arm.native.push(nativeMs(arm.codec, arm.level));
  }
}
fs.rmSync(scratch, { recursive: true, force: true });

const results = arms.map((arm) => {
  const fullArm = arms.find((a) => a.codec === arm.codec && a.level === 0)!;
  const [ours, native, fullOurs] = [summarise(arm.ms), summarise(arm.native), summarise(fullArm.ms)];
  const size = sizeAtLevel(image, arm.level);
  return { codec: arm.codec, level: arm.level, size, ours, native, vsFull: { p50: ratio(ours.p50, fullOurs.p50), p95: ratio(ours.p95, fullOurs.p95) }, vsNative: { p50: ratio(ours.p50, native.p50) } };
});
const machine = { cpus: os.cpus().length, loadAverage1m: Math.round(os.loadavg()[0] * 100) / 100 };
const command = `npx tsx tools/hot-path/decode-levels.ts ${rounds}`;
const lines = [
  '# Decode at the resolution the model needs: RG1_J2KI',
  '',
  `${image.columns} × ${image.rows}, ${image.bitsStored}-bit; the adult model (224 px, margin 2) asks for level ${modelLevel}. ${rounds} rounds, arms rotating in one process; native = opj_decompress -threads 1 -r level, its self-reported decode time. ${machine.cpus} CPUs, 1-min load average ${machine.loadAverage1m} at the end (shared machine).`,
  '',
  '| codestream | level (size) | decodeFrame p50 / p95 ms | ÷ full p50 / p95 | native p50 ms | ours ÷ native p50 |',
  '|---|---|---|---|---|---|',
  ...results.map((r) => `| ${r.codec} | ${r.level} (${r.size.columns} × ${r.size.rows}) | ${r.ours.p50.toFixed(1)} / ${r.ours.p95.toFixed(1)} | ${r.vsFull.p50} / ${r.vsFull.p95} | ${r.native.p50} | ${r.vsNative.p50} |`),
  '',
  `Command: \`${command}\``,
  '',
];
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'decode-levels.md'), lines.join('\n'));
fs.writeFileSync(path.join(outDir, 'decode-levels.json'), `${JSON.stringify({ command, machine, rounds, results }, null, 2)}\n`);
console.log(lines.join('\n'));
