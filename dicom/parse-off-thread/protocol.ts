import type { DicomLimits } from '../limits.ts';
import type { ParsedInstance } from '../parse.ts';

export interface ParseRequest {
  id: number;
  /** The whole object; transferred there and back, never copied. */
  bytes: ArrayBuffer;
  limits: DicomLimits;
}

export type ParseReply =
  | { id: number; bytes: ArrayBuffer; parsed: Omit<ParsedInstance, 'bytes'>; error?: undefined }
  | { id: number; bytes: ArrayBuffer; parsed?: undefined; error: { name: string; message: string; code?: string; limit?: string } };
