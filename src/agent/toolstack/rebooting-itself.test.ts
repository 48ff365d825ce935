import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simToolstack } from '../../../test/helpers/drivers.ts';
import { type SimEnv, startSimEnv } from '../../../test/helpers/sim.ts';
import { UserError } from '../../core/errors.ts';
import type { SshPool } from '../ssh/pool.ts';
import type { XenToolstack } from './driver.ts';

/**
 * A guest whose own OS is rebooting it: xl lists it shut down with reason letter r (`---sr-`, shared/xen-toolstack.md
 * §1.1: 4th flag s = shutdown, 5th = reason from "-rscwS", r = reboot) until xl's monitor has built it again. It comes
 * back by itself: advice to force it (destroy) would have the operator kill a guest on its way back, and nothing may
 * be sent to the host. `---srd`: the old domain being torn down for that same reboot.
 */
let env: SimEnv;
let pool: SshPool;
let ts: XenToolstack;

beforeAll(async () => {
  env = await startSimEnv({
    fleet: {
      hosts: {
        xen1: {
          toolstack: 'xl',
          domains: [
            { name: 'web', memoryMiB: 1024, vcpus: 1, running: true, state: '---sr-' },
            { name: 'db', memoryMiB: 1024, vcpus: 1, running: true, state: '---srd' },
          ],
        },
      },
    },
  });
  pool = env.pool();
  ts = simToolstack(pool, 'xen1');
});
afterAll(async () => {
  await env.stop();
});

/** Commands that change a domain, as the simulator's SSH server received them (each word quoted). */
function mutations(): string[] {
  return (env.sim.hosts['xen1']?.commandLog ?? []).filter((c) => /'(reboot|shutdown|destroy|create|pause|unpause)'/.test(c));
}

async function refusal(p: Promise<unknown>): Promise<UserError> {
  const e = await p.then(
    (r) => r,
    (error: unknown) => error,
  );
  expect(e).toBeInstanceOf(UserError);
  return e as UserError;
}

const WAIT = /^web is rebooting itself on xen1 \(---sr-\): wait for it to come back; nothing was sent$/;

describe('a guest rebooting itself (---sr-)', () => {
  it('/reboot says to wait for it, sends nothing, and never advises force', async () => {
    const e = await refusal(ts.reboot('web', { force: false }));
    expect(e.message).toMatch(WAIT);
    expect(e.message).not.toMatch(/force/);
    expect(mutations()).toEqual([]);
  });

  it('/pause and /unpause say to wait for it, not "stop it with force, then start it"', async () => {
    for (const pause of [true, false]) {
      const e = await refusal(ts.pause('web', pause));
      expect(e.message).toMatch(WAIT);
      expect(e.message).not.toMatch(/force/);
    }
    expect(mutations()).toEqual([]);
  });

  it('a graceful /stop says to wait for it, not "stop it with force to clear it away"', async () => {
    const e = await refusal(ts.stop('web', { force: false }));
    expect(e.message).toMatch(WAIT);
    expect(mutations()).toEqual([]);
  });

  it('/start says to wait for it, not "stop it with force (destroy), then start it"', async () => {
    const e = await refusal(ts.start('web'));
    expect(e.message).toMatch(WAIT);
    expect(mutations()).toEqual([]);
  });

  it('is recognised while its old domain is torn down for the reboot (---srd)', async () => {
    for (const act of [() => ts.reboot('db', { force: false }), () => ts.pause('db', true), () => ts.stop('db', { force: false })]) {
      const e = await refusal(act());
      expect(e.message).toBe('db is rebooting itself on xen1 (---srd): wait for it to come back; nothing was sent');
    }
    expect(mutations()).toEqual([]);
  });
});
