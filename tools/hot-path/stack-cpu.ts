/**
 * The processes of a running `lantern start` (the API role and the children it forks, named by
 * their role: `db`, `worker`, `worker#2`, … plus any other child by its command, and a worker's
 * sidecar as `worker/sidecar`) and the CPU
 * each has used so far, in ms (/proc/<pid>/stat user + system, 10 ms ticks), for the hot-path
 * tools that divide it by the studies they sent.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

const TICK_MS = 10;

export function stackProcesses(apiPid: number): Record<string, number> {
  const found: Record<string, number> = { api: apiPid };
  const childrenOf = (pid: number) => {
    const listed = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)]).stdout.toString().trim();
    return listed ? listed.split('\n').map((line) => line.trim().split(/\s+/)) : [];
  };
  for (const [pid, ...args] of childrenOf(apiPid)) {
    const role = args.find((a) => a === 'db' || a === 'worker') ?? args.join(' ').slice(0, 30);
    let name = role;
    for (let k = 2; found[name]; k++) name = `${role}#${k}`;
    found[name] = Number(pid);
    // A worker's own children (its JPEG 2000 sidecar: dicom/decode/openjpeg-native) count as its CPU too.
    for (const [sidecarPid] of childrenOf(Number(pid))) found[`${name}/sidecar`] = Number(sidecarPid);
  }
  return found;
}

/** CPU ms used so far by each of `processes` (0 for one that has gone). */
export function cpuMs(processes: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(processes).map(([role, pid]) => {
    try {
      const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return [role, (Number(fields[11]) + Number(fields[12])) * TICK_MS];
    } catch {
      return [role, 0];
    }
  }));
}
