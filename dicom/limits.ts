import { DicomLimitError } from './errors.ts';

/**
 * The bounds a DICOM object is parsed within. One hostile file (20 million elements, a
 * deflate bomb, an RLE frame that expands 64:1) must cost bounded time and memory and end
 * in a typed refusal, never a stalled or exhausted process. Each bound has a setting in
 * config.ts (named in `LIMIT_SETTINGS`) and defaults wide enough for real studies:
 * an enhanced multi-frame MR of 3,000 frames has about 100,000 elements.
 */
export interface DicomLimits {
  /** Elements in the whole object, nested ones included. */
  maxElements: number;
  /** Sequences inside sequences. */
  maxDepth: number;
  /** Bytes of any one value except Pixel Data (whose bound is the decoded frame's). */
  maxValueBytes: number;
  /** Bytes a deflated data set may inflate to. */
  maxInflatedBytes: number;
  /** Inflated/deflated ratio, applied once the output passes `RATIO_FLOOR_BYTES`. */
  maxInflateRatio: number;
  /** Bytes of one decoded frame (rows × columns × samples × bytes per sample). */
  maxDecodedFrameBytes: number;
  /** Decoded/encapsulated ratio of the Pixel Data, applied once the decoded pixels pass `RATIO_FLOOR_BYTES`. */
  maxDecompressionRatio: number;
  /** Milliseconds one parse may take; off-thread the thread is stopped at this deadline. */
  parseDeadlineMs: number;
}

export const DEFAULT_DICOM_LIMITS: Readonly<DicomLimits> = Object.freeze({
  maxElements: 250_000,
  maxDepth: 16,
  maxValueBytes: 64 * 1024 * 1024,
  maxInflatedBytes: 512 * 1024 * 1024,
  maxInflateRatio: 200,
  maxDecodedFrameBytes: 256 * 1024 * 1024,
  maxDecompressionRatio: 200,
  parseDeadlineMs: 10_000,
});

/** Below this many bytes out, any ratio is cheap: a tiny blank image compresses 1000:1 legitimately. */
export const RATIO_FLOOR_BYTES = 16 * 1024 * 1024;

/** The environment variable that sets each bound (config.ts reads them). */
export const LIMIT_SETTINGS: Readonly<Record<keyof DicomLimits, string>> = Object.freeze({
  maxElements: 'LANTERN_DICOM_MAX_ELEMENTS',
  maxDepth: 'LANTERN_DICOM_MAX_DEPTH',
  maxValueBytes: 'LANTERN_DICOM_MAX_VALUE_BYTES',
  maxInflatedBytes: 'LANTERN_DICOM_MAX_INFLATED_BYTES',
  maxInflateRatio: 'LANTERN_DICOM_MAX_INFLATE_RATIO',
  maxDecodedFrameBytes: 'LANTERN_DICOM_MAX_FRAME_BYTES',
  maxDecompressionRatio: 'LANTERN_DICOM_MAX_DECOMPRESSION_RATIO',
  parseDeadlineMs: 'LANTERN_DICOM_PARSE_DEADLINE_MS',
});

const CODES: Readonly<Record<keyof DicomLimits, string>> = {
  maxElements: 'DICOM_TOO_MANY_ELEMENTS',
  maxDepth: 'DICOM_NESTING_TOO_DEEP',
  maxValueBytes: 'DICOM_VALUE_TOO_LONG',
  maxInflatedBytes: 'DICOM_INFLATED_TOO_LARGE',
  maxInflateRatio: 'DICOM_INFLATE_RATIO',
  maxDecodedFrameBytes: 'DICOM_FRAME_TOO_LARGE',
  maxDecompressionRatio: 'DICOM_DECOMPRESSION_RATIO',
  parseDeadlineMs: 'DICOM_PARSE_DEADLINE',
};

/** The refusal for breaking `limit`: its code, what was found, the bound and its setting. */
export function overLimit(limit: keyof DicomLimits, limits: DicomLimits, found: string): DicomLimitError {
  return new DicomLimitError(
    `DICOM over a limit: ${found}; the limit is ${limits[limit]} (${LIMIT_SETTINGS[limit]})`,
    LIMIT_SETTINGS[limit],
    { code: CODES[limit] },
  );
}

/** Any bound left out is the default's. */
export function dicomLimits(partial: Partial<DicomLimits> = {}): DicomLimits {
  return { ...DEFAULT_DICOM_LIMITS, ...partial };
}
