import { describe, expect, it } from 'vitest';
import { samplerScene } from '../helpers/sampler.ts';
import { runningTwiceSaid } from '../helpers/split-brain-checks.ts';

/**
 * Two hosts whose xentop has no -f, one guest each, cut alike: webserver-a on xen1, webserver-b on xen2, both printed
 * `webserver-`. `xl list` fails on both, so neither sampler can map its one `webserver-` back: each host's sample
 * holds it once, under its cut name. Two distinct guests, none running twice: the split-brain watch must say nothing.
 */
const scene = samplerScene({
  hosts: ['xen1', 'xen2'],
  given: async (env) => {
    for (const [host, name] of [
      ['xen1', 'webserver-a'],
      ['xen2', 'webserver-b'],
    ] as const) {
      const h = env.sim.fleet.host(host);
      h.xentopFullName = false;
      env.sim.fleet.addDomain(h, { name, memoryMiB: 512, vcpus: 1, flags: '-b----' });
      await env.sim.faults.add(host, { kind: 'fail', match: /\bxl list\b/, stderr: 'cannot init xl context\n', times: 0 });
    }
  },
});

describe('split-brain watch on hosts whose xentop cuts names, with one unresolved cut name each', () => {
  it('takes no two different guests each cut to the same 10 characters on its host for one guest running twice', async () => {
    // As the bot's fleet view answers: no guest is named `webserver-` on either host.
    const said = await runningTwiceSaid(scene, ['xen1', 'xen2']);
    const latest = await scene.samples.latest(['xen1', 'xen2']);
    const sampled = (host: string) => (latest[host]?.domains ?? []).map((d) => d.name).filter((n) => n.startsWith('webserver'));
    expect({ xen1: sampled('xen1'), xen2: sampled('xen2'), said }).toEqual({ xen1: ['webserver-'], xen2: ['webserver-'], said: [] });
  }, 30_000);

  it('marks the cut name in the sample, and no full name', async () => {
    const latest = await scene.samples.latest(['xen1', 'xen2']);
    const marked = (host: string) => (latest[host]?.domains ?? []).filter((d) => d.nameCut).map((d) => d.name);
    const unmarked = (host: string) => (latest[host]?.domains ?? []).filter((d) => 'nameCut' in d && !d.nameCut);
    expect({ xen1: marked('xen1'), xen2: marked('xen2') }).toEqual({ xen1: ['webserver-'], xen2: ['webserver-'] });
    expect([...unmarked('xen1'), ...unmarked('xen2')]).toEqual([]);
  });
});
