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
          domains: [
            { name: 'webprod', memoryMiB: 1024, vcpus: 1, running: false, configPath: '/etc/xen/vm/web.cfg' },
            { name: 'db', memoryMiB: 1024, vcpus: 1, running: true },
          ],
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

  it('/reboot --force of a guest whose config file now names another is refused before anything is destroyed', async () => {
    // Edited on the host since db started: its file now names a guest that may run elsewhere.
    const xen2 = env.sim.fleet.hosts.get('xen2');
    const path = [...(xen2?.files.keys() ?? [])].find((p) => p.endsWith('/db.cfg'));
    if (!xen2 || !path) throw new Error('no db.cfg on xen2');
    xen2.files.set(path, (xen2.files.get(path) ?? '').replace('name = "db"', 'name = "db-replica"'));
    const job = await rig.enqueue({ op: 'domain.reboot', host: 'xen2', domain: 'db', force: true, meta: meta({ command: 'reboot' }) });
    const out = await rig.outcome(job);
    expect(out).toMatchObject({
      ok: false,
      failure: { message: expect.stringContaining(`${path} on xen2 names its domain "db-replica", not db`) },
    });
    expect(env.sim.hosts['xen2']?.commandLog.filter((c) => /\b(destroy|create)\b/.test(c))).toEqual([]);
    expect(env.sim.state().hosts['xen2']?.domains.some((d) => d.name === 'db')).toBe(true);
  });

  it('/reboot --force of a guest whose config computes its name is refused before anything is destroyed', async () => {
    const xen2 = env.sim.fleet.hosts.get('xen2');
    const path = [...(xen2?.files.keys() ?? [])].find((p) => p.endsWith('/db.cfg'));
    if (!xen2 || !path) throw new Error('no db.cfg on xen2');
    // Python in an xm-era config: no plain name = for xenops to read.
    xen2.files.set(path, (xen2.files.get(path) ?? '').replace(/name = "[^"]*"/, 'name = "d" + "b"'));
    const job = await rig.enqueue({ op: 'domain.reboot', host: 'xen2', domain: 'db', force: true, meta: meta({ command: 'reboot' }) });
    expect(await rig.outcome(job)).toMatchObject({
      ok: false,
      failure: {
        message: `${path} on xen2 computes its domain's name: a forced reboot would destroy db and could not be sure to bring it back, so nothing was done`,
      },
    });
    expect(env.sim.hosts['xen2']?.commandLog.filter((c) => /\b(destroy|create)\b/.test(c))).toEqual([]);
  });
});
