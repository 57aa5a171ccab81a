import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * dcmtk's command-line peers (Debian's `dcmtk`): echoscu, storescu, findscu as a modality or
 * PACS would call Lantern's SCP, and storescp receiving what Lantern pushes. Always run
 * asynchronously: the SCP under test may share this process's event loop.
 */

export interface ToolRun {
  code: number;
  /** stdout and stderr together: dcmtk logs its answers on stderr. */
  output: string;
}

export function dcmtk(tool: string, args: string[], timeoutMs = 60_000): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(tool, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface Storescp {
  port: number;
  aeTitle: string;
  /** Where it writes each received object, bit-preserving (`-B`: the data set as it came off the network). */
  dir: string;
  received(): string[];
  stop(): Promise<void>;
}

/** dcmtk's storescp in bit-preserving mode; `acceptAll` accepts every syntax it knows (else uncompressed only, its default). */
export async function startStorescp(dir: string, options: { aeTitle?: string; acceptAll?: boolean } = {}): Promise<Storescp> {
  fs.mkdirSync(dir, { recursive: true });
  const aeTitle = options.aeTitle ?? 'STORESCP';
  const port = await freePort();
  const child: ChildProcess = spawn('storescp', [...(options.acceptAll ? ['+xa'] : []), '-B', '-od', dir, '-aet', aeTitle, String(port)], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // Listening once echoscu is answered.
  for (let i = 0; i < 100; i++) {
    if ((await dcmtk('echoscu', ['-aec', aeTitle, '127.0.0.1', String(port)], 5_000)).code === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    aeTitle,
    dir,
    received: () => fs.readdirSync(dir).map((name) => path.join(dir, name)),
    async stop() {
      child.kill();
      await exited;
    },
  };
}
