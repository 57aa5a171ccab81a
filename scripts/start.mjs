// `npm start`: install what is missing, then run everything on embedded defaults.
// Plain Node, so it runs before `npm ci` has.
const { ensureNpmDeps, ensureSystemPackages, ensureViewerBuilt } = await import('./ensure-deps.mjs');
ensureSystemPackages('start');
ensureNpmDeps();
ensureViewerBuilt();
process.argv = [process.argv[0], 'lantern', 'start'];
await import('../bin/lantern.mjs');
