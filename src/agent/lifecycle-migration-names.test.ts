import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pause as pauseCommand } from '../../commands/pause.ts';
import { reboot as rebootCommand } from '../../commands/reboot.ts';
import { unpause as unpauseCommand } from '../../commands/unpause.ts';
import { replyText, simToolstack } from '../../test/helpers/drivers.ts';
import { type SimEnv, simBotConfig, startSimEnv } from '../../test/helpers/sim.ts';
import { type HostOutcome, renderContext } from '../core/define-command.ts';
import type { JobOp } from '../queue/jobs.ts';
import { describeFailure } from './agent.ts';
import { type HandlerContext, runHandler } from './handlers.ts';
import type { SshPool } from './ssh/pool.ts';

/**
 * /reboot, /pause and /unpause of a guest that xl has renamed for a migration: NAME--migratedaway on the source once
 * the target acknowledged the transfer (and after a migration that failed in its final handshake), NAME--incoming on
 * the target. Its config
 * file alone still names it on the source, so the list reads it as defined, not running.
 */
let env: SimEnv;
let pool: SshPool;
let ctx: HandlerContext;
const meta = { requestId: 'r', person: 'alice', platform: 'terminal', userId: 'alice', channelId: 'c', command: 'x' } as const;

beforeAll(async () => {
  env = await startSimEnv({
    fleet: {
      hosts: {
        xen1: { toolstack: 'xl', domains: [{ name: 'web', memoryMiB: 1024, vcpus: 1, running: true }] },
        xen2: { toolstack: 'xl', domains: [] },
      },
    },
  });
  pool = env.pool();
  const config = simBotConfig(env, '{unused}', 'redis://127.0.0.1:1');
  ctx = { config, toolstack: async (h) => simToolstack(pool, h), op: {} };
  const web = env.sim.fleet.findDomain(env.sim.fleet.host('xen1'), 'web');
  if (!web) throw new Error('no web on xen1');
  web.name = 'web--migratedaway';
});
afterAll(async () => {
  await env.stop();
});

/** What the asker reads: the handler's answer or its failure, as the agent reports it and the command renders it. */
async function answer<Op extends 'domain.reboot' | 'domain.pause' | 'domain.unpause'>(op: Op): Promise<string> {
  const data = { op, host: 'xen1', domain: 'web', meta, ...(op === 'domain.reboot' ? { force: false } : {}) } as never;
  const outcome: HostOutcome<JobOp> = await runHandler(data, ctx).then(
    (result) => ({ host: 'xen1', ok: true as const, result }),
    (error: unknown) => ({ host: 'xen1', ok: false as const, failure: describeFailure(error) }),
  );
  const command = op === 'domain.reboot' ? rebootCommand : op === 'domain.pause' ? pauseCommand : unpauseCommand;
  const args = op === 'domain.reboot' ? { domain: { domain: 'web' }, force: false } : { domain: { domain: 'web' } };
  return replyText(command.render([outcome] as never, args as never, renderContext()));
}

describe('a lifecycle command while xl has the guest under its migration name', () => {
  it('/reboot does not say the guest is not running, nor to /start it (a second copy), and sends nothing', async () => {
    const since = env.sim.log.lastSeq;
    const text = await answer('domain.reboot');
    expect(text).not.toMatch(/is not running on xen1/);
    expect(text).not.toMatch(/\/start web/);
    expect(text).toMatch(/web--migratedaway/);
    expect(text).toMatch(/migrat/);
    expect(env.sim.log.query({ host: 'xen1', since }).map((e) => e.command)).not.toContainEqual(expect.stringMatching(/^xl reboot/));
  });

  it('/pause and /unpause say the same, not "nothing to pause"', async () => {
    for (const op of ['domain.pause', 'domain.unpause'] as const) {
      const text = await answer(op);
      expect(text).not.toMatch(/is not running on xen1/);
      expect(text).toMatch(/web--migratedaway/);
    }
  });

  it('/start does not create a second copy beside the one under the migration name', async () => {
    const since = env.sim.log.lastSeq;
    const error = await runHandler({ op: 'domain.start', host: 'xen1', domain: 'web', meta }, ctx).then(
      () => null,
      (e: unknown) => describeFailure(e),
    );
    expect(error?.message).toMatch(/web--migratedaway/);
    expect(env.sim.log.query({ host: 'xen1', since }).map((e) => e.command)).not.toContainEqual(expect.stringMatching(/^xl create/));
    expect(env.sim.fleet.host('xen1').domains.map((d) => d.name)).not.toContain('web');
  });
});
