import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimEnv, startSimEnv } from '../helpers/sim.ts';
import { type AgentRig, meta, startRig } from './agent-support.ts';

/**
 * A config file whose name is not the domain's name (`/etc/xen/vm/web.cfg` holding `name = "webprod"`): common on
 * real hosts. The guest runs on xen1; the same config (shared storage) is on xen2. `/start web` on xen2 must be
 * refused (the guest runs on xen1), never create it a second time.
 */
let env: SimEnv;
let rig: AgentRig;

beforeAll(async () => {
  env = await startSimEnv({
    fleet: {
      hosts: {
        xen1: {
          toolstack: 'xl',
          domains: [{ name: 'webprod', memoryMiB: 1024, vcpus: 1, running: true, configPath: '/etc/xen/vm/web.cfg' }],
        },
        xen2: {
          toolstack: 'xl',
          domains: [{ name: 'webprod', memoryMiB: 1024, vcpus: 1, running: false, configPath: '/etc/xen/vm/web.cfg' }],
        },
      },
    },
  });
  rig = await startRig(env);
  await rig.startAgent();
});
afterAll(async () => {
  await rig?.stop();
  await env?.stop();
});

describe('/start from a config file named unlike its domain', () => {
  it('is refused, naming the name inside: the guest is not run a second time, nor reported "did not come up"', async () => {
    const job = await rig.enqueue({ op: 'domain.start', host: 'xen2', domain: 'web', meta: meta() });
    const out = await rig.outcome(job);
    const runningOn = Object.entries(env.sim.state().hosts)
      .filter(([, h]) => h.domains.some((d) => d.name === 'webprod'))
      .map(([name]) => name);
    expect(runningOn).toEqual(['xen1']);
    expect(out).toMatchObject({
      ok: false,
      failure: {
        code: 'rejected',
        message:
          '/etc/xen/vm/web.cfg on xen2 names its domain "webprod", not web: xl create would start "webprod", which xenops does not check for on the other hosts — rename the file to webprod.cfg or set name = "web" in it; nothing was run',
      },
    });
    expect(env.sim.hosts['xen2']?.commandLog.filter((c) => /\bcreate\b/.test(c))).toEqual([]);
  });
});
