// `npm start`: install what is missing, then run everything on embedded defaults.
// Plain Node, so it runs before `npm ci` has.
import { execFileSync, spawnSync } from 'node:child_process';

const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

if (!process.env.REDIS_URL && !has('redis-server')) {
  if (process.getuid?.() === 0 && has('apt-get')) {
    console.log('lantern: redis-server is missing; installing it from Debian packages…');
    execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server'], { stdio: 'inherit' });
  } else {
    console.error('lantern: redis-server is not installed. Install it (Debian/Ubuntu: sudo apt-get install -y redis-server),\n' +
      'or point REDIS_URL at a running Redis ≥ 6.2.');
    process.exit(1);
  }
}

const { ensureNpmDeps, ensureViewerBuilt } = await import('./ensure-deps.mjs');
ensureNpmDeps();
ensureViewerBuilt();
process.argv = [process.argv[0], 'lantern', 'start'];
await import('../bin/lantern.mjs');
