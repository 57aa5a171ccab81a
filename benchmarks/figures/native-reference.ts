/**
 * The native reference for the image path: Debian's OpenJPEG decoder (`opj_decompress`,
 * libopenjp2-tools, one thread) at the resolution level Lantern's own decode used, sharp's
 * crop and Lanczos resize of its output to the model's size, and a raw `session.run`.
 * `opj_decompress` is a process, so its time is spawn-to-exit (process start, reading the
 * codestream, decoding, writing the output); each run is paired with a run on a 64×64
 * codestream at the same level, which is process start plus a trivial decode, so that the
 * start can be subtracted; and OpenJPEG's own "decode time" line is kept as well.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { encapsulatedFrame } from '../../dicom/decode/frames.ts';
import { parseDicom, requirePixelData } from '../../dicom/parse.ts';
import type { ReadAssistModel } from '../../inference/registry.ts';
import { opjCompress } from '../../test/support/jpeg2000.ts';

const JPEG_2000 = new Set(['1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.91']);
/** Side of the no-op codestream: 2 pixels at the coarsest of its 5 levels. */
const NOOP_SIDE = 64;

/** What the native arm reads: the study's codestream and the no-op one, written once. */
export interface NativeInputs {
  codestream: string;
  noop: string;
  rows: number;
  columns: number;
  /** Where each run writes its output (tmpfs when there is one). */
  scratch: string;
}

/** Why the native figures are absent, in one line, or the inputs they use. */
export function prepareNativeInputs(study: string, dir: string): NativeInputs | { skipped: string } {
  if (spawnSync('sh', ['-c', 'command -v opj_decompress && command -v opj_compress'], { stdio: 'ignore' }).status !== 0) {
    return { skipped: 'opj_decompress is not installed (Debian: apt-get install -y libopenjp2-tools); the native JPEG 2000 figures are skipped' };
  }
  const instance = parseDicom(new Uint8Array(fs.readFileSync(study)));
  if (!JPEG_2000.has(instance.transferSyntaxUid)) {
    return { skipped: `${path.basename(study)} is not JPEG 2000 (${instance.transferSyntaxUid}); the native JPEG 2000 figures are skipped` };
  }
  const image = requirePixelData(instance);
  fs.mkdirSync(dir, { recursive: true });
  const codestream = path.join(dir, 'study.j2k');
  fs.writeFileSync(codestream, encapsulatedFrame(instance, instance.dataSet.elements.x7fe00010, 0));
  const noop = path.join(dir, 'noop.j2k');
  fs.writeFileSync(noop, opjCompress({ width: NOOP_SIDE, height: NOOP_SIDE, channels: 1, maxValue: 255, samples: new Uint8Array(NOOP_SIDE * NOOP_SIDE).fill(128) }, ['-n', '6']));
  const scratch = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/lantern-bench-opj-') : dir;
  return { codestream, noop, rows: image.rows, columns: image.columns, scratch };
}

export function removeNativeInputs(dir: string, inputs: NativeInputs | { skipped: string }) {
  if ('scratch' in inputs) fs.rmSync(inputs.scratch, { recursive: true, force: true });
  fs.rmSync(dir, { recursive: true, force: true });
}

/** One `opj_decompress -threads 1 -r level` run: spawn-to-exit, and the decode time it reports itself. */
async function opjDecompress(input: string, level: number, output: string): Promise<{ ms: number; selfReportedMs: number }> {
  const start = performance.now();
  const child = spawn('opj_decompress', ['-threads', '1', '-r', String(level), '-i', input, '-o', output], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  child.stderr.resume();
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const ms = performance.now() - start;
  if (code !== 0) throw new Error(`opj_decompress -r ${level} ${input} exited with ${code}`);
  const self = /decode time: (\d+(?:\.\d+)?) ms/.exec(stdout);
  return { ms, selfReportedMs: self ? Number(self[1]) : Number.NaN };
}

/** The stages of one native run, in ms. */
export interface NativeRun {
  /** opj_decompress spawn-to-exit. */
  decode: number;
  /** What opj_decompress reports as its own decode time. */
  decodeSelfReported: number;
  /** opj_decompress spawn-to-exit on the 64×64 codestream at the same level: process start. */
  processStart: number;
  /** Reading its output, sharp's centre-square crop and Lanczos resize, scaling to [0, 1]. */
  resize: number;
  /** session.run of the model on that image, every output fetched (as the worker does). */
  inference: number;
}

/**
 * One native run at JPEG 2000 level `level` (the image divided by 2^level per axis, as
 * OpenJPEG's -r and Lantern's DecodedFrame.scale = 2^level mean it).
 */
export async function nativeRun(inputs: NativeInputs, level: number, model: ReadAssistModel): Promise<NativeRun> {
  const output = path.join(inputs.scratch, 'decoded.rawl');
  const noop = await opjDecompress(inputs.noop, Math.min(level, 5), path.join(inputs.scratch, 'noop.rawl'));
  const decoded = await opjDecompress(inputs.codestream, level, output);

  const start = performance.now();
  const width = Math.ceil(inputs.columns / 2 ** level);
  const height = Math.ceil(inputs.rows / 2 ** level);
  const raw = fs.readFileSync(output);
  const side = Math.min(width, height);
  const [size] = model.chain.size;
  const { data } = await sharp(new Uint16Array(raw.buffer, raw.byteOffset, raw.length / 2), { raw: { width, height, channels: 1 } })
    .extract({ left: Math.floor((width - side) / 2), top: Math.floor((height - side) / 2), width: side, height: side })
    .resize(size, size, { kernel: 'lanczos3' })
    .toColourspace('grey16')
    .raw({ depth: 'ushort' })
    .toBuffer({ resolveWithObject: true });
  const grey = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
  const pixels = Float32Array.from(grey, (v) => v / 65535);
  const resize = performance.now() - start;

  const [spec] = model.card.inputs;
  const runStart = performance.now();
  await model.session.run({ [spec.name]: new ort.Tensor('float32', pixels, [1, 1, size, size]) });
  const inference = performance.now() - runStart;
  return { decode: decoded.ms, decodeSelfReported: decoded.selfReportedMs, processStart: noop.ms, resize, inference };
}
