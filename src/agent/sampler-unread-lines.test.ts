import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status } from '../../commands/status.ts';
import { top } from '../../commands/top.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { quietLogger, type SimEnv, startSimEnv, twoHostFleet } from '../../test/helpers/sim.ts';
import { Config } from '../config/schema.ts';
import { type HostOutcome, renderContext } from '../core/define-command.ts';
import type { Reply } from '../core/reply.ts';
import type { HostSample } from '../core/samples.ts';
import { DomainLocks } from '../queue/coordination.ts';
import { FleetEventLog } from '../queue/fleet-events.ts';
import { SampleStore } from '../queue/samples.ts';
import { runHandler } from './handlers.ts';
import { Sampler } from './sampler.ts';
import type { SshPool } from './ssh/pool.ts';
import type { RemoteRunner } from './ssh/types.ts';
import { XenToolstack } from './toolstack/driver.ts';

/**
 * A line of the live xentop stream the sampler cannot read (a row garbled on the wire, a figure xentop printed as
 * `-nan`) used to go only to the agent's log, and only when the stream ended: /top and /status ranked the host's
 * guests without that one and did not say so. The sampler itself is real (real Redis); its stream is a host's.
 */
const HEAD =
  '      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID';
const row = (name: string, cpuSec: number, cpu: string) =>
  `${name.padStart(10)} --b--- ${String(cpuSec).padStart(10)} ${cpu.padStart(6)}    1048576   12.5    1048576      12.5     1    1        0        0    1        0        0        0          0          0    0`;

const config = Config.parse({ hosts: { xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` } } });
const meta = (command: string) => ({ requestId: 'r', person: 'p', platform: 'terminal' as const, userId: 'u', channelId: 'c', command });
const text = (r: Reply) => r.blocks.map((b) => ('text' in b ? b.text : '')).join('\n');

const prefixes: string[] = [];
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
let env: SimEnv;
let pool: SshPool;
beforeAll(async () => {
  env = await startSimEnv({ fleet: twoHostFleet() });
  pool = env.pool();
});
afterAll(async () => {
  await env?.stop();
  for (const p of prefixes) await deleteKeysWithPrefix(REDIS_URL, p);
  redis.disconnect();
});

/** A host whose xentop stream prints these two iterations, then stays open (nothing more) until stopped. */
function streaming(first: string[], second: string[]): RemoteRunner {
  return {
    run: async () => ({ code: 1, stdout: '', stderr: 'not asked\n' }),
    stream: async (_host, _argv, options) => {
      options.onStdout(`${[...first, ...second].join('\n')}\n`);
      await new Promise<void>((resolve) => options.signal.addEventListener('abort', () => resolve(), { once: true }));
      return { code: null };
    },
  };
}

/** The sampler's first sample of that stream (its second iteration: the first is the baseline). */
async function sampleOf(runner: RemoteRunner): Promise<{ sampler: Sampler; sample: HostSample }> {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  const sampler = new Sampler(
    { hosts: ['xen1'], intervalSeconds: 5, historyEverySeconds: 60, historyHours: 1, unreachableAfterFailures: 5, quietMs: 20 },
    {
      runner,
      samples: new SampleStore(redis, prefix),
      events: new FleetEventLog(redis, prefix),
      locks: new DomainLocks(redis, prefix),
      list: async () => [],
      logger: quietLogger,
    },
  );
  sampler.start();
  await expect.poll(() => sampler.latest('xen1'), { timeout: 5_000 }).not.toBeNull();
  return { sampler, sample: sampler.latest('xen1') as HostSample };
}

const driver = () =>
  new XenToolstack('xl', pool, {
    name: 'xen1',
    configDirs: env.hosts['xen1']?.configDirs ?? [],
    consoleLogDir: '/var/log/xen/console',
    shutdownTimeoutSeconds: 5,
  });

async function topFrom(sampler: Sampler): Promise<HostOutcome<'host.top'>> {
  const samples = { latest: (h: string) => sampler.latest(h), history: async () => [] };
  const result = await runHandler(
    { op: 'host.top', host: 'xen1', meta: meta('top') },
    { config, toolstack: async () => driver(), op: {}, samples },
  );
  return { host: 'xen1', ok: true, result, agent: null, frozen: null };
}

async function statusFrom(sampler: Sampler): Promise<HostOutcome<'host.status'>> {
  const samples = { latest: (h: string) => sampler.latest(h), history: async () => [] };
  const result = await runHandler(
    { op: 'host.status', host: 'xen1', meta: meta('status') },
    { config, toolstack: async () => driver(), op: {}, samples },
  );
  return { host: 'xen1', ok: true, result, agent: { where: '1@a', seenAgoMs: 0, alive: true }, frozen: null };
}

describe('a live xentop line the sampler could not read', () => {
  it('GIVEN a garbled row in the latest iteration THEN /top and /status say so, quoted safely and cut, not a short table alone', async () => {
    // A dropped byte merged two figures, and the host printed a bidi control in it: no row to read, nothing to guess.
    const garbled = `${row('db', 120, '1.6.2').replace('db', 'd\u202eb')}${' 7'.repeat(40)}`;
    const { sampler, sample } = await sampleOf(
      streaming(
        [HEAD, row('Domain-0', 100, '0.0'), row('db', 100, '0.0'), row('web', 100, '0.0')],
        [HEAD, row('Domain-0', 101, '3.0'), garbled, row('web', 104, '9.0')],
      ),
    );
    try {
      expect(sample.domains.map((d) => d.name)).toEqual(['Domain-0', 'web']);
      const t = await topFrom(sampler);
      expect(t.ok && t.result.live).toBe(true);
      const topText = text(top.render([t], { chart: false }, renderContext({ now: Date.now() })));
      expect(topText).toContain('⚠ xen1: could not read 1 line of xentop, so a guest may be missing here: ');
      expect(topText).toContain('d\\u202eb');
      expect(topText).not.toContain('\u202e');
      expect(topText).toMatch(/…$/m);
      const s = await statusFrom(sampler);
      const statusText = text(status.render([s] as never, {} as never, renderContext({ now: Date.now(), posts: config.posts })));
      expect(statusText).toContain('⚠ xen1: could not read 1 line of xentop, so a guest may be missing here: ');
    } finally {
      await sampler.close();
    }
  }, 20_000);

  it('GIVEN a row whose CPU(%) xentop printed as -nan, inf or negative THEN the guest is sampled with its CPU% unknown', async () => {
    const { sampler, sample } = await sampleOf(
      streaming(
        [HEAD, row('Domain-0', 100, '0.0'), row('app', 100, '0.0'), row('db', 100, '0.0'), row('web', 100, '0.0')],
        [HEAD, row('Domain-0', 101, '-nan'), row('app', 101, 'inf'), row('db', 102, '-12.5'), row('web', 104, '9.0')],
      ),
    );
    try {
      expect(sample.domains.map((d) => [d.name, d.cpuPercent])).toEqual([
        ['Domain-0', null],
        ['app', null],
        ['db', null],
        ['web', 9],
      ]);
      expect(sample.unread).toBeUndefined();
    } finally {
      await sampler.close();
    }
  }, 20_000);
});
