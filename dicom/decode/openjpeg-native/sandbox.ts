import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Debian's bubblewrap (package `bubblewrap`): unprivileged Linux namespaces, as Flatpak uses. */
export const BWRAP = '/usr/bin/bwrap';

export interface SandboxOptions {
  /** Folders replaced by empty ones inside (made first if missing): where patient data and keys live (the data folder, the blob store). */
  hidden: readonly string[];
  /** bubblewrap's path (tests name one that is not there). */
  bwrap?: string;
}

/**
 * Forks `module` (plain JavaScript, no loader) inside a sandbox, speaking the usual IPC channel.
 * Native code that a hostile input takes over (libopenjp2 has had its CVEs) then finds:
 * - the file system read-only, and the `hidden` folders empty;
 * - no network: a network namespace of its own, so not even this machine's Redis or database;
 * - no other process (a PID namespace of its own), no capabilities, a session of its own;
 * - an environment with nothing but PATH (no database or Redis URL, no key file path).
 * It can still read the machine's programs and answer its caller: what a decoder needs.
 * `--die-with-parent`: it ends with the process that started it. Undefined when bubblewrap is not
 * installed; the caller then does not run the native code at all.
 */
export function forkSandboxed(module: string, args: readonly string[], options: SandboxOptions): ChildProcess | undefined {
  const bwrap = options.bwrap ?? BWRAP;
  if (!fs.existsSync(bwrap)) return undefined;
  // An empty folder can only be laid over one that exists (the root is read-only inside), so a folder
  // not made yet (a blob store before its first upload) is made now; never over the root itself.
  const hidden = [...new Set(options.hidden.map((dir) => path.resolve(dir)))].filter((dir) => dir !== '/');
  for (const dir of hidden) fs.mkdirSync(dir, { recursive: true });
  const sandbox = [
    '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc',
    ...hidden.flatMap((dir) => ['--tmpfs', dir]),
    '--unshare-all', '--die-with-parent', '--new-session', '--cap-drop', 'ALL',
    process.execPath,
  ];
  return fork(module, [...args], {
    execPath: bwrap, execArgv: sandbox,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
}
