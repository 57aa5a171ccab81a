import { defineConfig } from 'vitest/config';

// Tests start real redis-server, PGlite, onnxruntime sessions and Chromium; they are
// heavy on a 2-core machine, so files run in a small pool and get generous timeouts.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'viewer/**/node_modules/**', 'var/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
