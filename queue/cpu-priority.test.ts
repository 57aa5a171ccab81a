import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../config.ts';

/** The nice value of every thread of `pid` (field 19 of /proc/<pid>/task/<tid>/stat). */
function threadNiceValues(pid: number): number[] {
  const taskDir = `/proc/${pid}/task`;
  return fs.readdirSync(taskDir).flatMap((tid) => {
    try {
      const stat = fs.readFileSync(path.join(taskDir, tid, 'stat'), 'utf8');
      // The command name may hold spaces; the fields after its closing parenthesis do not.
      return [Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])];
    } catch {
      return [];
    }
  });
}

describe.runIf(fs.existsSync('/proc/self/task'))('lowerCpuPriority', () => {
  it('when a process lowers its priority, then every thread it has, and one it starts afterwards, runs at that nice value', async () => {
    const module = path.join(repoRoot, 'queue', 'cpu-priority.ts');
    // A real process: the test runner must keep its own priority.
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
      const { lowerCpuPriority } = await import(${JSON.stringify(module)});
      const { Worker } = await import('node:worker_threads');
      lowerCpuPriority(7);
      new Worker('setInterval(() => {}, 1000)', { eval: true }).on('online', () => console.log('ready'));
      setInterval(() => {}, 1000);
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (chunk) => String(chunk).includes('ready') && resolve());
        child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
      });
      const values = threadNiceValues(child.pid!);
      expect(values.length).toBeGreaterThan(5);
      expect(new Set(values)).toEqual(new Set([7]));
      expect(threadNiceValues(process.pid)).not.toContain(7);
    } finally {
      child.kill();
    }
  });
});
