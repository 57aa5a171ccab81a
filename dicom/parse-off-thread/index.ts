import { Worker } from 'node:worker_threads';
import { DicomError, DicomLimitError, InvalidDicomError } from '../errors.ts';
import { LIMIT_SETTINGS, overLimit, type DicomLimits } from '../limits.ts';
import type { ParsedInstance } from '../parse.ts';
import type { ParsedAttributes, ParseReply, ParseRequest } from './protocol.ts';

export type { ParsedAttributes } from './protocol.ts';

export interface OffThreadParser {
  /**
   * Parses and validates `bytes` on the parsing thread, within the parser's limits; the bytes come back in the answer.
   * `onParsed` is called with the attributes as soon as the object is found valid, before its DICOM JSON
   * has been read (the answer then still follows: with it, or with a refusal such as the deadline's).
   */
  parse(bytes: Uint8Array, options?: { onParsed?: (parsed: ParsedAttributes) => void }): Promise<ParsedInstance>;
  close(): Promise<void>;
}

export interface OffThreadParserOptions {
  limits: DicomLimits;
  /** Heap of the parsing thread; a parse that needs more ends the thread, not the process. Default 1024 MiB. */
  maxHeapMb?: number;
}

/**
 * Parses uploads on one worker thread, so a hostile object never holds the API's event loop
 * (20 million elements once held it for 21 minutes: health dead, signals ignored). Parses run
 * one at a time, each against the deadline in `limits.parseDeadlineMs`: a parse still running
 * then has its thread stopped (the next parse starts a fresh one) and is refused as
 * DICOM_PARSE_DEADLINE. The thread's heap is capped, so running out ends it alone.
 * The thread starts on first use and does not keep the process alive.
 */
export function createOffThreadParser(options: OffThreadParserOptions): OffThreadParser {
  const { limits } = options;
  let thread: { worker: Worker; ready: Promise<void> } | undefined;
  let waiter: Waiter | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  let nextId = 1;
  let closed = false;

  const start = () => {
    const worker = new Worker(new URL('./thread.mjs', import.meta.url), { resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb ?? 1024 } });
    const ready = new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    worker.on('message', (reply: ParseReply | { ready: true }) => {
      if (!('id' in reply) || reply.id !== waiter?.id) return;
      if (!reply.end) {
        waiter.parsed = reply.parsed;
        // The caller's own work: its failure must not stop the parse's answer.
        try { waiter.onParsed?.(reply.parsed); } catch { /* the caller sees its own error when it awaits its work */ }
        return;
      }
      const current = waiter;
      waiter = undefined;
      current.resolve(reply);
    });
    const fail = (error: Error) => {
      if (thread?.worker === worker) thread = undefined;
      const current = waiter;
      waiter = undefined;
      current?.reject(new InvalidDicomError(`the object could not be parsed: the parsing thread stopped (${error.message})`, { code: 'DICOM_PARSE_FAILED' }));
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    worker.unref();
    return { worker, ready };
  };

  const parseOne = async (bytes: Uint8Array, onParsed?: (parsed: ParsedAttributes) => void): Promise<ParsedInstance> => {
    if (closed) throw new Error('the DICOM parser is closed');
    thread ??= start();
    const { worker, ready } = thread;
    await ready;
    const id = nextId++;
    // The thread gets its own buffer: the caller's bytes may be a view into a larger one (copied with
    // Uint8Array's slice: a Buffer's slice is a view, whose .buffer is the whole larger one).
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
      ? bytes.buffer : Uint8Array.prototype.slice.call(bytes).buffer as ArrayBuffer;
    let current: Waiter | undefined;
    const reply = await new Promise<ParseEnd>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (waiter?.id !== id) return;
        waiter = undefined;
        if (thread?.worker === worker) thread = undefined;
        void worker.terminate();
        reject(overLimit('parseDeadlineMs', limits, `parsing took longer than ${limits.parseDeadlineMs} ms`));
      }, limits.parseDeadlineMs);
      waiter = current = {
        id,
        onParsed,
        resolve: (r) => { clearTimeout(timer); resolve(r); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
      worker.postMessage({ id, bytes: own, limits } satisfies ParseRequest, [own]);
    });
    if (reply.error) throw rebuild(reply.error);
    return { ...current!.parsed!, dicomJson: reply.dicomJson, bytes: new Uint8Array(reply.bytes) };
  };

  return {
    parse(bytes, options) {
      const result = queue.then(() => parseOne(bytes, options?.onParsed));
      queue = result.catch(() => undefined);
      return result;
    },
    async close() {
      closed = true;
      const current = thread;
      thread = undefined;
      await current?.worker.terminate();
    },
  };
}

type ParseEnd = Extract<ParseReply, { end: true }>;

/** The parse being answered: its id, the attributes once said, and where its end goes. */
interface Waiter {
  id: number;
  onParsed?: (parsed: ParsedAttributes) => void;
  parsed?: ParsedAttributes;
  resolve: (reply: ParseEnd) => void;
  reject: (error: Error) => void;
}

/** The thread's refusal rebuilt as the same typed error, so callers map it as if thrown here. */
function rebuild(error: { name: string; message: string; code?: string; limit?: string }): Error {
  if (error.name === 'DicomLimitError' && error.code) {
    return new DicomLimitError(error.message, error.limit ?? LIMIT_SETTINGS.parseDeadlineMs, { code: error.code });
  }
  if (error.name === 'InvalidDicomError') return new InvalidDicomError(error.message, { code: error.code });
  if (error.code) return new DicomError(error.message, error.code);
  const rebuilt = new Error(error.message);
  rebuilt.name = error.name;
  return rebuilt;
}
