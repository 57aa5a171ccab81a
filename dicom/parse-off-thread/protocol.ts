import type { InstanceDicomJson } from '../dicom-json.ts';
import type { DicomLimits } from '../limits.ts';
import type { ParsedInstance } from '../parse.ts';

export interface ParseRequest {
  id: number;
  /** The whole object; transferred there and back, never copied. */
  bytes: ArrayBuffer;
  limits: DicomLimits;
}

/** What a parse found before its DICOM JSON is read: sent as soon as the object is known to be valid. */
export type ParsedAttributes = Omit<ParsedInstance, 'bytes' | 'dicomJson'>;

/**
 * A parse is answered in two messages: `parsed` when the object has been parsed and validated
 * (a refusal has no such message), then the end — its DICOM JSON and the bytes, or the refusal.
 */
export type ParseReply =
  | { id: number; parsed: ParsedAttributes; end?: undefined }
  | { id: number; end: true; bytes: ArrayBuffer; dicomJson: InstanceDicomJson | null; error?: undefined }
  | { id: number; end: true; bytes: ArrayBuffer; dicomJson?: undefined; error: { name: string; message: string; code?: string; limit?: string } };
