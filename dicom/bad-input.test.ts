import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeFrame } from './decode/index.ts';
import { DicomError } from './errors.ts';
import { parseDicom } from './parse.ts';
import { sharedDataDir } from './test-data.ts';

const testFilesDir = path.join(sharedDataDir, 'dicom/pydicom-testfiles/test_files');

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? listFiles(full) : [full];
  });
}

/** Either the whole path succeeds or it fails with one of our typed errors; nothing else. */
async function outcome(bytes: Uint8Array): Promise<'ok' | string> {
  try {
    const instance = parseDicom(bytes);
    if (instance.meta.image) await decodeFrame(instance, 0);
    return 'ok';
  } catch (error) {
    if (error instanceof DicomError && typeof error.code === 'string' && error.message.length > 0) return error.code;
    throw new Error(`untyped failure: ${String(error)}`, { cause: error });
  }
}

/** Deterministic bytes so a failure reproduces. */
function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state = (state * 1_103_515_245 + 12_345) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

function preambleOnly(): Uint8Array {
  const bytes = new Uint8Array(132);
  bytes.set(new TextEncoder().encode('DICM'), 128);
  return bytes;
}

describe('bad input never crashes', () => {
  it('when every pydicom test file (valid, odd and deliberately broken) is parsed and decoded, then each succeeds or throws a DicomError', async () => {
    const files = listFiles(testFilesDir);
    expect(files.length).toBeGreaterThan(70);
    const outcomes = new Map<string, string>();
    for (const file of files) outcomes.set(path.relative(testFilesDir, file), await outcome(new Uint8Array(fs.readFileSync(file))));
    expect(outcomes.get('MR_truncated.dcm')).toBe('TRUNCATED_DICOM');
    expect(outcomes.get('CT_small.dcm')).toBe('ok');
  });

  it.each([
    ['an empty buffer', new Uint8Array(0)],
    ['a single byte', new Uint8Array([0x08])],
    ["only the 128-byte preamble and 'DICM'", preambleOnly()],
    ["'DICM' followed by garbage", (() => { const b = pseudoRandomBytes(4096, 7); b.set(preambleOnly()); return b; })()],
    ['random bytes', pseudoRandomBytes(10_000, 1)],
    ['random bytes that start like an implicit element', (() => { const b = pseudoRandomBytes(10_000, 2); b.set([0x08, 0x00, 0x05, 0x00]); return b; })()],
    ['random bytes that start like an explicit element', (() => { const b = pseudoRandomBytes(10_000, 3); b.set([0x08, 0x00, 0x05, 0x00, 0x43, 0x53]); return b; })()],
  ])('when the input is %s, then InvalidDicomError is thrown', async (_, bytes) => {
    const result = await outcome(bytes);
    expect(result).not.toBe('ok');
  });

  it.each([
    ['implicit little endian', 'dicom/cornerstone-wadoloader/testImages/CTImage.dcm'],
    ['deflated', 'dicom/cornerstone-wadoloader/testImages/CTImage.dcm_DeflatedExplicitVRLittleEndianTransferSyntax_1.2.840.10008.1.2.1.99.dcm'],
    ['JPEG-LS multi-frame', 'dicom/cornerstone-dicomparser/testImages/encapsulated/multi-frame/CT0012.fragmented_no_bot_jpeg_ls.80.dcm'],
    ['RLE', 'dicom/cornerstone-wadoloader/testImages/CTImage.dcm_RLELosslessTransferSyntax_1.2.840.10008.1.2.5.dcm'],
  ])('when a valid %s file is cut short at many offsets, then every cut fails with a DicomError', async (_, relative) => {
    const whole = new Uint8Array(fs.readFileSync(path.join(sharedDataDir, relative)));
    const cuts = [1, 64, 127, 131, 132, 140, 200, 400, 1000, 2000, 5000, ...[0.25, 0.5, 0.75, 0.9, 0.99].map((f) => Math.floor(whole.length * f)), whole.length - 1];
    for (const cut of cuts) {
      const result = await outcome(whole.slice(0, cut));
      expect(result, `cut at ${cut} of ${whole.length}`).not.toBe('ok');
    }
  });

  it('when bytes inside a valid file are flipped, then the outcome is still success or a DicomError', async () => {
    const whole = new Uint8Array(fs.readFileSync(path.join(sharedDataDir, 'dicom/pydicom-testfiles/test_files/MR_small.dcm')));
    for (let seed = 0; seed < 40; seed++) {
      const corrupted = whole.slice();
      const noise = pseudoRandomBytes(8, seed + 100);
      for (let k = 0; k < 4; k++) corrupted[(noise[k] * 997 + seed * 31) % 2000 + 128] = noise[k + 4];
      await outcome(corrupted);
    }
  });
});
