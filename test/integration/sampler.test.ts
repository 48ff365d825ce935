import { describe, expect, it } from 'vitest';
import type { RemoteRunner } from '../../src/agent/ssh/types.ts';
import { TransportError } from '../../src/core/errors.ts';
import { type FleetEvent, FleetEventLog } from '../../src/queue/fleet-events.ts';
import { SampleStore } from '../../src/queue/samples.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { fastSamplerOptions, samplerScene, simDrivers, simSampler } from '../helpers/sampler.ts';

/** When the tests began: the events they look at are those since. */
const t0 = Date.now() - 1;
const scene = samplerScene({ hosts: ['xen1', 'xen2'] });

/** Waits (bounded) for an event appended since the test began that matches. */
async function eventMatching(pred: (e: FleetEvent) => boolean, timeoutMs = 10_000): Promise<FleetEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await scene.events.since(t0)).find(pred);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no matching fleet event; have: ${JSON.stringify(await scene.events.since(t0))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const env = () => scene.env;
const sim = () => env().sim.fleet;
const host = (name: string) => sim().host(name);

describe('Sampler against the simulator', () => {
  it('streams xentop -f per host, publishing samples with real CPU% and history, holding no command slot', async () => {
    await expect
      .poll(async () => Object.values(await scene.samples.latest(['xen1', 'xen2'])).every((s) => s !== null), { timeout: 10_000 })
      .toBe(true);
    const latest = await scene.samples.latest(['xen1', 'xen2']);
    expect(latest['xen1']?.domains.map((d) => d.name)).toEqual(['Domain-0', 'web']);
    expect(latest['xen2']?.domains.map((d) => d.name)).toEqual(['Domain-0', 'files']);
    // The first iteration (CPU% 0.0) was dropped: Domain-0 burns 0.2 CPU seconds a second in the simulator.
    expect(latest['xen1']?.domains[0]?.cpuPercent).toBeGreaterThan(5);
    expect(latest['xen1']?.intervalSeconds).toBe(1);
    expect(await scene.redis.pttl(scene.samples.latestKey('xen1'))).toBeLessThanOrEqual(3000);
    expect(host('xen1').commandLog.filter((c) => c.startsWith('xentop'))).toEqual(['xentop -b -d 1 -f']);
    expect(scene.pool.stats()['xen1']?.active).toBe(0);
    expect(env().sim.faults.activity('xen1').active).toBe(1);
    await expect.poll(async () => (await scene.samples.history('xen1', t0)).length, { timeout: 10_000 }).toBeGreaterThan(0);
    const [point] = await scene.samples.history('xen1', t0);
    expect(point?.domains['web']).toMatchObject({ memoryKiB: 2048 * 1024 });
    expect(point?.domains['Domain-0']?.cpuMax).toBeGreaterThan(5);
  });

  it('reports a defined domain started outside xenops as domain.started, an unknown one as domain.appeared', async () => {
    sim().addDomain(host('xen1'), { name: 'mail', memoryMiB: 1024, vcpus: 2, flags: '-b----' });
    sim().addDomain(host('xen1'), { name: 'intruder', memoryMiB: 256, vcpus: 1, flags: '-b----' });
    const started = await eventMatching((e) => e.kind === 'domain.started' && 'domain' in e && e.domain === 'mail');
    expect(started).toMatchObject({ kind: 'domain.started', host: 'xen1', domain: 'mail', byXenops: false });
    expect((started as { uuid: string | null }).uuid).toBe(host('xen1').domains.find((d) => d.name === 'mail')?.uuid);
    const appeared = await eventMatching((e) => 'domain' in e && e.domain === 'intruder');
    expect(appeared).toMatchObject({ kind: 'domain.appeared', host: 'xen1', byXenops: false });
  });

  it('reports a crash once, on the transition', async () => {
    const web = host('xen1').domains.find((d) => d.name === 'web');
    if (!web) throw new Error('no web');
    web.flags = '---sc-';
    const crashed = await eventMatching((e) => e.kind === 'domain.crashed');
    expect(crashed).toMatchObject({ host: 'xen1', domain: 'web', byXenops: false });
    web.flags = '-b----';
    // Back to normal and crashed again: a second event (so the first was not a one-off).
    // The next sample (one a second here): a poll of vitest's default 1 s could end just before it is in.
    await expect
      .poll(async () => (await scene.samples.latest(['xen1']))['xen1']?.domains.find((d) => d.name === 'web')?.state, { timeout: 10_000 })
      .toBe('--b---');
    web.flags = '---sc-';
    await expect
      .poll(async () => (await scene.events.since(t0)).filter((e) => e.kind === 'domain.crashed').length, { timeout: 10_000 })
      .toBe(2);
    web.flags = '-b----';
  });

  it('reports domains going away as stopped (still defined) or vanished, and byXenops after a marked mutation', async () => {
    const x1 = host('xen1');
    await scene.events.markMutation('mail', 30_000);
    sim().removeDomain(x1, x1.domains.find((d) => d.name === 'mail') as (typeof x1.domains)[number]);
    sim().removeDomain(x1, x1.domains.find((d) => d.name === 'intruder') as (typeof x1.domains)[number]);
    expect(await eventMatching((e) => e.kind === 'domain.stopped')).toMatchObject({ host: 'xen1', domain: 'mail', byXenops: true });
    expect(await eventMatching((e) => e.kind === 'domain.vanished')).toMatchObject({ host: 'xen1', domain: 'intruder', byXenops: false });
  });

  it('reports a domain moved to another host outside xenops as one domain.migrated, with no stop on the source', async () => {
    const x2 = host('xen2');
    const files = x2.domains.find((d) => d.name === 'files');
    if (!files) throw new Error('no files');
    sim().removeDomain(x2, files);
    sim().addDomain(host('xen1'), { name: 'files', memoryMiB: 4096, vcpus: 2, flags: '-b----' });
    const migrated = await eventMatching((e) => e.kind === 'domain.migrated');
    expect(migrated).toMatchObject({ kind: 'domain.migrated', host: 'xen1', from: 'xen2', domain: 'files', byXenops: false });
    // A later change on xen2 is reported after anything about files would have been.
    sim().addDomain(x2, { name: 'sentinel', memoryMiB: 128, vcpus: 1, flags: '-b----' });
    await eventMatching((e) => 'domain' in e && e.domain === 'sentinel');
    const aboutFiles = (await scene.events.since(t0)).filter((e) => 'domain' in e && e.domain === 'files').map((e) => e.kind);
    expect(aboutFiles).toEqual(['domain.migrated']);
  });

  it('restarts the stream when the connection is cut, without calling the host unreachable', async () => {
    const streams = () => host('xen1').commandLog.filter((c) => c.startsWith('xentop')).length;
    const before = streams();
    expect(env().sim.faults.dropConnections('xen1')).toBeGreaterThan(0);
    const cutAt = Date.now();
    await expect.poll(streams, { timeout: 10_000 }).toBe(before + 1);
    await expect
      .poll(async () => (await scene.samples.latest(['xen1']))['xen1']?.at ?? 0, { timeout: 10_000 })
      .toBeGreaterThan(cutAt + 300);
    expect((await scene.events.since(t0)).filter((e) => e.kind === 'host.unreachable')).toEqual([]);
  });

  it('says host.unreachable once after repeated failed restarts, and host.reachable when it works again', async () => {
    const fault = await env().sim.faults.add('xen2', { kind: 'drop', match: /^xentop/, times: 0 });
    env().sim.faults.dropConnections('xen2');
    const down = await eventMatching((e) => e.kind === 'host.unreachable');
    expect(down).toMatchObject({ host: 'xen2' });
    expect((down as { reason: string }).reason).toMatch(/xen2/);
    // More failures follow (backoff capped at 200 ms) but the event is not repeated.
    await expect
      .poll(
        () =>
          env()
            .sim.faults.list()
            .find((f) => f.id === fault.id)?.hits ?? 0,
        { timeout: 10_000 },
      )
      .toBeGreaterThan(4);
    await env().sim.faults.remove(fault.id);
    const up = await eventMatching((e) => e.kind === 'host.reachable');
    expect(up).toMatchObject({ host: 'xen2' });
    const kinds = (await scene.events.since(t0)).filter((e) => e.host === 'xen2' && e.kind.startsWith('host.')).map((e) => e.kind);
    expect(kinds).toEqual(['host.unreachable', 'host.reachable']);
  });

  it('falls back to polling xentop through run() when the runner cannot stream', async () => {
    const otherPrefix = uniquePrefix();
    const store = new SampleStore(scene.redis, otherPrefix);
    const { pool, redis, prefix } = scene;
    // A runner with run() alone: no stream.
    const runner: RemoteRunner = { run: (h, argv, o) => pool.run(h, argv, o) };
    const polled = simSampler(fastSamplerOptions(['xen2']), {
      runner,
      drivers: simDrivers(env(), pool),
      redis,
      prefix,
      samples: store,
      events: new FleetEventLog(redis, otherPrefix),
    });
    try {
      polled.start();
      await expect.poll(async () => (await store.latest(['xen2']))['xen2']?.domains.length ?? 0, { timeout: 10_000 }).toBeGreaterThan(0);
      expect((await store.latest(['xen2']))['xen2']?.domains[0]?.cpuPercent).toBeGreaterThan(5);
      expect(host('xen2').commandLog).toContain('xentop -b -i 2 -d 1 -f');
    } finally {
      await polled.close();
      await deleteKeysWithPrefix(REDIS_URL, otherPrefix);
    }
  });

  it('closes promptly, ending every stream', async () => {
    const started = Date.now();
    await scene.sampler.close();
    expect(Date.now() - started).toBeLessThan(2500);
    await expect.poll(() => env().sim.faults.activity('xen1').active + env().sim.faults.activity('xen2').active, { timeout: 5000 }).toBe(0);
  });
});

describe('SshPool.stream', () => {
  it('passes output on as it comes and resolves with the exit code', async () => {
    const p = env().pool();
    const chunks: string[] = [];
    const done = await p.stream('xen1', ['xentop', '-b', '-i', '2', '-d', '1'], {
      onStdout: (c) => chunks.push(c),
      signal: new AbortController().signal,
    });
    expect(done).toEqual({ code: 0 });
    expect(chunks.join('').match(/NAME\s+STATE/g)).toHaveLength(2);
    let stderr = '';
    const failed = await p.stream('xen1', ['xl', 'list', 'nosuch'], {
      onStdout: () => {},
      onStderr: (c) => {
        stderr += c;
      },
      signal: new AbortController().signal,
    });
    expect(failed.code).toBe(1);
    expect(stderr).toContain('nosuch');
  });

  it('holds none of the host command slots, and ends its command when aborted', async () => {
    const p = env().pool({}, { maxConcurrent: 1 });
    const controller = new AbortController();
    let output = '';
    const running = p.stream('xen1', ['xentop', '-b', '-d', '1'], {
      onStdout: (c) => {
        output += c;
      },
      signal: controller.signal,
    });
    await expect.poll(() => output.length, { timeout: 5000 }).toBeGreaterThan(0);
    expect((await p.run('xen1', ['xl', 'list'])).code).toBe(0);
    expect(p.stats()['xen1']?.active).toBe(0);
    const before = env().sim.faults.activity('xen1').active;
    controller.abort();
    expect(await running).toEqual({ code: null });
    await expect.poll(() => env().sim.faults.activity('xen1').active, { timeout: 5000 }).toBe(before - 1);
  });

  it('rejects with a TransportError when it cannot start (host key mismatch)', async () => {
    const p = env().pool({ xen1: { hostKey: `SHA256:${'A'.repeat(43)}` } });
    const err = await p
      .stream('xen1', ['xentop', '-b'], { onStdout: () => {}, signal: new AbortController().signal })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as Error).name).toBe('HostKeyError');
  });
});
