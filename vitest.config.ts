import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The suites start servers, Redis processes and a browser: keep the two cores from thrashing.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
