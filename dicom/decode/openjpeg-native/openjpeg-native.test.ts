/**
 * JPEG 2000 through the machine's OpenJPEG in a sidecar process (Debian's libopenjp2-7, which the
 * tests' libopenjp2-tools brings): the same pixels as the WebAssembly build at every level asked,
 * colour and signed data included; a codestream the library refuses, a sidecar that dies in a
 * decode, and a library that is missing all end in the WebAssembly build's answer, so the caller
 * never sees the difference — only the time. A decode past its deadline ends in a typed failure.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCr } from '../../../test/support/dicom-builder.ts';
import { files, sharedData } from '../../../test/support/shared-data.ts';
import { waitFor } from '../../../test/support/stack.ts';
import { PixelDecodeError } from '../../errors.ts';
import { runFuzz } from '../../fuzz.ts';
import { parseDicom, requirePixelData, type DicomInstance } from '../../parse.ts';
import { encapsulatedFrame } from '../frames.ts';
import { decodeFrame, type DecodedFrame } from '../index.ts';
import { enableNativeJpeg2000 } from '../jpeg2000.ts';
import { sizeAtLevel } from '../reduce.ts';
import { createNativeOpenJpeg } from './index.ts';

const parseFile = (file: string) => parseDicom(new Uint8Array(fs.readFileSync(file)));
const atLevel = (instance: DicomInstance, level: number) => (level === 0 ? {} : { atLeast: sizeAtLevel(requirePixelData(instance), level) });
const codestreamOf = (instance: DicomInstance) => encapsulatedFrame(instance, instance.dataSet.elements.x7fe00010, 0);
/** The pids of this process's sidecars, as the OS lists them. */
const sidecars = () => execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)]).toString().split('\n')
  .filter((line) => line.includes('sidecar.mjs')).map((line) => Number(line.trim().split(/\s+/)[0]));

// Every WebAssembly answer is taken before this file enables the native decoder (module state: one per test file).
const cases: [string, DicomInstance, number][] = [
  ['RG1 lossy, full resolution', parseFile(files.chestJ2k), 0],
  ['RG1 lossy, the adult model\'s level 2', parseFile(files.chestJ2k), 2],
  ['RG1 lossy, level 3', parseFile(files.chestJ2k), 3],
  ['RG3 lossless, level 1', parseFile(`${sharedData}/dicom/pydicom-data/files/RG3_J2KR.dcm`), 1],
  ['US1 RGB lossless (colour transform)', parseFile(`${sharedData}/dicom/pydicom-data/files/US1_J2KR.dcm`), 0],
  ['US1 RGB lossy', parseFile(`${sharedData}/dicom/pydicom-data/files/US1_J2KI.dcm`), 0],
  ['MR2 lossy', parseFile(`${sharedData}/dicom/pydicom-data/files/MR2_J2KI.dcm`), 0],
];
const inWebAssembly = new Map<string, DecodedFrame>();
for (const [name, instance, level] of cases) inWebAssembly.set(name, await decodeFrame(instance, 0, atLevel(instance, level)));
const native = enableNativeJpeg2000();
afterAll(() => native.close());

describe('native OpenJPEG', () => {
  it('when it is installed, then the sidecar starts and says so', async () => {
    expect(await native.start()).toBe(true);
  });

  it.each(cases)('when %s is decoded natively, then every pixel is the WebAssembly build\'s', async (name, instance, level) => {
    const wasm = inWebAssembly.get(name)!;
    const natively = await native.decode(codestreamOf(instance), level);
    expect(natively, 'the sidecar answered itself, not through the fallback').toBeDefined();
    const decoded = await decodeFrame(instance, 0, atLevel(instance, level));
    expect({ rows: decoded.rows, columns: decoded.columns, scale: decoded.scale, pi: decoded.photometricInterpretation })
      .toEqual({ rows: wasm.rows, columns: wasm.columns, scale: wasm.scale, pi: wasm.photometricInterpretation });
    expect(decoded.pixels.constructor).toBe(wasm.pixels.constructor);
    expect(Buffer.from(decoded.pixels.buffer, decoded.pixels.byteOffset, decoded.pixels.byteLength)
      .equals(Buffer.from(wasm.pixels.buffer, wasm.pixels.byteOffset, wasm.pixels.byteLength))).toBe(true);
  });

  it('when a decode runs on two threads, then its pixels are the one-thread decode\'s', async () => {
    const twoThreads = createNativeOpenJpeg({ threads: 2 });
    try {
      for (const [name, instance, level] of cases) {
        const [one, two] = [await native.decode(codestreamOf(instance), level), await twoThreads.decode(codestreamOf(instance), level)];
        expect(two, name).toBeDefined();
        expect(Buffer.from(two!.samples).equals(Buffer.from(one!.samples)), name).toBe(true);
      }
    } finally {
      twoThreads.close();
    }
  });

  it('when the codestream is cut short, then the library refuses it and the caller gets the WebAssembly build\'s typed error', async () => {
    const instance = parseFile(files.chestJ2k);
    const whole = codestreamOf(instance);
    expect(await native.decode(whole.subarray(0, 200), 2)).toBeUndefined();
    const cut = parseDicom(buildCr('1.2.826.0.1.3680043.10.1.16.92', '1.2.840.10008.1.2.4.91', { ...requirePixelData(instance) }, [whole.subarray(0, 200)]));
    await expect(decodeFrame(cut, 0, atLevel(cut, 2))).rejects.toBeInstanceOf(PixelDecodeError);
    expect(await native.decode(whole, 2), 'the next codestream is decoded natively again').toBeDefined();
  });

  it('when the sidecar dies during a decode (as on a codestream that crashes the library), then that frame comes from WebAssembly, the caller lives on, and the next decode is native again', async () => {
    const instance = parseFile(files.chestJ2k);
    const [before] = sidecars();
    // A full-resolution decode takes a few hundred ms: long enough to end the sidecar in the middle of it.
    const decoding = native.decode(codestreamOf(instance), 0);
    await new Promise((resolve) => setTimeout(resolve, 30));
    process.kill(before, 'SIGSEGV');
    expect(await decoding).toBeUndefined();
    const decoded = await decodeFrame(instance, 0, atLevel(instance, 2));
    expect(Buffer.from(decoded.pixels.buffer).equals(Buffer.from(inWebAssembly.get('RG1 lossy, the adult model\'s level 2')!.pixels.buffer))).toBe(true);
    expect(await native.decode(codestreamOf(instance), 2)).toBeDefined();
    expect(sidecars()).not.toContain(before);
  });

  it('when a decode outlasts its deadline (as on a codestream that loops the library), then the sidecar is stopped and the decode fails, typed, without the WebAssembly build running the same loop', async () => {
    // RG1 at full resolution takes 0.3–0.4 s on one thread here: past a 100 ms deadline, which starts once the sidecar is up.
    const impatient = createNativeOpenJpeg({ deadlineMs: 100 });
    try {
      const sidecarsBefore = new Set(sidecars());
      expect(await impatient.start()).toBe(true);
      const [before] = sidecars().filter((pid) => !sidecarsBefore.has(pid));
      const codestream = codestreamOf(parseFile(files.chestJ2k));
      const failure = await impatient.decode(codestream, 0).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(PixelDecodeError);
      expect((failure as PixelDecodeError).code).toBe('DECODE_TIMEOUT');
      await waitFor(async () => (sidecars().includes(before) ? undefined : true), 'the timed-out sidecar to end', 5_000);
      // A level-3 decode takes ~10 ms: the next one has a sidecar of its own, and answers.
      expect(await impatient.decode(codestream, 3)).toBeDefined();
    } finally {
      impatient.close();
    }
  });

  it('when 600 mutants of JPEG 2000 files are decoded natively first, then each ends in success or a typed DicomError, in bounded time, and the caller lives on', async () => {
    const seeds = [files.chestJ2k, `${sharedData}/dicom/pydicom-testfiles/test_files/JPEG2000.dcm`, `${sharedData}/dicom/pydicom-data/files/US1_J2KR.dcm`]
      .map((file) => ({ name: file.split('/').pop()!, bytes: new Uint8Array(fs.readFileSync(file)) }));
    const report = await runFuzz(seeds, 600, { decode: true, rngBase: 16 });
    expect(report.untyped).toEqual([]);
    expect(report.accepted).toBeGreaterThan(0);
    // Bounded, not tight: a stall would be the sidecar's 20 s deadline or worse.
    expect(report.slowestMs).toBeLessThan(5000);
    expect(await native.decode(codestreamOf(parseFile(files.chestJ2k)), 2), 'native decoding still answers after the campaign').toBeDefined();
  }, 120_000);

  it('when the library is missing, then it is not tried again and every decode is left to WebAssembly', async () => {
    const without = createNativeOpenJpeg({ library: 'libopenjp2-not-here.so.7' });
    expect(await without.start()).toBe(false);
    expect(await without.decode(codestreamOf(parseFile(files.chestJ2k)), 2)).toBeUndefined();
    without.close();
  });
});
