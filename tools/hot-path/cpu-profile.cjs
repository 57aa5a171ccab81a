/**
 * Preload that samples a Lantern process's CPU (V8's profiler, 0.5 ms interval) from start to exit
 * and writes `<role>-<pid>.cpuprofile` into $CPU_PROFILE_DIR, for the roles named in
 * $CPU_PROFILE_ROLES (default `start,db`). `--cpu-prof` is refused in NODE_OPTIONS; `--require` is not:
 *
 *   startStack({ env: { NODE_OPTIONS: '--require ./tools/hot-path/cpu-profile.cjs', CPU_PROFILE_DIR: '/tmp/prof' } })
 *
 * Open the files in Chrome DevTools (Performance) or sum self time per function from `nodes`/`samples`.
 */
const roles = (process.env.CPU_PROFILE_ROLES ?? 'start,db').split(',');
if (process.env.CPU_PROFILE_DIR && roles.includes(process.argv[2])) {
  const fs = require('node:fs');
  const path = require('node:path');
  const session = new (require('node:inspector').Session)();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  // The in-process session answers synchronously, so the profile is written before the process ends.
  process.on('exit', () => session.post('Profiler.stop', (error, answer) => {
    if (answer) fs.writeFileSync(path.join(process.env.CPU_PROFILE_DIR, `${process.argv[2]}-${process.pid}.cpuprofile`), JSON.stringify(answer.profile));
  }));
}
