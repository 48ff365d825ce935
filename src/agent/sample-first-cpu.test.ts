import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { top } from '../../commands/top.ts';
import { domainSample } from '../../test/helpers/domain-sample.ts';
import { busiestRows, hostStatusWith } from '../../test/helpers/host-status.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { fastSamplerOptions, simDrivers } from '../../test/helpers/sampler.ts';
import { quietLogger, type SimEnv, startSimEnv, twoHostFleet } from '../../test/helpers/sim.ts';
import { Config } from '../config/schema.ts';
import { type HostOutcome, renderContext } from '../core/define-command.ts';
import type { HostSample } from '../core/samples.ts';
import { DomainLocks } from '../queue/coordination.ts';
import { FleetEventLog } from '../queue/fleet-events.ts';
import { SampleStore } from '../queue/samples.ts';
import { runHandler } from './handlers.ts';
import { Sampler } from './sampler.ts';
import { rollup } from './sampling.ts';
import type { SshPool } from './ssh/pool.ts';
import type { RemoteRunner, RunResult } from './ssh/types.ts';
import type { XenToolstack } from './toolstack/driver.ts';
import { XenToolstack as Driver } from './toolstack/driver.ts';

/**
 * xentop's CPU% of a domain it has no earlier sample of (just started, restarted: a new domid) is 0.0, printed as a
 * figure. It is unknown, not idle: /top, /status's busiest list and the history must not take it as a reading.
 */
const prefix = uniquePrefix();
let env: SimEnv;
let pool: SshPool;
let redis: Redis;
const config = Config.parse({ hosts: { xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` } } });
const meta = { requestId: 'r', person: 'p', platform: 'terminal' as const, userId: 'u', channelId: 'c', command: 'top' };

/** The store, keeping a copy of every sample the sampler writes (the first one of a new guest lives one interval). */
class RecordingStore extends SampleStore {
  readonly written: HostSample[] = [];
  override async putLatest(sample: HostSample, ttlMs: number): Promise<void> {
    this.written.push(sample);
    await super.putLatest(sample, ttlMs);
  }
}

beforeAll(async () => {
  env = await startSimEnv({ fleet: twoHostFleet(), timeScale: 0.2 });
  pool = env.pool();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  redis?.disconnect();
});

describe('the first CPU% of a guest that just started', () => {
  it('GIVEN a busy guest started while the sampler runs THEN its first sample has CPU% unknown (null), later ones real', async () => {
    const store = new RecordingStore(redis, prefix);
    const drivers = simDrivers(env, pool);
    const sampler = new Sampler(fastSamplerOptions(['xen1']), {
      runner: pool,
      samples: store,
      events: new FleetEventLog(redis, prefix),
      locks: new DomainLocks(redis, prefix),
      list: (host) => (drivers[host] as XenToolstack).list(),
      logger: quietLogger,
    });
    sampler.start();
    try {
      await expect.poll(() => store.written.length, { timeout: 10_000 }).toBeGreaterThan(0);
      const xen1 = env.sim.fleet.host('xen1');
      env.sim.fleet.addDomain(xen1, { name: 'burner', memoryMiB: 512, vcpus: 1, flags: 'r-----', cpuRate: 0.9 });
      const cpuOf = (s: HostSample) => s.domains.find((d) => d.name === 'burner')?.cpuPercent;
      await expect.poll(() => store.written.filter((s) => cpuOf(s) !== undefined).length, { timeout: 10_000 }).toBeGreaterThan(1);
      const [first, second] = store.written.filter((s) => cpuOf(s) !== undefined) as [HostSample, HostSample];
      expect(cpuOf(first)).toBeNull();
      expect(cpuOf(second)).toBeGreaterThan(50);
      // Domain-0, sampled all along, keeps its figure in the same sample.
      expect(first.domains.find((d) => d.name === 'Domain-0')?.cpuPercent).toBeGreaterThan(5);
    } finally {
      await sampler.close();
    }
  }, 20_000);

  it('GIVEN a restart between two iterations (CPU time went back) THEN CPU% is unknown, and the history point keeps the real one', () => {
    const base = { state: '-----r', memoryKiB: 1024, maxMemoryKiB: 2048, vcpus: 1 };
    const rates = { netTxKiBps: null, netRxKiBps: null, vbdRdPerSec: null, vbdWrPerSec: null };
    const s = (at: number, cpuPercent: number | null, cpuSeconds: number): HostSample => ({
      host: 'xen1',
      at,
      intervalSeconds: 5,
      domains: [{ name: 'web', ...base, ...rates, cpuPercent, cpuSeconds }],
    });
    const point = rollup([s(1000, 80, 500), s(6000, null, 1), s(11_000, 60, 6)], 11_000);
    expect(point.domains['web']).toMatchObject({ cpuAvg: 70, cpuMax: 80, cpuSeconds: 6 });
  });
});

describe('a one-shot /top', () => {
  const HEAD =
    '      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID';
  const row = (name: string, secs: number, cpu: string) =>
    `${name.padStart(10)} -----r ${String(secs).padStart(10)} ${cpu.padStart(6)}    1048576   12.5    1048576      12.5     1    1        0        0    1        0        0        0          0          0    0`;
  function answering(stdout: string): Driver {
    const runner: RemoteRunner = {
      run: async (_h, words): Promise<RunResult> =>
        words[0] === 'xentop' ? { code: 0, stdout, stderr: '' } : { code: 1, stdout: '', stderr: 'not asked\n' },
    };
    return new Driver('xl', runner, { name: 'xen1', configDirs: [], consoleLogDir: '/var/log/xen/console', shutdownTimeoutSeconds: 5 });
  }
  async function topOf(stdout: string): Promise<HostOutcome<'host.top'>> {
    const ts = answering(stdout);
    const result = await runHandler({ op: 'host.top', host: 'xen1', meta }, { config, toolstack: async () => ts, op: {} });
    return { host: 'xen1', ok: true, result, agent: null, frozen: null };
  }

  it('GIVEN a guest started (or restarted) between its two iterations THEN its CPU% shows "-", sorted below real figures', async () => {
    const out = [
      HEAD,
      row('Domain-0', 5000, '0.0'),
      row('web', 900, '0.0'),
      HEAD,
      row('Domain-0', 5001, '20.0'),
      row('new', 1, '0.0'),
      row('web', 3, '0.0'),
    ];
    const outcome = await topOf(`${out.join('\n')}\n`);
    const domains = outcome.ok ? outcome.result.domains : [];
    expect(domains.map((d) => [d.name, d.cpuPercent])).toEqual([
      ['Domain-0', 20],
      ['new', null],
      ['web', null],
    ]);
    const reply = top.render([outcome], { chart: false }, renderContext({ now: Date.now() }));
    const table = reply.blocks.find((b) => b.type === 'table');
    expect(table?.type === 'table' && table.table.rows.map((r) => [r[1], r[3]])).toEqual([
      ['Domain-0', '20.0'],
      ['new', '-'],
      ['web', '-'],
    ]);
  });

  it('GIVEN xentop printed one iteration only THEN no CPU% is taken as a reading', async () => {
    const outcome = await topOf(`${[HEAD, row('Domain-0', 5000, '0.0')].join('\n')}\n`);
    expect(outcome.ok && outcome.result.domains.map((d) => d.cpuPercent)).toEqual([null]);
  });
});

describe("/status's busiest list", () => {
  it('GIVEN a guest whose CPU% is not known yet THEN it is listed below the measured ones with "-", never as 0.0', async () => {
    const now = Date.now();
    const d = (name: string, cpuPercent: number | null) => domainSample(name, { state: '-----r', cpuPercent, memoryKiB: 1024 * 1024 });
    const sample: HostSample = { host: 'xen1', at: now, intervalSeconds: 5, domains: [d('Domain-0', 3), d('fresh', null), d('idle', 0.5)] };
    const result = await hostStatusWith(sample, now);
    expect(result.busiest?.map((b) => [b.name, b.cpuPercent])).toEqual([
      ['idle', 0.5],
      ['fresh', null],
    ]);
    expect(busiestRows(result, now)?.map((r) => [r[0], r[2]])).toEqual([
      ['idle', '0.5'],
      ['fresh', '-'],
    ]);
  });
});
