/**
 * The processes of a running `lantern start` (the API role and the children it forks, named by
 * their role: `db`, `worker`, `worker#2`, … plus any other child by its command, and a worker's
 * sidecar as `worker/sidecar`), for the hot-path tools that divide the CPU each has used
 * (benchmarks/process-cpu.ts cpuMs) by the studies they sent.
 */
import { childrenOf } from '../../benchmarks/process-cpu.ts';

export { cpuMs } from '../../benchmarks/process-cpu.ts';

export function stackProcesses(apiPid: number): Record<string, number> {
  const found: Record<string, number> = { api: apiPid };
  for (const { pid, args } of childrenOf(apiPid)) {
    const role = args.find((a) => a === 'db' || a === 'worker') ?? args.join(' ').slice(0, 30);
    let name = role;
    for (let k = 2; found[name]; k++) name = `${role}#${k}`;
    found[name] = pid;
    // A worker's own children (its JPEG 2000 sidecar: dicom/decode/openjpeg-native) count as its CPU too.
    for (const sidecar of childrenOf(pid)) found[`${name}/sidecar`] = sidecar.pid;
  }
  return found;
}
