import { Worker } from 'node:worker_threads';
import { DicomError, InvalidDicomError, PixelDecodeError, UnsupportedTransferSyntaxError } from '../../errors.ts';
import type { DecodedFrame, DecodeOptions } from '../index.ts';
import type { DecodeReply, DecodeRequest } from './protocol.ts';

/** The typed errors a thread can report, rebuilt by name so callers map them as if thrown here. */
const dicomErrors: Record<string, new (message: string, options?: { code?: string }) => DicomError> = {
  InvalidDicomError,
  UnsupportedTransferSyntaxError,
  PixelDecodeError,
};

export interface OffThreadDecoder {
  /** Parses `bytes` (a Part-10 file) and decodes frame `frameIndex` (from 0) on the decoding thread, as decodeFrame with `options`. */
  decode(bytes: Uint8Array, frameIndex: number, options?: DecodeOptions): Promise<DecodedFrame>;
  close(): Promise<void>;
}

/**
 * Decodes frames on one worker thread, so a large JPEG 2000 (a quarter of a second of
 * WebAssembly) never blocks the API's event loop. Requests queue on the thread in
 * order. The thread starts on first use; if it dies (a codec abort), the requests it
 * held fail and the next request starts a fresh one.
 */
export function createOffThreadDecoder(): OffThreadDecoder {
  let thread: { worker: Worker; ready: Promise<void> } | undefined;
  const pending = new Map<number, { resolve: (frame: DecodedFrame) => void; reject: (error: Error) => void }>();
  let nextId = 1;

  const start = () => {
    const worker = new Worker(new URL('./thread.mjs', import.meta.url));
    const ready = new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    worker.on('message', (reply: DecodeReply | { ready: true }) => {
      if (!('id' in reply)) return;
      const waiter = pending.get(reply.id);
      pending.delete(reply.id);
      if (reply.frame) waiter?.resolve(reply.frame);
      else waiter?.reject(rebuild(reply.error!));
    });
    const fail = (error: Error) => {
      if (thread?.worker === worker) thread = undefined;
      for (const waiter of pending.values()) waiter.reject(new PixelDecodeError(`the decoding thread stopped: ${error.message}`));
      pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    worker.unref();
    return { worker, ready };
  };

  return {
    async decode(bytes, frameIndex, options = {}) {
      thread ??= start();
      const { worker, ready } = thread;
      await ready;
      const id = nextId++;
      // A private copy is transferred: the caller's bytes may be a view into a shared buffer.
      // Uint8Array's slice, not Buffer's (a Buffer's slice is a view: its .buffer is the whole shared memory).
      const copy = Uint8Array.prototype.slice.call(bytes).buffer as ArrayBuffer;
      return new Promise<DecodedFrame>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, bytes: copy, frameIndex, options } satisfies DecodeRequest, [copy]);
      });
    },
    async close() {
      const current = thread;
      thread = undefined;
      await current?.worker.terminate();
    },
  };
}

function rebuild(error: { name: string; message: string; code?: string }): Error {
  const Type = dicomErrors[error.name];
  if (Type) return new Type(error.message, { code: error.code });
  const rebuilt = new Error(error.message);
  rebuilt.name = error.name;
  return rebuilt;
}
