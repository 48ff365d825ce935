import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { createBot } from '../../src/app/bot.ts';
import type { Config } from '../../src/config/schema.ts';
import type { SimFleetSpec } from '../../src/sim/index.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, simBotConfig, startSimEnv } from '../helpers/sim.ts';

/**
 * A lookup miss asks every host the person may use for its list. At fleet scale that is one job per host: two
 * misses at the same moment (two people, or one typing again), or a miss during the periodic refresh, must not
 * ask every host twice — the hosts already being asked are waited for, not asked again.
 */
const HOSTS = 100;
const names = Array.from({ length: HOSTS }, (_, i) => `h${String(i + 1).padStart(3, '0')}`);
const fleet: SimFleetSpec = {
  hosts: Object.fromEntries(
    names.map((h) => [
      h,
      {
        toolstack: 'xl' as const,
        domains: [
          { name: `${h}-a`, memoryMiB: 512, vcpus: 1, running: true },
          { name: `${h}-b`, memoryMiB: 512, vcpus: 1, running: false },
        ],
      },
    ]),
  ),
};

const prefix = uniquePrefix();
let env: SimEnv;
let config: Config;
let agent: Agent;
let bot: Awaited<ReturnType<typeof createBot>>;
let adapter: CaptureAdapter;

/** Round trips that listed a host's domains since `since` (a refresh is one per host). */
const listsSince = (since: number, host?: string) =>
  new Set(env.sim.log.query({ since, host, match: /^xl list\b/ }).map((e) => `${e.host}#${e.trip}`)).size;

beforeAll(async () => {
  env = await startSimEnv({ fleet, timeScale: 0.02 });
  config = simBotConfig(env, prefix, REDIS_URL);
  config = { ...config, sampling: { ...config.sampling, enabled: false } };
  agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger });
  adapter = new CaptureAdapter();
  bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
  await bot.start();
  // The start-up refresh has heard every host: what follows starts from a warm view.
  await env.sim.log.waitFor({ match: /^xl list\b/, ended: true, count: HOSTS, timeoutMs: 60_000 });
  await vi.waitFor(() => expect(bot.fleet.coldHosts()).toEqual([]), { timeout: 30_000, interval: 50 });
}, 120_000);

afterAll(async () => {
  await bot?.stop();
  await agent?.close(2_000);
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

describe('lookup misses at fleet scale', () => {
  it('two misses at once ask each host for its list once, not twice', async () => {
    const since = env.sim.log.lastSeq;
    const a = chatRequest('miss-a', 'show nosuchguest');
    const b = chatRequest('miss-b', 'show nosuchguest', 'carol');
    await Promise.all([bot.core.handle(a, targetOf(a)), bot.core.handle(b, targetOf(b))]);
    const [ra, rb] = await Promise.all([adapter.finalReply('miss-a'), adapter.finalReply('miss-b')]);
    expect(ra.kind).toBe('error');
    expect(JSON.stringify(ra)).toContain('no domain named nosuchguest');
    expect(JSON.stringify(rb)).toContain('no domain named nosuchguest');
    expect(listsSince(since)).toBe(HOSTS);
  }, 60_000);

  it('a name new on two healthy hosts is still said to be ambiguous (the lookup does not stop at the first copy)', async () => {
    for (const host of ['h010', 'h090'])
      env.sim.fleet.addDomain(env.sim.fleet.host(host), { name: 'twin', memoryMiB: 512, vcpus: 1, flags: '-b----' });
    const req = chatRequest('twin-1', 'show twin');
    await bot.core.handle(req, targetOf(req));
    const r = JSON.stringify(await adapter.finalReply('twin-1'));
    expect(r).toContain('say which');
    expect(r).toContain('h010:twin');
    expect(r).toContain('h090:twin');
  }, 60_000);
});

describe('lookup misses while one host hangs (its xl list never answers)', () => {
  const hung = 'h001';
  const listing = /^xl list\b/;
  let fault = '';
  beforeAll(async () => {
    fault = (await env.sim.faults.add(hung, { kind: 'hang', match: listing, times: 0 })).id;
  });
  afterAll(async () => {
    await env.sim.faults.remove(fault);
  });

  const guest = (host: string, name: string) =>
    env.sim.fleet.addDomain(env.sim.fleet.host(host), { name, memoryMiB: 512, vcpus: 1, flags: '-b----' });

  it('a guest found running on another host is acted on after a short grace, not after the hung host times out', async () => {
    guest('h050', 'newguest1');
    const since = env.sim.log.lastSeq;
    const req = chatRequest('found-1', 'show newguest1');
    await bot.core.handle(req, targetOf(req));
    const r = await adapter.finalReply('found-1');
    expect(JSON.stringify(r)).toContain('h050');
    expect(r.kind).not.toBe('error');
    // The hung host was asked, and its list is still hanging when the answer came: nothing waited for it.
    expect(env.sim.log.query({ host: hung, since, match: listing })).toHaveLength(1);
    expect(env.sim.log.query({ host: hung, since, match: listing, ended: true })).toHaveLength(0);
  }, 60_000);

  it('a second miss waits for the list still outstanding on the hung host instead of queueing another', async () => {
    guest('h060', 'newguest2');
    const since = env.sim.log.lastSeq;
    const req = chatRequest('found-2', 'show newguest2');
    await bot.core.handle(req, targetOf(req));
    const r = await adapter.finalReply('found-2');
    expect(JSON.stringify(r)).toContain('h060');
    // The others were asked again; the hung one was not sent a second list to hang beside the first.
    expect(listsSince(since, 'h002')).toBe(1);
    expect(env.sim.log.query({ host: hung, since, match: listing })).toHaveLength(0);
  }, 60_000);
});
