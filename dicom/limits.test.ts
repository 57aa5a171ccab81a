/**
 * One hostile object costs bounded time and memory and ends in a refusal that names the
 * limit it broke. Limits are scaled down so the files stay small enough for CI; the
 * defaults are checked to admit every real file in ../shared/data (bad-input.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { DicomLimitError, InvalidDicomError } from './errors.ts';
import { corruptedLength, deepNesting, deflateBomb, manyElements, rleBomb, validCr } from './hostile-files.ts';
import { DEFAULT_DICOM_LIMITS, dicomLimits } from './limits.ts';
import { parseDicom } from './parse.ts';

const root = '1.2.826.0.1.3680043.10.999';

function refusal(bytes: Uint8Array, limits = DEFAULT_DICOM_LIMITS): InvalidDicomError {
  try {
    parseDicom(bytes, limits);
  } catch (error) {
    if (error instanceof InvalidDicomError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('parse limits', () => {
  it('when a small valid CR is parsed within tight limits, then it is accepted', () => {
    const instance = parseDicom(validCr(root), dicomLimits({ maxElements: 30, maxDepth: 1, maxValueBytes: 1024 }));
    expect(instance.meta.image).toMatchObject({ rows: 16, columns: 16 });
  });

  it('when an object has more elements than allowed, then it is refused as DICOM_TOO_MANY_ELEMENTS in time linear in the limit, not the file', () => {
    const file = manyElements(root, 1_000_000);
    const started = performance.now();
    const error = refusal(file, dicomLimits({ maxElements: 10_000 }));
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(DicomLimitError);
    expect(error.code).toBe('DICOM_TOO_MANY_ELEMENTS');
    expect(error.message).toContain('LANTERN_DICOM_MAX_ELEMENTS');
    // A million elements cost dicom-parser seconds; refusing at 10,000 must not.
    expect(elapsed).toBeLessThan(1000);
  });

  it('when the default element limit holds, then a million-element file is still refused before dicom-parser sees it', () => {
    expect(refusal(manyElements(root, 300_000)).code).toBe('DICOM_TOO_MANY_ELEMENTS');
  });

  it('when sequences nest deeper than allowed, then DICOM_NESTING_TOO_DEEP', () => {
    expect(refusal(deepNesting(root, 17)).code).toBe('DICOM_NESTING_TOO_DEEP');
    expect(refusal(deepNesting(root, 10_000)).code).toBe('DICOM_NESTING_TOO_DEEP');
    expect(parseDicom(deepNesting(root, 16)).meta.sopInstanceUid).toBe(`${root}.3`);
  });

  it('when a deflated data set inflates far beyond its size, then DICOM_INFLATE_RATIO, and past the absolute bound DICOM_INFLATED_TOO_LARGE', () => {
    const bomb = deflateBomb(root, 64 * 1024 * 1024);
    expect(bomb.length).toBeLessThan(256 * 1024);
    expect(refusal(bomb).code).toBe('DICOM_INFLATE_RATIO');
    expect(refusal(bomb, dicomLimits({ maxInflatedBytes: 8 * 1024 * 1024, maxInflateRatio: 1e6 })).code).toBe('DICOM_INFLATED_TOO_LARGE');
  });

  it('when a value is longer than allowed, then DICOM_VALUE_TOO_LONG', () => {
    const error = refusal(deflateBomb(root, 1024 * 1024), dicomLimits({ maxValueBytes: 64 * 1024 }));
    expect(error.code).toBe('DICOM_VALUE_TOO_LONG');
    expect(error.message).toContain('(0009,1012)');
  });

  it('when an RLE frame would decode past the frame budget, then DICOM_FRAME_TOO_LARGE before any decoder runs', () => {
    // 4608 × 4608 from about 330 KiB: 64:1, as the 16 MiB file that held a worker at 11 GB.
    const bomb = rleBomb(root, 4608, 4608);
    expect(refusal(bomb, dicomLimits({ maxDecodedFrameBytes: 4 * 1024 * 1024 })).code).toBe('DICOM_FRAME_TOO_LARGE');
    expect(refusal(bomb, dicomLimits({ maxDecompressionRatio: 32 })).code).toBe('DICOM_DECOMPRESSION_RATIO');
    expect(parseDicom(bomb).meta.image?.rows).toBe(4608);
  });

  it('when a length field is corrupted, then the object is refused as truncated, never an untyped error', () => {
    for (const declared of [0xfffffff0, 0x7fffffff, 1 << 20, 65, 0xffffffff]) {
      const error = refusal(corruptedLength(root, declared));
      expect(error.code, `declared ${declared}`).toMatch(/TRUNCATED_DICOM|INVALID_DICOM/);
    }
  });

  it('when parsing outlasts its deadline, then DICOM_PARSE_DEADLINE', () => {
    expect(refusal(manyElements(root, 200_000), dicomLimits({ parseDeadlineMs: 0 })).code).toBe('DICOM_PARSE_DEADLINE');
  });
});
