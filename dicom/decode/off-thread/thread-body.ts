import { parentPort } from 'node:worker_threads';
import { DicomError } from '../../errors.ts';
import { parseDicom, requirePixelData } from '../../parse.ts';
import { decodeFrame } from '../index.ts';
import type { DecodeReply, DecodeRequest } from './protocol.ts';

parentPort!.on('message', async ({ id, bytes, frameIndex, options }: DecodeRequest) => {
  let reply: DecodeReply;
  try {
    const instance = parseDicom(new Uint8Array(bytes));
    requirePixelData(instance);
    const frame = await decodeFrame(instance, frameIndex, options);
    reply = { id, frame };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    reply = { id, error: { name: e.name, message: e.message, code: e instanceof DicomError ? e.code : undefined } };
  }
  parentPort!.postMessage(reply, reply.frame ? [reply.frame.pixels.buffer as ArrayBuffer] : []);
});
parentPort!.postMessage({ ready: true });
