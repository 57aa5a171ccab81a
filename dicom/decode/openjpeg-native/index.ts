import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { logger } from '../../../log.ts';
import { PixelDecodeError } from '../../errors.ts';
import { forkSandboxed, type SandboxOptions } from './sandbox.ts';

/** A decoded codestream as the sidecar answers it (./sidecar.mjs): little-endian, interleaved, 1 or 2 bytes a sample. */
export interface NativeSamples {
  width: number;
  height: number;
  components: number;
  precision: number;
  signed: boolean;
  samples: Uint8Array;
}

export interface NativeOpenJpeg {
  /** Starts the sidecar now rather than at the first decode; resolves whether native decoding is available. */
  start(): Promise<boolean>;
  /**
   * The codestream at resolution level `level`; undefined when the native library cannot answer it
   * (the caller decodes it itself). Rejects with PixelDecodeError `DECODE_TIMEOUT` past the deadline.
   */
  decode(codestream: Uint8Array, level: number): Promise<NativeSamples | undefined>;
  close(): void;
}

/** `answer`, with the sidecar's channel keeping this process alive until it settles. */
function held<T>(child: ChildProcess, answer: Promise<T>): Promise<T> {
  child.channel?.ref();
  return answer.finally(() => child.channel?.unref());
}

/**
 * A decode not answered by then ends the sidecar and fails, typed: the WebAssembly build of the
 * same library would most likely run the same loop, on the caller's thread and with no deadline,
 * and a worker stuck there holds its job until BullMQ hands it to the next worker, which sticks too.
 * RG1 at full resolution decodes in ~0.3 s: the deadline is ~60 times that.
 */
const DECODE_DEADLINE_MS = 20_000;

type Answer = NativeSamples & { id: number; error?: undefined } | { id: number; error: string };

/**
 * JPEG 2000 decoded by the machine's OpenJPEG (Debian's libopenjp2, the bench's native
 * reference) in a sidecar process: RG1 at the adult model's level in ~17 ms, where the
 * WebAssembly build of the same library takes ~29 ms, with the same pixels (the tests compare
 * them) — on the path a lone study waits on. Native code has no WebAssembly VM around it, so the
 * sidecar runs only in a sandbox (./sandbox.ts: read-only, no network, the patient-data folders
 * `hidden`); without bubblewrap it is not run, and JPEG 2000 is decoded in WebAssembly. A
 * codestream that crashes the library ends the sidecar, not its caller, and every decode it
 * cannot answer (no sandbox, the library or koffi missing, a refusal, a crash) resolves undefined,
 * so the caller decodes it with the WebAssembly build, whose result or typed error is then the
 * answer. One not answered within `deadlineMs` (DECODE_DEADLINE_MS) ends the sidecar and fails
 * with a typed error instead. One decode at a time, in order; the sidecar starts on first use and
 * again after a crash; if it cannot start (no sandbox, no libopenjp2, a sandbox that ends before
 * its first word), it is not tried again in this process.
 */
export function createNativeOpenJpeg(options: { library?: string; threads?: number; deadlineMs?: number; sandbox?: SandboxOptions } = {}): NativeOpenJpeg {
  const deadlineMs = options.deadlineMs ?? DECODE_DEADLINE_MS;
  let sidecar: { child: ChildProcess; ready: Promise<boolean> } | undefined;
  let unavailable = false;
  let closed = false;
  let queue: Promise<unknown> = Promise.resolve();
  let nextId = 1;
  const waiting = new Map<number, (answer: Answer | undefined) => void>();

  const notAvailable = (reason: string) => {
    unavailable = true;
    logger.warn({ reason }, 'native OpenJPEG is not available: JPEG 2000 is decoded with its WebAssembly build');
  };

  const start = (): { child: ChildProcess; ready: Promise<boolean> } | undefined => {
    // A bare Node process: no TypeScript loader or preload of the parent's, no environment but PATH (sandbox.ts).
    const child = forkSandboxed(fileURLToPath(new URL('./sidecar.mjs', import.meta.url)), [options.library ?? 'libopenjp2.so.7', String(options.threads ?? 1)],
      options.sandbox ?? { hidden: [] });
    if (!child) {
      notAvailable('bubblewrap (/usr/bin/bwrap, Debian package bubblewrap) is not installed, and the native decoder runs only in its sandbox');
      return undefined;
    }
    const ready = new Promise<boolean>((resolve) => {
      let spoke = false;
      child.once('message', (hello: { ready: boolean; error?: string }) => {
        spoke = true;
        if (!hello.ready) notAvailable(hello.error ?? 'the sidecar refused to start');
        resolve(hello.ready);
      });
      // Ended before its first word: the sandbox cannot be made here (bubblewrap says why on stderr). A later end is a decode's crash.
      child.once('exit', (code, signal) => {
        if (!spoke && !closed) notAvailable(`the sandboxed sidecar ended before it started (${signal ?? `exit code ${code}`})`);
        resolve(false);
      });
    });
    child.on('message', (answer: Answer | { ready: boolean }) => {
      if (!('id' in answer)) return;
      waiting.get(answer.id)?.(answer);
      waiting.delete(answer.id);
    });
    child.on('exit', (code, signal) => {
      if (sidecar?.child === child) sidecar = undefined;
      if (waiting.size > 0) logger.warn({ code, signal }, 'the native OpenJPEG sidecar stopped during a decode: that codestream is decoded in WebAssembly');
      for (const settle of waiting.values()) settle(undefined);
      waiting.clear();
    });
    // Idle, the sidecar keeps no process alive; while it is asked something, its channel does (held).
    child.unref();
    child.channel?.unref();
    return { child, ready: held(child, ready) };
  };

  const decodeNow = async (codestream: Uint8Array, level: number): Promise<NativeSamples | undefined> => {
    if (unavailable || closed) return undefined;
    sidecar ??= start();
    if (!sidecar) return undefined;
    const { child, ready } = sidecar;
    if (!await ready) return undefined;
    const id = nextId++;
    const answer = await held(child, new Promise<Answer | undefined>((resolve, reject) => {
      const deadline = setTimeout(() => {
        waiting.delete(id);
        logger.warn({ ms: deadlineMs }, 'native OpenJPEG did not answer in time: the sidecar is stopped and the decode fails');
        // The next decode starts a sidecar of its own rather than meet this one on its way out.
        if (sidecar?.child === child) sidecar = undefined;
        child.kill('SIGKILL');
        reject(new PixelDecodeError(`OpenJPEG did not decode the JPEG 2000 codestream within ${deadlineMs / 1000} s`, { code: 'DECODE_TIMEOUT' }));
      }, deadlineMs);
      deadline.unref();
      const settle = (settled: Answer | undefined) => {
        clearTimeout(deadline);
        waiting.delete(id);
        resolve(settled);
      };
      waiting.set(id, settle);
      child.send({ id, codestream, level }, (error) => {
        if (error) settle(undefined);
      });
    }));
    return answer && answer.error === undefined ? answer : undefined;
  };

  return {
    async start() {
      if (unavailable || closed) return false;
      sidecar ??= start();
      return sidecar?.ready ?? false;
    },
    decode(codestream, level) {
      const result = queue.then(() => decodeNow(codestream, level));
      queue = result.catch(() => undefined);
      return result;
    },
    close() {
      closed = true;
      sidecar?.child.kill();
      sidecar = undefined;
    },
  };
}
