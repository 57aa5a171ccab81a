// Runs before `npm test` and `npm start`: installs the Debian packages each needs (as root),
// npm dependencies when missing or stale, and builds the viewer when its sources are newer
// than the build. Plain Node, so it works before anything is installed; tests import
// `ensureViewerBuilt`.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const mtime = (p) => (fs.existsSync(p) ? fs.statSync(p).mtimeMs : 0);
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } });

const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

/**
 * Debian packages each purpose needs, and how to tell they are there. `npm start` needs a
 * Redis (unless REDIS_URL names one); `npm test` also needs Chromium for the viewer tests,
 * a CJK font for the Chinese screens, Debian's python3-onnx for the FLOP benchmark's
 * generated ResNet graph, and dcmtk and dicom3tools to read and validate de-identified
 * DICOM, Orthanc for the interoperability tests, OpenJPEG's opj_decompress as the bench's native
 * JPEG 2000 reference, and bubblewrap, the native decoder's sandbox. Nothing is downloaded but Debian packages
 * (and, for the tests, OHIF's published build from the npm registry: ensureOhifBuild).
 */
const SYSTEM_NEEDS = {
  start: [
    { pkg: 'redis-server', present: () => Boolean(process.env.REDIS_URL) || has('redis-server') },
    // Optional: workers decode JPEG 2000 with it, inside bubblewrap's sandbox, where both are (dicom/decode/openjpeg-native), else with its WebAssembly build.
    { pkg: 'libopenjp2-7 bubblewrap', optional: true, present: () => has('bwrap') && spawnSync('sh', ['-c', 'ldconfig -p | grep -q libopenjp2.so.7']).status === 0 },
  ],
  test: [
    { pkg: 'redis-server', present: () => has('redis-server') },
    { pkg: 'chromium', present: () => fs.existsSync('/usr/bin/chromium') },
    { pkg: 'fonts-wqy-microhei', present: () => spawnSync('sh', ['-c', 'fc-list :lang=zh'], { encoding: 'utf8' }).stdout?.trim().length > 0 },
    { pkg: 'python3-onnx python3-numpy', present: () => spawnSync('/usr/bin/python3', ['-c', 'import onnx, numpy'], { stdio: 'ignore' }).status === 0 },
    // dcmdump reads and dciodvfy validates the de-identified exports (dicom/deidentify).
    { pkg: 'dcmtk dicom3tools', present: () => has('dcmdump') && has('dciodvfy') },
    // The real peers of the interoperability tests (test/interop): a PACS with its DICOMweb plugin.
    { pkg: 'orthanc orthanc-dicomweb', present: () => has('Orthanc') && fs.existsSync('/usr/share/orthanc/plugins/libOrthancDicomWeb.so') },
    // Native OpenJPEG, the bench's reference for decoding JPEG 2000 (benchmarks/figures/native-reference.ts).
    { pkg: 'libopenjp2-tools', present: () => has('opj_decompress') },
    // The native decoder's sandbox (dicom/decode/openjpeg-native/sandbox.ts).
    { pkg: 'bubblewrap', present: () => has('bwrap') },
  ],
};

/**
 * Installs the Debian packages `purpose` needs when run as root (as on a fresh machine or in
 * CI); otherwise names the command to run and exits, rather than failing later and obscurely.
 */
export function ensureSystemPackages(purpose) {
  const absent = SYSTEM_NEEDS[purpose].filter((need) => !need.present());
  const asRoot = process.getuid?.() === 0 && has('apt-get');
  // An optional package is installed when it can be; without it Lantern runs, slower where it says.
  const missing = absent.filter((need) => asRoot || !need.optional).map((need) => need.pkg);
  if (missing.length === 0) return;
  const install = `apt-get install -y ${missing.join(' ')}`;
  if (asRoot) {
    console.log(`lantern: installing ${missing.join(', ')} from Debian packages…`);
    execFileSync('sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${missing.join(' ')} >/dev/null`], { stdio: 'inherit' });
    return;
  }
  console.error(`lantern: ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not installed. Install with: sudo ${install}` +
    (purpose === 'start' ? '\n(or point REDIS_URL at a running Redis ≥ 6.2)' : ''));
  process.exit(1);
}

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

/** The published OHIF viewer the interoperability test points at Lantern (test/interop/ohif.browser.test.ts). */
const OHIF = {
  version: '3.13.2',
  // The registry's own dist.integrity for @ohif/app@3.13.2: a different tarball is refused.
  integrity: 'sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq+jd5xXZB9E8EA==',
};
export const ohifDist = path.join(root, 'node_modules', '.cache', `ohif-${OHIF.version}`, 'dist');

/**
 * Puts OHIF's static build (`dist/`, ~200 MB unpacked) under node_modules/.cache once, from
 * the npm registry (`npm pack`, ~50 MB). Not a dependency: installing @ohif/app would pull in
 * its whole source tree's dependencies, while the test serves only the built files. Fetched
 * at test preparation, never at run time.
 */
export function ensureOhifBuild() {
  if (fs.existsSync(path.join(ohifDist, 'index.html'))) return;
  console.log(`lantern: fetching the OHIF viewer build ${OHIF.version} from npm (for the interoperability test)…`);
  const cache = path.dirname(path.dirname(ohifDist));
  fs.mkdirSync(cache, { recursive: true });
  const work = fs.mkdtempSync(path.join(cache, 'ohif-fetch-'));
  try {
    execFileSync('npm', ['pack', `@ohif/app@${OHIF.version}`, '--silent'], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
    const tarball = path.join(work, fs.readdirSync(work).find((f) => f.endsWith('.tgz')));
    const integrity = `sha512-${createHash('sha512').update(fs.readFileSync(tarball)).digest('base64')}`;
    if (integrity !== OHIF.integrity) throw new Error(`@ohif/app@${OHIF.version}: the tarball's integrity ${integrity} is not the registry's ${OHIF.integrity}`);
    execFileSync('tar', ['xzf', tarball, 'package/dist'], { cwd: work });
    fs.rmSync(path.dirname(ohifDist), { recursive: true, force: true });
    fs.mkdirSync(path.dirname(ohifDist), { recursive: true });
    fs.renameSync(path.join(work, 'package', 'dist'), ohifDist);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

// `node scripts/ensure-deps.mjs test`: what `npm test` runs first.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  ensureSystemPackages(process.argv[2] === 'start' ? 'start' : 'test');
  ensureNpmDeps();
  ensureViewerBuilt();
  if (process.argv[2] !== 'start') ensureOhifBuild();
}
