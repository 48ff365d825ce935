import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleCommand } from '../../commands/console.ts';
import { replyText, simToolstack } from '../../test/helpers/drivers.ts';
import { type SimEnv, simBotConfig, startSimEnv } from '../../test/helpers/sim.ts';
import { type HostOutcome, renderContext } from '../core/define-command.ts';
import { consoleLogPath } from '../sim/model.ts';
import { describeFailure } from './agent.ts';
import { type HandlerContext, runHandler } from './handlers.ts';
import type { SshPool } from './ssh/pool.ts';

/**
 * /console of a guest without a xenconsoled log falls back to a 3 s `xl console` attach, which xenconsole refuses while
 * another client holds the console's lock (an operator attached) or before xenconsoled has a pty for the guest.
 */
let env: SimEnv;
let pool: SshPool;
let ctx: HandlerContext;
const meta = { requestId: 'r', person: 'alice', platform: 'terminal', userId: 'alice', channelId: 'c', command: 'console' } as const;

beforeAll(async () => {
  env = await startSimEnv({
    fleet: { hosts: { xen1: { toolstack: 'xl', domains: [{ name: 'web', memoryMiB: 1024, vcpus: 1, running: true }] } } },
  });
  pool = env.pool();
  ctx = { config: simBotConfig(env, '{unused}', 'redis://127.0.0.1:1'), toolstack: async (h) => simToolstack(pool, h), op: {} };
  // No xenconsoled logging on this host: the snapshot must attach.
  env.sim.fleet.host('xen1').files.delete(consoleLogPath('web'));
});
afterAll(async () => {
  await env.stop();
});

async function consoleReply(): Promise<{ title: string; text: string }> {
  const outcome: HostOutcome<'domain.console'> = await runHandler(
    { op: 'domain.console', host: 'xen1', domain: 'web', lines: 20, meta },
    ctx,
  ).then(
    (result) => ({ host: 'xen1', ok: true as const, result }),
    (error: unknown) => ({ host: 'xen1', ok: false as const, failure: describeFailure(error) }),
  );
  const r = consoleCommand.render([outcome], { domain: { domain: 'web' }, lines: 20 }, renderContext());
  return { title: r.title, text: replyText(r) };
}

describe('/console when the attach is refused', () => {
  it("an operator attached: says the console is in use, not xenconsole's raw lock error", async () => {
    env.sim.faults.failNext('xen1', {
      match: /xl console/,
      code: 1,
      stderr: 'xenconsole: Could not lock /var/lock/xenconsole.1: Resource temporarily unavailable\n',
    });
    const { text } = await consoleReply();
    expect(text).toMatch(/console of web on xen1 is in use/);
    expect(text).not.toMatch(/\/var\/lock|Resource temporarily unavailable|exited 1/);
  });

  it('no pty yet: says the guest has no console there yet, not the raw xenstore error', async () => {
    env.sim.faults.failNext('xen1', { match: /xl console/, code: 1, stderr: 'xenconsole: Could not read tty from store: Success\n' });
    const { text } = await consoleReply();
    expect(text).toMatch(/web has no console on xen1 yet/);
    expect(text).not.toMatch(/tty from store|exited 1/);
  });

  it('any other failure of the attach is still said as the host said it', async () => {
    env.sim.faults.failNext('xen1', { match: /xl console/, code: 2, stderr: 'xl: something else\n' });
    const { text } = await consoleReply();
    expect(text).toMatch(/exited 2: xl: something else/);
  });
});
