/**
 * The CPU processes have used so far, read from /proc (user + system, 10 ms ticks), for figures that
 * divide it by the work done: the bench's in-process reference (its JPEG 2000 sidecar included), the
 * pool's split between workers and serving side, and the hot-path tools' per-process split of a stack.
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

/**
 * Every process under `pid`, children first: a JPEG 2000 sidecar runs two levels down, inside
 * bubblewrap's sandbox (bwrap, its init, then the sidecar: dicom/decode/openjpeg-native/sandbox.ts).
 */
export function descendantsOf(pid: number): number[] {
  return childrenOf(pid).flatMap((child) => [child.pid, ...descendantsOf(child.pid)]);
}

/**
 * The processes of a running `lantern start`: the API role (`api`) and the children it forks, named
 * by their role (`db`, `worker`, `worker#2`, …, a redis-server it runs as `redis`, any other by its
 * command), the processes under a worker (its sandboxed JPEG 2000 sidecar) as `worker/sidecar`, `worker/sidecar#2`, …; and the redis-server listening on
 * `redisPort` (a test stack's, which the test process runs) as `redis`.
 */
export function stackProcesses(apiPid: number, redisPort?: number): Record<string, number> {
  const found: Record<string, number> = { api: apiPid };
  for (const { pid, args } of childrenOf(apiPid)) {
    const role = args[0]?.includes('redis-server') ? 'redis' : args.find((a) => a === 'db' || a === 'worker') ?? args.join(' ').slice(0, 30);
    let name = role;
    for (let k = 2; found[name]; k++) name = `${role}#${k}`;
    found[name] = pid;
    // What a worker runs under it (its sandboxed JPEG 2000 sidecar: dicom/decode/openjpeg-native) counts as its CPU too.
    for (const [k, sidecar] of descendantsOf(pid).entries()) found[`${name}/sidecar${k === 0 ? '' : `#${k + 1}`}`] = sidecar;
  }
  if (redisPort !== undefined && !found.redis) {
    const [pid] = spawnSync('pgrep', ['-f', `redis-server .*:${redisPort}`]).stdout.toString().trim().split('\n');
    if (pid) found.redis = Number(pid);
  }
  return found;
}

/** CPU per study of a stack, in the groups a pool figure is read by: the workers (sidecars included) and the serving side. */
export interface StackCpuPerStudy {
  workers: number;
  api: number;
  database: number;
  redis: number;
}

/** What each group of `processes` used between the readings `before` and `after`, per study. */
export function cpuPerStudy(before: Record<string, number>, after: Record<string, number>, studies: number): StackCpuPerStudy {
  const groupOf = (name: string): keyof StackCpuPerStudy => (name.startsWith('worker') ? 'workers' : name.startsWith('db') ? 'database' : name === 'redis' ? 'redis' : 'api');
  const split: StackCpuPerStudy = { workers: 0, api: 0, database: 0, redis: 0 };
  for (const name of Object.keys(before)) split[groupOf(name)] += (after[name] - before[name]) / studies;
  return Object.fromEntries(Object.entries(split).map(([k, v]) => [k, Math.round(v * 10) / 10])) as unknown as StackCpuPerStudy;
}
