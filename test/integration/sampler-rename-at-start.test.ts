import { beforeAll, describe, expect, it } from 'vitest';
import type { FleetEvent } from '../../src/queue/fleet-events.ts';
import { samplerScene } from '../helpers/sampler.ts';

/**
 * `xl rename` right after the agent starts, before any list of the host was read by a job or the bot's fleet refresh
 * (simulator, real Redis): the sampler must know who each guest is by then, or the rename reads as a guest vanished
 * (a false alert: "web vanished from xen1, and xenops did not stop it") and another appeared.
 */
/** Lists of xen1 read so far, by anyone (the driver says each one). */
let listsOfXen1 = 0;
const scene = samplerScene({
  hosts: ['xen1'],
  heardLists: true,
  onListed: (host) => {
    if (host === 'xen1') listsOfXen1++;
  },
});

const xen1 = () => scene.env.sim.fleet.host('xen1');

const about = async (t0: number, ...names: string[]) =>
  (await scene.events.since(t0)).filter((e): e is Extract<FleetEvent, { domain: string }> => 'domain' in e && names.includes(e.domain));

/** When the first sample of xen1 taken after `after` that names `name` was taken. */
const sampleWith = async (name: string, after = 0) => (await scene.sampleOf('xen1', { after, naming: name })).at;

// The first sample is the baseline's: nothing else lists the host meanwhile.
beforeAll(async () => {
  await sampleWith('web');
});

describe('a guest renamed before any list of its host was read', () => {
  it('is one domain.renamed, not web vanished and www appeared', async () => {
    // At most the sampler's own list: no job's, no fleet refresh's.
    expect(listsOfXen1).toBeLessThanOrEqual(1);
    const t0 = Date.now() - 1;
    const web = xen1().domains.find((d) => d.name === 'web');
    if (!web) throw new Error('no web');
    web.name = 'www';
    await expect.poll(async () => (await about(t0, 'web', 'www')).length, { timeout: 10_000 }).toBeGreaterThan(0);
    // Anything else said of either would come within the settle wait (400 ms here).
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await about(t0, 'web', 'www')).map(({ at: _at, ...e }) => e)).toEqual([
      { kind: 'domain.renamed', host: 'xen1', oldName: 'web', domain: 'www', uuid: web.uuid, byXenops: false },
    ]);
  }, 30_000);

  it('lists the host no more while nothing changes (no list per iteration)', async () => {
    const before = listsOfXen1;
    let at = 0;
    // Five iterations with no change.
    for (let i = 0; i < 5; i++) at = await sampleWith('www', at);
    expect(listsOfXen1).toBe(before);
  }, 30_000);
});
