import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Sampler, type SamplerOptions } from '../../src/agent/sampler.ts';
import type { SshPool } from '../../src/agent/ssh/pool.ts';
import type { RemoteRunner } from '../../src/agent/ssh/types.ts';
import type { XenToolstack } from '../../src/agent/toolstack/driver.ts';
import { TransportError } from '../../src/core/errors.ts';
import { DomainLocks } from '../../src/queue/coordination.ts';
import { type FleetEvent, FleetEventLog } from '../../src/queue/fleet-events.ts';
import { SampleStore } from '../../src/queue/samples.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { fastSamplerOptions, simDrivers } from '../helpers/sampler.ts';
import { quietLogger, type SimEnv, startSimEnv, twoHostFleet } from '../helpers/sim.ts';

/** The sampler's fleet events when things went wrong before or while it watched (real Redis, the simulator). */
let env: SimEnv;
let pool: SshPool;
let redis: Redis;
const prefixes: string[] = [];
const samplers: Sampler[] = [];

const OPTIONS = fastSamplerOptions(['xen1']);

interface Rig {
  prefix: string;
  events: FleetEventLog;
  samples: SampleStore;
  t0: number;
}

function rig(): Rig {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  return { prefix, events: new FleetEventLog(redis, prefix), samples: new SampleStore(redis, prefix), t0: Date.now() - 1 };
}

const drivers = () => simDrivers(env, pool);

function makeSampler(
  r: Rig,
  runner: RemoteRunner,
  options: Partial<SamplerOptions> = {},
  list?: (host: string) => ReturnType<XenToolstack['list']>,
): Sampler {
  const d = drivers();
  const s = new Sampler(
    { ...OPTIONS, ...options },
    {
      runner,
      samples: r.samples,
      events: r.events,
      locks: new DomainLocks(redis, r.prefix),
      list: list ?? ((host) => (d[host] as XenToolstack).list()),
      logger: quietLogger,
    },
  );
  samplers.push(s);
  return s;
}

async function eventsOf(r: Rig): Promise<FleetEvent[]> {
  return r.events.since(r.t0);
}

async function sampled(r: Rig, host: string, after = 0): Promise<void> {
  await expect.poll(async () => (await r.samples.latest([host]))[host]?.at ?? 0, { timeout: 10_000 }).toBeGreaterThan(after);
}

beforeAll(async () => {
  env = await startSimEnv({
    fleet: twoHostFleet([{ name: 'database-primary', memoryMiB: 512, vcpus: 1, running: true }]),
    timeScale: 0.2,
  });
  pool = env.pool();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
});

afterEach(async () => {
  for (const s of samplers.splice(0)) await s.close();
  for (const f of env.sim.faults.list()) await env.sim.faults.remove(f.id);
});

afterAll(async () => {
  await env?.stop();
  for (const p of prefixes) await deleteKeysWithPrefix(REDIS_URL, p);
  redis?.disconnect();
});

/** Xen 3.x: xentop has no -f (the sampler then maps 10-character names back through the list). Returns the fault. */
function withoutXentopF() {
  return env.sim.faults.add('xen1', { kind: 'fail', match: /xentop.* -f/, times: 0, code: 1, stderr: "xentop: invalid option -- 'f'\n" });
}

/** The domain names of the host's latest sample. */
async function namesOn(r: Rig, host = 'xen1'): Promise<string[]> {
  return (await r.samples.latest([host]))[host]?.domains.map((x) => x.name) ?? [];
}

function removeDomains(hostName: string, names: readonly string[]): void {
  const host = env.sim.fleet.host(hostName);
  for (const name of names) {
    const d = host.domains.find((x) => x.name === name);
    if (d) env.sim.fleet.removeDomain(host, d);
  }
}

describe('a network cut in the middle of a xentop iteration', () => {
  it('reports no running domain as stopped or vanished (the list that would tell failed too)', async () => {
    const r = rig();
    let cut = false;
    let silent = false;
    let listFails = false;
    let listFailed: () => void = () => {};
    const failedList = new Promise<void>((resolve) => {
      listFailed = resolve;
    });
    // The network to xen1 goes silent in the middle of an iteration: the header and the first row got through, the
    // rest never comes (the TCP connection is only declared dead by the keepalive, ~30 s later).
    const runner: RemoteRunner = {
      run: (h, argv, o) => pool.run(h, argv, o),
      stream: (h, argv, o) =>
        pool.stream(h, argv, {
          ...o,
          onStdout: (chunk) => {
            if (silent) return;
            if (cut && chunk.includes('NAME')) {
              const lines = chunk.split('\n');
              const header = lines.findIndex((l) => l.includes('NAME'));
              o.onStdout(`${lines.slice(0, header + 2).join('\n')}\n`);
              silent = true;
              listFails = true;
              return;
            }
            o.onStdout(chunk);
          },
        }),
    };
    const d = drivers();
    const sampler = makeSampler(r, runner, {}, async (host) => {
      // The same network is down for the list.
      if (listFails) {
        listFailed();
        throw new TransportError(host, `connect ETIMEDOUT ${host}`);
      }
      return (d[host] as XenToolstack).list();
    });
    sampler.start();
    await sampled(r, 'xen1');
    await sampled(r, 'xen1', Date.now());
    cut = true;
    // The cut iteration is read (after quietMs), its missing guests looked up, the lookup failed…
    await failedList;
    // …and closing reports every change still settling (after the iteration's own handling, on the host's chain).
    await sampler.close();
    const about = (await eventsOf(r)).filter((e) => 'domain' in e && (e.domain === 'web' || e.domain === 'database-primary'));
    // Both guests ran on xen1 all along.
    expect(about).toEqual([]);
  }, 30_000);
});

describe('a host whose list keeps failing while xentop works (xend dead on an xm host)', () => {
  it('still reports a guest that went away, after a few iterations', async () => {
    const r = rig();
    const d = drivers();
    let listFails = false;
    const sampler = makeSampler(r, pool, {}, async (host) => {
      if (listFails) throw new TransportError(host, 'Error: Unable to connect to xend: No such file or directory');
      return (d[host] as XenToolstack).list();
    });
    sampler.start();
    await sampled(r, 'xen1');
    await sampled(r, 'xen1', Date.now());
    listFails = true;
    const host = env.sim.fleet.host('xen1');
    const web = host.domains.find((x) => x.name === 'web');
    if (!web) throw new Error('no web');
    env.sim.fleet.removeDomain(host, web);
    try {
      await expect
        .poll(async () => (await eventsOf(r)).filter((e) => 'domain' in e && e.domain === 'web').map((e) => e.kind), { timeout: 15_000 })
        .toEqual([expect.stringMatching(/^domain\.(stopped|vanished)$/)]);
    } finally {
      env.sim.fleet.addDomain(host, { name: 'web', memoryMiB: web.memoryMiB, vcpus: web.vcpus, flags: '-b----' });
    }
  }, 30_000);
});

describe('an agent starting while a guest is crashed', () => {
  /** web kept crashed (on_crash="preserve") for one test, its crash alerts counted; as it was again afterwards. */
  function crashedWeb(r: Rig) {
    const web = env.sim.fleet.host('xen1').domains.find((x) => x.name === 'web');
    if (!web) throw new Error('no web');
    const saved = { flags: web.flags, id: web.id, cpuBase: web.cpuBase };
    web.flags = '---sc-';
    const crashes = async () => (await eventsOf(r)).filter((e) => e.kind === 'domain.crashed');
    const count = async () => (await crashes()).length;
    return {
      web,
      crashes,
      count,
      /** An agent starts, says the crash, and stops (what comes next is another agent's start). */
      saidByAnAgent: async () => {
        const first = makeSampler(r, pool);
        first.start();
        await expect.poll(count, { timeout: 10_000 }).toBe(1);
        await first.close();
      },
      restore: () => {
        web.flags = saved.flags;
        web.id = saved.id;
        web.cpuBase = saved.cpuBase;
      },
    };
  }

  it('reports the crash (on_crash="preserve" keeps it crashed: no transition would ever be seen)', async () => {
    const r = rig();
    const { crashes, restore } = crashedWeb(r);
    try {
      makeSampler(r, pool).start();
      await expect.poll(crashes, { timeout: 10_000 }).toMatchObject([{ host: 'xen1', domain: 'web' }]);
    } finally {
      restore();
    }
  }, 30_000);

  it('says it once, not again at each agent start; a new crash of the guest (a new domain id) is said', async () => {
    const r = rig();
    const { web, count, saidByAnAgent, restore } = crashedWeb(r);
    try {
      await saidByAnAgent();
      // The agent restarts (an upgrade, a reboot of its machine) long after the alert's cool-down: still crashed.
      const second = makeSampler(r, pool);
      second.start();
      const at = Date.now();
      // Two samples after its baseline: the baseline's crashes have been classified by then.
      await sampled(r, 'xen1', at);
      const after = (await r.samples.latest(['xen1']))['xen1']?.at ?? 0;
      await sampled(r, 'xen1', after);
      await second.close();
      expect(await count()).toBe(1);
      // Meanwhile someone restarted it and it crashed again: another domain, said.
      web.id += 100;
      makeSampler(r, pool).start();
      await expect.poll(count, { timeout: 10_000 }).toBe(2);
    } finally {
      restore();
    }
  }, 30_000);

  it('a guest that crashes again under the same id after its host rebooted (ids start again) is said', async () => {
    const r = rig();
    const { web, count, saidByAnAgent, restore } = crashedWeb(r);
    try {
      await saidByAnAgent();
      // The host rebooted while no agent watched: web started again as the same id, ran 3.5 s of CPU and crashed.
      web.flags = '-b----';
      web.cpuBase = 3.5;
      web.flags = '---sc-';
      makeSampler(r, pool).start();
      await expect.poll(count, { timeout: 10_000 }).toBe(2);
    } finally {
      restore();
    }
  }, 30_000);
});

describe('an agent restarting while a host is said to be unreachable', () => {
  it('says it is reachable again once it answers', async () => {
    const r = rig();
    const fault = await env.sim.faults.add('xen1', { kind: 'drop', match: /^xentop/, times: 0 });
    const first = makeSampler(r, pool);
    first.start();
    env.sim.faults.dropConnections('xen1');
    await expect.poll(async () => (await eventsOf(r)).map((e) => e.kind), { timeout: 10_000 }).toContain('host.unreachable');
    // The agent restarts (an upgrade); meanwhile the host comes back.
    await first.close();
    await env.sim.faults.remove(fault.id);
    makeSampler(r, pool).start();
    await expect
      .poll(async () => (await eventsOf(r)).filter((e) => e.kind.startsWith('host.')).map((e) => e.kind), { timeout: 10_000 })
      .toEqual(['host.unreachable', 'host.reachable']);
  }, 30_000);

  it('does not say again that it is down while it still is', async () => {
    const r = rig();
    const fault = await env.sim.faults.add('xen1', { kind: 'drop', match: /^xentop/, times: 0 });
    try {
      const first = makeSampler(r, pool);
      first.start();
      env.sim.faults.dropConnections('xen1');
      await expect.poll(async () => (await eventsOf(r)).map((e) => e.kind), { timeout: 10_000 }).toContain('host.unreachable');
      await first.close();
      const since = env.sim.log.lastSeq;
      const second = makeSampler(r, pool);
      second.start();
      // More failed starts than it takes to call a host unreachable (unreachableAfterFailures: 2).
      await expect
        .poll(() => env.sim.log.query({ host: 'xen1', match: /^xentop/, since }).length, { timeout: 10_000 })
        .toBeGreaterThanOrEqual(4);
      await second.close();
      expect((await eventsOf(r)).filter((e) => e.kind.startsWith('host.')).map((e) => e.kind)).toEqual(['host.unreachable']);
    } finally {
      await env.sim.faults.remove(fault.id);
    }
  }, 30_000);
});

describe('a host whose xentop has no -f (names cut to 10 characters)', () => {
  it('reports a long-named guest just started under its full name, as xenops’ own, and nothing under the cut name', async () => {
    const r = rig();
    // Xen 3.x: xentop has no -f; the sampler maps 10-character names back through the list.
    const noF = await withoutXentopF();
    try {
      const sampler = makeSampler(r, pool);
      sampler.start();
      await expect.poll(() => namesOn(r), { timeout: 10_000 }).toContain('database-primary');
      // xenops starts database-replica (its job marks the mutation, as processJob does) within a minute of the last list.
      await r.events.markMutation('database-replica', 30_000);
      env.sim.fleet.addDomain(env.sim.fleet.host('xen1'), { name: 'database-replica', memoryMiB: 256, vcpus: 1, flags: '-b----' });
      const about = async () => (await eventsOf(r)).filter((e) => 'domain' in e && e.domain.startsWith('database-'));
      await expect.poll(async () => (await about()).length, { timeout: 10_000 }).toBeGreaterThan(0);
      await sampler.close();
      expect(
        (await about()).map((e) => ({
          kind: e.kind,
          domain: 'domain' in e ? e.domain : '',
          byXenops: 'byXenops' in e ? e.byXenops : null,
        })),
      ).toEqual([{ kind: 'domain.appeared', domain: 'database-replica', byXenops: true }]);
    } finally {
      await env.sim.faults.remove(noF.id);
    }
  }, 30_000);

  it('samples a guest whose tenth character is a space (`Ubuntu 22 LTS`, printed `Ubuntu 22 `) under its full name', async () => {
    const r = rig();
    const noF = await withoutXentopF();
    env.sim.fleet.addDomain(env.sim.fleet.host('xen1'), { name: 'Ubuntu 22 LTS', memoryMiB: 256, vcpus: 1, flags: '-b----' });
    try {
      const sampler = makeSampler(r, pool);
      sampler.start();
      await expect.poll(() => namesOn(r), { timeout: 10_000 }).toContain('Ubuntu 22 LTS');
      await sampler.close();
      expect(await namesOn(r)).not.toContain('Ubuntu 22');
      expect((await eventsOf(r)).filter((e) => 'domain' in e && e.domain.startsWith('Ubuntu'))).toEqual([]);
    } finally {
      await env.sim.faults.remove(noF.id);
      removeDomains('xen1', ['Ubuntu 22 LTS']);
    }
  }, 30_000);

  it('says nothing of two guests it prints alike (webserver1 and webserver10), and keeps the one it knew', async () => {
    const r = rig();
    const noF = await withoutXentopF();
    const host = env.sim.fleet.host('xen1');
    env.sim.fleet.addDomain(host, { name: 'webserver1', memoryMiB: 256, vcpus: 1, flags: '-b----' });
    try {
      const sampler = makeSampler(r, pool);
      sampler.start();
      await expect.poll(() => namesOn(r), { timeout: 10_000 }).toContain('webserver1');
      env.sim.fleet.addDomain(host, { name: 'webserver10', memoryMiB: 256, vcpus: 1, flags: '-b----' });
      // Both printed `webserver1`: which is which cannot be told.
      await expect.poll(async () => (await namesOn(r)).filter((n) => n === 'webserver1').length, { timeout: 10_000 }).toBe(2);
      await sampler.close();
      expect((await eventsOf(r)).filter((e) => 'domain' in e && e.domain.startsWith('webserver'))).toEqual([]);
    } finally {
      await env.sim.faults.remove(noF.id);
      removeDomains('xen1', ['webserver1', 'webserver10']);
    }
  }, 30_000);

  it('when one of two guests printed alike goes, the other is not announced as appeared (it ran all along)', async () => {
    const r = rig();
    const noF = await withoutXentopF();
    const host = env.sim.fleet.host('xen1');
    env.sim.fleet.addDomain(host, { name: 'webserver1', memoryMiB: 256, vcpus: 1, flags: '-b----' });
    env.sim.fleet.addDomain(host, { name: 'webserver10', memoryMiB: 256, vcpus: 1, flags: '-b----' });
    try {
      const sampler = makeSampler(r, pool, { nameRefreshMs: 300 });
      sampler.start();
      await expect.poll(async () => (await namesOn(r)).filter((n) => n === 'webserver1').length, { timeout: 10_000 }).toBe(2);
      removeDomains('xen1', ['webserver10']);
      // The names are looked up again (300 ms here): webserver1 resolves, as itself.
      await expect.poll(async () => (await namesOn(r)).filter((n) => n === 'webserver1').length, { timeout: 10_000 }).toBe(1);
      await expect
        .poll(async () => (await r.samples.latest(['xen1']))['xen1']?.at ?? 0, { timeout: 10_000 })
        .toBeGreaterThan(Date.now() + 1_500);
      await sampler.close();
      expect((await eventsOf(r)).filter((e) => 'domain' in e && e.domain === 'webserver1')).toEqual([]);
    } finally {
      await env.sim.faults.remove(noF.id);
      removeDomains('xen1', ['webserver1', 'webserver10']);
    }
  }, 30_000);
});
