/**
 * Typed errors for everything under dicom/. The class decides what the caller does next
 * (reject at ingest, show a visible failure, mark a job failed); `code` is the
 * machine-readable reason that goes into API responses and job records.
 */

export interface DicomErrorOptions {
  /** Overrides the class's default code when a more precise reason is known. */
  code?: string;
  /** The original throw, which from dicom-parser is often a plain string or object. */
  cause?: unknown;
}

export class DicomError extends Error {
  readonly code: string;

  constructor(message: string, defaultCode: string, options: DicomErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? defaultCode;
  }
}

/** Not DICOM, truncated, malformed, missing required UIDs or pixel data: reject, never retry. */
export class InvalidDicomError extends DicomError {
  constructor(message: string, options?: DicomErrorOptions) {
    super(message, 'INVALID_DICOM', options);
  }
}

/** A valid file whose pixel encoding we cannot decode. */
export class UnsupportedTransferSyntaxError extends DicomError {
  constructor(message: string, options?: DicomErrorOptions) {
    super(message, 'UNSUPPORTED_TRANSFER_SYNTAX', options);
  }
}

/** The codec failed on the bytes it was given. */
export class PixelDecodeError extends DicomError {
  constructor(message: string, options?: DicomErrorOptions) {
    super(message, 'PIXEL_DECODE_FAILED', options);
  }
}

/** dicom-parser throws strings and `{ exception, dataSet }` objects; this recovers a readable reason. */
export function describeThrown(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message;
  if (typeof thrown === 'string') return thrown;
  if (thrown && typeof thrown === 'object' && 'exception' in thrown) {
    return describeThrown((thrown as { exception: unknown }).exception);
  }
  return String(thrown);
}

/**
 * The object breaks one of the bounds Lantern parses within (element count, nesting, value
 * length, inflated size, decoded pixels, time): refused like any invalid input, and the code
 * and message name the bound (`limit` is its setting) so a sender knows what to change.
 */
export class DicomLimitError extends InvalidDicomError {
  constructor(message: string, readonly limit: string, options: DicomErrorOptions & { code: string }) {
    super(message, options);
  }
}
