import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Powertools JSON lines from the handlers stay out of the run's output (WATCHPOINT_TEST_LOGS=1 shows them).
    setupFiles: ['test/setup/quiet-handler-logs.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Global teardown stops moto, PostgreSQL and the in-process servers; give a loaded machine time.
    teardownTimeout: 30_000,
    pool: 'forks',
  },
});
