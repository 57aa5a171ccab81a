import type { DecodedFrame, DecodeOptions } from '../index.ts';

export interface DecodeRequest {
  id: number;
  /** The whole Part-10 file; transferred, not copied. */
  bytes: ArrayBuffer;
  frameIndex: number;
  options: DecodeOptions;
}

export type DecodeReply =
  | { id: number; frame: DecodedFrame; error?: undefined }
  | { id: number; frame?: undefined; error: { name: string; message: string; code?: string } };
