import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../commands/migrate.ts';
import { describeFailure } from '../../src/agent/agent.ts';
import type { SshPool } from '../../src/agent/ssh/pool.ts';
import type { RemoteRunner } from '../../src/agent/ssh/types.ts';
import { XenToolstack } from '../../src/agent/toolstack/driver.ts';
import { renderContext } from '../../src/core/define-command.ts';
import { type SimEnv, startSimEnv } from '../helpers/sim.ts';

/**
 * The agent's mutations against the simulator through the real SSH pool: what the reply says when the host's state,
 * read back, says more than the command's own answer (or when the command could not be sent at all).
 */

let env: SimEnv;
let pool: SshPool;

const host = (name: string) => ({ name, configDirs: ['/etc/xen/vm'], consoleLogDir: '/var/log/xen/console', shutdownTimeoutSeconds: 5 });
const driver = (name: string, runner: RemoteRunner = pool) =>
  new XenToolstack('xl', runner, host(name), { readBack: { attempts: 5, delayMs: 20 }, pollMs: 20, resumeWaitMs: 300 });
const sent = (h: string, re: RegExp, since: number) => env.sim.log.query({ host: h, since, match: re }).map((e) => e.command);

/** A TCP port nothing listens on: connecting to it is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

beforeAll(async () => {
  env = await startSimEnv({
    fleet: {
      hosts: {
        xen1: {
          toolstack: 'xl',
          domains: [
            { name: 'web', memoryMiB: 1024, vcpus: 1, running: true, autostart: true },
            { name: 'db', memoryMiB: 1024, vcpus: 1, running: true },
            { name: 'kept', memoryMiB: 512, vcpus: 1, running: true, state: '---s--' },
            { name: 'win', memoryMiB: 512, vcpus: 1, running: true },
          ],
        },
        xen2: { toolstack: 'xl', domains: [] },
      },
    },
  });
  pool = env.pool();
});
afterAll(async () => {
  await env.stop();
});

describe('a migration resumed after an agent restart', () => {
  it('still warns that the source autostarts the guest (it would run twice after that host boots)', async () => {
    const target = { host: 'xen2', address: 'xen2', verify: () => driver('xen2').list() };
    // The migration runs to its end on the hosts; the agent that sent it died before it saw the answer, and the job
    // is resumed by another, which reads both hosts back.
    const live = await driver('xen1').migrate('web', target);
    expect(live).toMatchObject({ outcome: 'migrated', sourceAutostart: true });
    const since = env.sim.log.lastSeq;
    const resumed = await driver('xen1').verifyMigrate('web', target);
    // Was { outcome: 'migrated', resumed: true } without sourceAutostart: the reply said "web moved from xen1 to xen2"
    // and nothing of /etc/xen/auto/web.cfg still on xen1.
    expect(resumed).toMatchObject({ outcome: 'migrated', resumed: true, sourceAutostart: true });
    const reply = migrate.render(
      [{ host: 'xen1', agent: null, frozen: null, ok: true, result: { host: 'xen1', ...resumed } }],
      { domain: { domain: 'web' }, target: 'xen2' } as never,
      renderContext(),
    );
    expect(JSON.stringify(reply)).toContain('web still starts with xen1 (its /etc/xen/auto link stays there)');
    expect(sent('xen1', /migrate/, since)).toEqual([]);
  });
});

describe('a forced reboot whose create cannot be sent after the destroy', () => {
  it('says the guest was destroyed and is down, not merely that the host is unreachable', async () => {
    // The destroy and the reads go through the pool; by the time of the create, xen1's sshd no longer takes
    // connections (this pool points at a port nothing listens on): the pool fails it before anything is sent.
    const dead = env.pool({ xen1: { port: await closedPort() } });
    const runner: RemoteRunner = {
      run: (h, words, options) => (words[1] === 'create' ? dead : pool).run(h, words, options),
      runBatch: (h, commands, options) => pool.runBatch(h, commands, options),
    };
    const since = env.sim.log.lastSeq;
    const error = await driver('xen1', runner)
      .reboot('db', { force: true })
      .catch((e: unknown) => e);
    expect(sent('xen1', /destroy|create/, since)).toEqual(['xl destroy db']);
    // Was { code: 'transport', message: 'cannot connect to xen1 (127.0.0.1:…): …' } — "Could not reboot db: unreachable",
    // while db had been destroyed.
    expect(describeFailure(error)).toEqual({
      code: 'remote',
      message: expect.stringMatching(
        /^db was destroyed on xen1 but xl create \/etc\/xen\/vm\/db\.cfg could not be sent \(cannot connect to xen1 .*\) — it is down now; start it$/,
      ),
    });
  });
});

describe('a resumed graceful stop of a guest that powered off and is kept (on_poweroff="preserve")', () => {
  it('is a stop, as the live stop already counts it', async () => {
    // Powered off as asked (---s--, reason poweroff), not cleared away: what a live stop reports as "shut down".
    const since = env.sim.log.lastSeq;
    const r = await driver('xen1')
      .verifyStop('kept', { force: false, issuedAt: Date.now() })
      .catch((e: unknown) => e);
    // Was an unknown outcome after waiting the whole shutdown time: "kept is still shutdown 5 s later and may still be
    // shutting down".
    expect(r).toMatchObject({ outcome: 'shut-down', resumed: true, domain: { name: 'kept', status: 'shutdown' } });
    expect(sent('xen1', /shutdown|destroy/, since)).toEqual([]);
  });
});

describe('a graceful stop of a guest without PV drivers', () => {
  it('says it cannot be asked to shut down, that nothing was sent to it, and what force would do', async () => {
    const since = env.sim.log.lastSeq;
    env.sim.faults.failNext('xen1', {
      match: /xl shutdown -w win$/,
      code: 1,
      stderr:
        'PV control interface not available: external graceful shutdown not possible.\nUse "-F" to fallback to ACPI power event.\nshutdown failed (rc=-10)\n',
    });
    const error = await driver('xen1')
      .stop('win', { force: false })
      .catch((e: unknown) => e);
    // Was { code: 'remote', message: 'PV control interface not available: external graceful shutdown not possible.' }:
    // xl's line alone, which says neither what happened to win nor what to do.
    expect(describeFailure(error)).toEqual({
      code: 'remote',
      message:
        'win on xen1 cannot be asked to shut down (PV control interface not available: external graceful shutdown not possible.): nothing was sent to it — stop it with force (a hard power-off) if it must go down',
    });
    expect(sent('xen1', /shutdown|destroy/, since)).toEqual(['timeout 5 xl shutdown -w win']);
    expect(env.sim.fleet.host('xen1').domains.find((d) => d.name === 'win')?.flags).toBe('-b----');
  });
});
