import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { type AuditEntry, AuditLog } from '../../src/app/audit.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from './redis.ts';
import { quietLogger } from './sim.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'xenops.js');
/** The demo's config: what a new operator points `xenops audit verify` and `check-config` at first. */
export const DEMO_CONFIG = join(import.meta.dirname, '..', '..', 'config', 'demo.yaml');

/** An audit entry of request `r<i>`. */
export const auditEntry = (i: number): AuditEntry => ({
  event: 'request',
  requestId: `r${i}`,
  person: 'alice',
  platform: 'terminal',
  userId: 'alice',
  channelId: 'terminal',
  command: 'list',
});

export interface AuditCliScene {
  dir: string;
  redis: Redis;
  fresh(): { prefix: string; name: string };
  withoutSim(extra?: Record<string, string>): NodeJS.ProcessEnv;
  xenops(args: string[], env: NodeJS.ProcessEnv, cwd?: string): SpawnSyncReturns<string>;
  write(key: string, file: string, n: number): Promise<void>;
}

/**
 * The tests of the `xenops` CLI on the audit trail: a scratch directory, a Redis client, prefixes of their own removed
 * at the end, the CLI run as a process (in the scratch directory unless `cwd`), and a chain of entries written as the
 * bot writes it. Call it at the top of a test file.
 */
export function auditCliScene(tag: string): AuditCliScene {
  const prefixes: string[] = [];
  const scene: AuditCliScene = {
    dir: '',
    redis: null as unknown as Redis,
    /** A prefix of its own: `prefix` ({…}) and `name` (without the braces, as config/demo.yaml takes it). */
    fresh(): { prefix: string; name: string } {
      const prefix = uniquePrefix();
      prefixes.push(prefix);
      return { prefix, name: prefix.slice(1, -1) };
    },
    /** The environment without any XENOPS_SIM_* variable (as a new operator's shell has it). */
    withoutSim(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('XENOPS_SIM_')));
      return { ...env, REDIS_URL, ...extra };
    },
    xenops(args: string[], env: NodeJS.ProcessEnv, cwd = scene.dir): SpawnSyncReturns<string> {
      return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, cwd });
    },
    /** `n` entries appended to the stream at `key` and to `file`, as the bot appends them. */
    async write(key: string, file: string, n: number): Promise<void> {
      const audit = new AuditLog(scene.redis, key, file, 10_000, quietLogger);
      for (let i = 1; i <= n; i++) await audit.append(auditEntry(i));
      await audit.close();
    },
  };
  beforeAll(async () => {
    scene.dir = mkdtempSync(join(tmpdir(), `xenops-${tag}-`));
    scene.redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    await scene.redis.ping();
  });
  afterAll(async () => {
    scene.redis?.disconnect();
    for (const p of prefixes) await deleteKeysWithPrefix(REDIS_URL, p);
    rmSync(scene.dir, { recursive: true, force: true });
  });
  return scene;
}
