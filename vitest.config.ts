import { defineConfig } from 'vitest/config';
import UnhandledErrorsReporter from './test/reporters/unhandled-errors.ts';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'commands/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
    // The fault suite starts real processes and kills them: `npm run test:faults` runs it on its own.
    exclude: ['**/node_modules/**', '**/.git/**', 'test/faults/**'],
    // Integration suites share one Redis and spawn SSH servers; a bounded pool keeps a 2-core CI box responsive.
    pool: 'forks',
    maxWorkers: 2,
    // The JSON report lets .ci/run print a plain "N passed, N failed" closing line.
    reporters: ['default', 'json', new UnhandledErrorsReporter('var/test-unhandled.json')],
    outputFile: { json: 'var/test-report.json' },
    // expect.poll's own default (1 s) is shorter than a Redis reconnect, an SSH login or a process's next tick on a
    // loaded 2-core CI box: a poll that names no timeout waits as long as the slowest of those may take.
    expect: { poll: { timeout: 10_000 } },
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
