import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Sampler, SamplerOptions } from '../../src/agent/sampler.ts';
import type { SshPool } from '../../src/agent/ssh/pool.ts';
import type { RemoteRunner } from '../../src/agent/ssh/types.ts';
import { alertFor } from '../../src/core/alerts.ts';
import { type FleetEvent, FleetEventLog } from '../../src/queue/fleet-events.ts';
import { SampleStore } from '../../src/queue/samples.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { fastSamplerOptions, simDrivers, simSampler } from '../helpers/sampler.ts';
import { type SimEnv, startSimEnv, twoHostFleet } from '../helpers/sim.ts';

/**
 * A host whose commands all hang (a hung Dom0, xenstored wedged, a stuck NFS mount): the SSH connection stays open,
 * xentop starts and prints nothing. The sampler must say so once, as it says a host it cannot connect to, and say its
 * return (real simulator, real Redis, real node-ssh).
 */
let env: SimEnv;
let pool: SshPool;
let redis: Redis;
const prefixes: string[] = [];
const samplers: Sampler[] = [];

/** The watchdog gives up on a silent stream after 1 s; two such starts in a row make a host unreachable. */
const OPTIONS: SamplerOptions = { ...fastSamplerOptions(['xen1', 'xen2']), staleMs: 1000, unreachableAfterFailures: 2 };
const HUNG_REASON = 'it answered nothing for 1 s (the SSH connection is open; xentop printed no output)';

interface Rig {
  events: FleetEventLog;
  samples: SampleStore;
  t0: number;
}

function makeSampler(runner: RemoteRunner = pool, options: Partial<SamplerOptions> = {}): Rig & { sampler: Sampler } {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  const events = new FleetEventLog(redis, prefix);
  const samples = new SampleStore(redis, prefix);
  const sampler = simSampler({ ...OPTIONS, ...options }, { runner, drivers: simDrivers(env, pool), redis, prefix, samples, events });
  samplers.push(sampler);
  return { sampler, events, samples, t0: Date.now() - 1 };
}

async function hostEvents(r: Rig): Promise<FleetEvent[]> {
  return (await r.events.since(r.t0)).filter((e) => e.kind === 'host.unreachable' || e.kind === 'host.reachable');
}

/** Waits (blocking on the simulator's log) until `count` more xentop commands on the host have ended. */
async function xentopRuns(host: string, since: number, count: number): Promise<void> {
  await env.sim.log.waitFor({ host, match: /^xentop/, since, ended: true, count, timeoutMs: 15_000 });
}

beforeAll(async () => {
  env = await startSimEnv({ fleet: twoHostFleet(), timeScale: 0.2 });
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

describe('a host whose xentop hangs (connected, nothing answers)', () => {
  it('is said to be not answering once, with a plain reason, nothing said of the other host; its return is said', async () => {
    // Every xentop on xen1 hangs from the start (a stream already printing would go on: the hang takes new commands).
    const hang = await env.sim.faults.add('xen1', { kind: 'hang', match: /^xentop/, times: 0 });
    const since = env.sim.log.lastSeq;
    const r = makeSampler();
    r.sampler.start();
    await expect.poll(async () => (await r.samples.latest(['xen2']))['xen2']?.at ?? 0, { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(() => hostEvents(r), { timeout: 15_000 }).toHaveLength(1);
    // More silent starts than it takes to say it: still said once.
    await xentopRuns('xen1', since, 4);
    const said = await hostEvents(r);
    expect(said).toEqual([{ kind: 'host.unreachable', host: 'xen1', reason: HUNG_REASON, at: expect.any(Number), silentMs: 1000 }]);
    // What the alert desk posts of it: true of a host whose SSH connection is open.
    const alert = alertFor(said[0] as FleetEvent);
    expect(alert?.reply.title).toBe('xen1 is not answering');
    expect(alert?.reply.blocks[0]).toMatchObject({
      text: expect.stringMatching(
        /^The agent's SSH connection to xen1 is open, but it answered nothing for 1 s: xentop printed no output\. \(seen .* UTC\)$/,
      ),
    });

    // The hang ends: xentop prints again, and the host's return is said.
    await env.sim.faults.remove(hang.id);
    await expect
      .poll(async () => (await hostEvents(r)).map((e) => `${e.kind} ${e.host}`), { timeout: 15_000 })
      .toEqual(['host.unreachable xen1', 'host.reachable xen1']);
  }, 30_000);

  it('a stream that printed and then went silent is not said by itself (the next start decides)', async () => {
    // The stream under way stops passing on what xentop prints; the next one (a restart) is not silenced.
    let silenceCurrent = () => {};
    const runner: RemoteRunner = {
      run: (h, argv, o) => pool.run(h, argv, o),
      stream: (h, argv, o) => {
        let silent = false;
        silenceCurrent = () => {
          silent = true;
        };
        return pool.stream(h, argv, { ...o, onStdout: (chunk) => (silent ? undefined : o.onStdout(chunk)) });
      },
    };
    // One silent start would be enough to say it.
    const r = makeSampler(runner, { hosts: ['xen1'], unreachableAfterFailures: 1 });
    r.sampler.start();
    const latest = async () => (await r.samples.latest(['xen1']))['xen1']?.at ?? 0;
    await expect.poll(latest, { timeout: 10_000 }).toBeGreaterThan(0);
    const since = env.sim.log.lastSeq;
    silenceCurrent();
    // The watchdog restarts it, and the new stream samples again.
    await env.sim.log.waitFor({ host: 'xen1', match: /^xentop/, since, count: 1, timeoutMs: 10_000 });
    const restartedAt = Date.now();
    await expect.poll(latest, { timeout: 10_000 }).toBeGreaterThan(restartedAt);
    expect(await hostEvents(r)).toEqual([]);
  }, 30_000);
});

describe('a runner without streams (xentop polled), on a host whose xentop hangs', () => {
  it('is said to be unreachable once its polls time out, and reachable again once a poll answers', async () => {
    // Each poll is a command with the pool's timeout (1 s here): a hung host fails it.
    const polled = env.pool({}, { commandTimeoutMs: 1000 });
    const hang = await env.sim.faults.add('xen1', { kind: 'hang', match: /^xentop/, times: 0 });
    const since = env.sim.log.lastSeq;
    try {
      const r = makeSampler({ run: (h, argv, o) => polled.run(h, argv, o) }, { hosts: ['xen1'] });
      r.sampler.start();
      await expect.poll(() => hostEvents(r), { timeout: 15_000 }).toHaveLength(1);
      await xentopRuns('xen1', since, 4);
      expect(await hostEvents(r)).toEqual([
        {
          kind: 'host.unreachable',
          host: 'xen1',
          reason: 'xentop on xen1 did not finish within 1 s; its outcome is unknown',
          at: expect.any(Number),
        },
      ]);
      await env.sim.faults.remove(hang.id);
      await expect
        .poll(async () => (await hostEvents(r)).map((e) => e.kind), { timeout: 15_000 })
        .toEqual(['host.unreachable', 'host.reachable']);
    } finally {
      await polled.close();
    }
  }, 30_000);
});

describe('a host whose xentop exits with an error code', () => {
  it('answers (the command failed), so it is never said to be unreachable', async () => {
    const r = makeSampler(pool, { hosts: ['xen1'] });
    await env.sim.faults.add('xen1', { kind: 'fail', match: /^xentop/, times: 0, code: 1, stderr: 'xentop: xc_interface_open failed\n' });
    const since = env.sim.log.lastSeq;
    r.sampler.start();
    // More failed starts than it takes to call a host unreachable (unreachableAfterFailures: 2).
    await xentopRuns('xen1', since, 4);
    await r.sampler.close();
    expect(await hostEvents(r)).toEqual([]);
  }, 30_000);
});
