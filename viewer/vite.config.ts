import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * The viewer is served by the API from `viewer/dist` at `/`, so every asset URL is
 * relative (`base: './'`) and the API is reached at the same origin.
 *
 * The dev server (`vite --config viewer/vite.config.ts`) proxies API paths to a running
 * Lantern on 127.0.0.1:3000, or to `LANTERN_API_ORIGIN` when it listens elsewhere.
 * That variable is dev tooling only; the built bundle never sees it.
 */
export default defineConfig({
  root,
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    // cornerstone-core is one ~300 kB module; that is expected, not a regression.
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: Object.fromEntries(
      ['/v1', '/dicomweb', '/health'].map((p) => [
        p,
        { target: process.env.LANTERN_API_ORIGIN ?? 'http://127.0.0.1:3000', changeOrigin: true },
      ]),
    ),
  },
});
