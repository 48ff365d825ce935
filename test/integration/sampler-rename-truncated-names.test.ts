import { beforeAll, describe, expect, it } from 'vitest';
import type { XenToolstack } from '../../src/agent/toolstack/driver.ts';
import type { FleetEvent } from '../../src/queue/fleet-events.ts';
import { samplerScene } from '../helpers/sampler.ts';

/**
 * `xl rename` on a host whose xentop has no -f (names cut to 10 characters, mapped back through a list): a guest whose
 * old and new names share their first 10 characters (webserver-a → webserver-b) prints as `webserver-` before and
 * after. The sampler hears every list read of the host (heardList), the bot's fleet refresh's among them: once one
 * such list shows the new name, the samples must name the guest by it and the rename must be said.
 */
const scene = samplerScene({
  hosts: ['xen1'],
  heardLists: true,
  sampler: { historyEverySeconds: 3 },
  given: (env) => {
    const xen1 = env.sim.fleet.host('xen1');
    xen1.xentopFullName = false;
    env.sim.fleet.addDomain(xen1, { name: 'webserver-a', memoryMiB: 512, vcpus: 1, flags: '-b----' });
  },
});

const xen1 = () => scene.env.sim.fleet.host('xen1');
const listXen1 = () => (scene.drivers['xen1'] as XenToolstack).list();

async function sampleNames(): Promise<string[]> {
  return ((await scene.samples.latest(['xen1']))['xen1']?.domains ?? []).map((d) => d.name);
}

beforeAll(async () => {
  await scene.sampleOf('xen1', { naming: 'webserver-a' });
  await listXen1();
});

describe('a guest renamed on a host whose xentop cuts names to 10 characters', () => {
  it('is sampled under its new name once a list shows it, and the rename is said', async () => {
    const t0 = Date.now() - 1;
    const guest = xen1().domains.find((d) => d.name === 'webserver-a');
    if (!guest) throw new Error('no webserver-a');
    guest.name = 'webserver-b';
    // The bot's fleet refresh (each minute) lists the host: the sampler hears it.
    await listXen1();
    await expect.poll(sampleNames, { timeout: 8_000 }).toContain('webserver-b');
    const said = (await scene.events.since(t0)).filter((e): e is Extract<FleetEvent, { domain: string }> => 'domain' in e);
    expect(said.map((e) => `${e.kind} ${e.domain}`)).toContain('domain.renamed webserver-b');
  }, 30_000);
});
