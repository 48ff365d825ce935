import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimEnv, simBotConfig, startSimEnv } from '../../test/helpers/sim.ts';
import type { Config } from '../config/schema.ts';
import { UserError } from '../core/errors.ts';
import { runHandler } from './handlers.ts';
import type { SshPool } from './ssh/pool.ts';
import { detectToolstack, XenToolstack } from './toolstack/driver.ts';
import type { Toolstack } from './toolstack/types.ts';

/**
 * `toolstack: auto` hosts (the bot cannot tell): the agent detects an xl source and an xm target (or the other way
 * round). `xl migrate` would stream to an `xl migrate-receive` the xm host does not run, `xm migrate` to a xend
 * relocation port the xl host does not listen on: refused before the migrate is sent.
 */
let env: SimEnv;
let pool: SshPool;
let config: Config;

const toolstack = async (host: string): Promise<Toolstack> => {
  const h = config.hosts[host];
  if (!h) throw new Error(`no host ${host}`);
  return new XenToolstack(await detectToolstack(pool, host), pool, {
    name: host,
    configDirs: h.configDirs,
    consoleLogDir: h.consoleLogDir,
    shutdownTimeoutSeconds: h.shutdownTimeoutSeconds,
  });
};

const meta = { requestId: 'r', person: 'p', platform: 'terminal', userId: 'u', channelId: 'c', command: 'migrate' };

beforeAll(async () => {
  env = await startSimEnv({
    fleet: {
      hosts: {
        xen1: { toolstack: 'xl', domains: [{ name: 'web', memoryMiB: 512, vcpus: 1, running: true }] },
        old: { toolstack: 'xm', domains: [{ name: 'legacy', memoryMiB: 512, vcpus: 1, running: true }] },
      },
    },
  });
  pool = env.pool();
  config = simBotConfig(env, '{migrate-toolstacks}', 'redis://127.0.0.1:6379');
});
afterAll(async () => {
  await env.stop();
});

describe('a migration between a detected xl host and a detected xm host', () => {
  for (const [host, domain, target, line] of [
    ['xen1', 'web', 'old', 'from xen1 (xl) to old (xm)'],
    ['old', 'legacy', 'xen1', 'from old (xm) to xen1 (xl)'],
  ] as const) {
    it(`${host} → ${target}: refused before the migrate is sent, saying why in one line`, async () => {
      const r = await runHandler({ op: 'domain.migrate', host, domain, target, meta }, { config, toolstack, op: {} }).catch(
        (e: unknown) => e,
      );
      // Was: `xl migrate web old` sent (the simulator, like the bot, let it through).
      expect(env.sim.hosts[host]?.commandLog.filter((c) => c.includes('migrate'))).toEqual([]);
      expect(r).toBeInstanceOf(UserError);
      expect((r as Error).message).toContain(line);
      expect((r as Error).message).toMatch(/nothing was sent$/);
      expect((r as Error).message).not.toContain('\n');
    });
  }
});
