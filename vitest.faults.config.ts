import { defineConfig } from 'vitest/config';
import UnhandledErrorsReporter from './test/reporters/unhandled-errors.ts';

/**
 * `npm run test:faults`: suites that start the real CLI processes (sim, agent, bot) and break things between them.
 * One file at a time (they spawn processes and share one Redis), with timeouts for process start-up and recovery.
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    env: { XENOPS_FAULT_TESTS: '1' },
    reporters: ['default', 'json', new UnhandledErrorsReporter('var/faults-unhandled.json')],
    outputFile: { json: 'var/faults-report.json' },
    // expect.poll's own default (1 s) is shorter than a Redis reconnect, an SSH login or a process's next tick on a
    // loaded 2-core CI box: a poll that names no timeout waits as long as the slowest of those may take.
    expect: { poll: { timeout: 10_000 } },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
  },
});
