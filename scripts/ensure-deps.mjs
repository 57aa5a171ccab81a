// Runs before `npm test` and `npm start`: installs npm dependencies when missing or
// stale, and builds the viewer when its sources are newer than the build. Plain Node
// so it works before anything is installed; tests import `ensureViewerBuilt`.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const mtime = (p) => (fs.existsSync(p) ? fs.statSync(p).mtimeMs : 0);
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } });

export function ensureNpmDeps() {
  if (mtime(path.join(root, 'node_modules', '.package-lock.json')) < mtime(path.join(root, 'package-lock.json'))) {
    console.log('lantern: installing npm dependencies (npm ci)…');
    run('npm', ['ci', '--no-audit', '--no-fund']);
  }
}

function newestIn(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestIn(p) : mtime(p));
  }
  return newest;
}

/** Builds viewer/dist when it is missing or older than any viewer source, so nobody serves a stale bundle. */
export function ensureViewerBuilt() {
  const viewer = path.join(root, 'viewer');
  if (mtime(path.join(viewer, 'dist', 'index.html')) >= newestIn(viewer)) return;
  console.log('lantern: building the viewer…');
  run('npx', ['vite', 'build', '--config', 'viewer/vite.config.ts', '--logLevel', 'warn']);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  ensureNpmDeps();
  ensureViewerBuilt();
}
