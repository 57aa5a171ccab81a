/**
 * The CPU processes have used so far, read from /proc (user + system, 10 ms ticks), for figures that
 * divide it by the work done: the bench's in-process reference (its JPEG 2000 sidecar included) and
 * the hot-path tools' per-process split of a running stack (tools/hot-path/stack-cpu.ts).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

const TICK_MS = 10;

/** CPU ms process `pid` has used so far (0 once it has gone). */
export function cpuMsOf(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

/** CPU ms used so far by each of `processes`. */
export function cpuMs(processes: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(processes).map(([role, pid]) => [role, cpuMsOf(pid)]));
}

/** The pids and commands of `pid`'s children as `ps` lists them now. */
export function childrenOf(pid: number): { pid: number; args: string[] }[] {
  const listed = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)]).stdout.toString().trim();
  return listed ? listed.split('\n').map((line) => {
    const [child, ...args] = line.trim().split(/\s+/);
    return { pid: Number(child), args };
  }) : [];
}
