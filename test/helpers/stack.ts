import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatAdapter } from '../../src/adapters/types.ts';
import { type DemoStack, startDemoStack } from '../../src/app/demo-stack.ts';
import type { Config } from '../../src/config/schema.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from './redis.ts';
import { quietLogger } from './sim.ts';

export interface TestStack extends DemoStack {
  prefix: string;
  auditFile: string;
}

/**
 * The demo stack for end-to-end tests: config/demo.yaml's people and fleet, a fast simulator, its own Redis prefix
 * and audit file; stop() also deletes the run's Redis keys.
 */
export async function startTestStack(options: {
  makeAdapters: (config: Config) => ChatAdapter[];
  env?: NodeJS.ProcessEnv;
  adjustConfig?: (config: Config) => Config;
}): Promise<TestStack> {
  const prefix = uniquePrefix();
  const auditFile = join(mkdtempSync(join(tmpdir(), 'xenops-audit-')), 'audit.jsonl');
  const stack = await startDemoStack({
    redisUrl: REDIS_URL,
    logger: quietLogger,
    prefix,
    timeScale: 0.02,
    shutdownDelayMs: 500,
    ...(options.env ? { env: options.env } : {}),
    adjustConfig: (c) => {
      const base = { ...c, audit: { ...c.audit, file: auditFile }, bot: { ...c.bot, readTimeoutMs: 15_000 } };
      return options.adjustConfig ? options.adjustConfig(base) : base;
    },
    makeAdapters: options.makeAdapters,
  });
  return {
    ...stack,
    prefix,
    auditFile,
    async stop() {
      await stack.stop();
      await deleteKeysWithPrefix(REDIS_URL, prefix);
    },
  };
}
