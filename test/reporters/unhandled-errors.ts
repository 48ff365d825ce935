import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SerializedError } from '@vitest/utils';
import type { Reporter } from 'vitest/reporters';

/**
 * Keeps the run's unhandled errors (an error or rejection no test awaited) in a file .ci/run prints when the run is
 * red: vitest's JSON report has no place for them, and its console report of one can be lost with the rest of a long
 * log — a CI run once failed on "Errors 1 error" with nothing left to say which.
 */
export default class UnhandledErrorsReporter implements Reporter {
  constructor(private readonly file: string) {}

  onTestRunEnd(_modules: unknown, unhandledErrors: ReadonlyArray<SerializedError>): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const errors = unhandledErrors.map((e) => {
      const where = e as { VITEST_TEST_PATH?: unknown; VITEST_TEST_NAME?: unknown; type?: unknown };
      return {
        file: typeof where.VITEST_TEST_PATH === 'string' ? where.VITEST_TEST_PATH : null,
        test: typeof where.VITEST_TEST_NAME === 'string' ? where.VITEST_TEST_NAME : null,
        type: typeof where.type === 'string' ? where.type : null,
        name: e.name ?? null,
        message: String(e.message ?? ''),
        stack: String(e.stack ?? '')
          .split('\n')
          .slice(0, 12)
          .join('\n'),
      };
    });
    writeFileSync(this.file, `${JSON.stringify(errors, null, 2)}\n`);
  }
}
