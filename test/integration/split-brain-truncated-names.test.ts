import { describe, expect, it } from 'vitest';
import { samplerScene } from '../helpers/sampler.ts';
import { runningTwiceSaid } from '../helpers/split-brain-checks.ts';

/**
 * Two hosts whose xentop has no -f (names cut to 10 characters, mapped back through a list): each runs two guests
 * whose names share their first 10 characters (webserver-01/-02 on xen1, webserver-03/-04 on xen2). The sampler
 * cannot map `webserver-` to one guest on either host, and keeps it cut in the sample. Four distinct guests, none
 * running twice: the split-brain watch must say nothing.
 */
const scene = samplerScene({
  hosts: ['xen1', 'xen2'],
  heardLists: true,
  given: (env) => {
    for (const [host, names] of [
      ['xen1', ['webserver-01', 'webserver-02']],
      ['xen2', ['webserver-03', 'webserver-04']],
    ] as const) {
      const h = env.sim.fleet.host(host);
      h.xentopFullName = false;
      for (const name of names) env.sim.fleet.addDomain(h, { name, memoryMiB: 512, vcpus: 1, flags: '-b----' });
    }
  },
});

describe('split-brain watch on hosts whose xentop cuts names', () => {
  it('takes no two different guests cut to the same 10 characters on two hosts for one guest running twice', async () => {
    // As the bot's fleet view answers: no guest is named `webserver-` on either host.
    const said = await runningTwiceSaid(scene, ['xen1', 'xen2']);
    const names = ((await scene.samples.latest(['xen1']))['xen1']?.domains ?? []).map((d) => d.name);
    expect({ sampledOnXen1: names, said }).toEqual({ sampledOnXen1: expect.any(Array), said: [] });
  }, 30_000);
});
