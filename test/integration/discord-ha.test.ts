import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscordAdapter } from '../../src/adapters/discord/index.ts';
import type { Bot } from '../../src/app/bot.ts';
import type { Config } from '../../src/config/schema.ts';
import { createLogger } from '../../src/core/log.ts';
import { type DcCall, type DcSession, FakeDiscord } from '../helpers/fake-discord/server.ts';
import { HaScene } from '../helpers/ha-scene.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { quietLogger } from '../helpers/sim.ts';
import type { TcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * Two bots on one prefix with the real Discord adapter (discord.js against the fake Discord): only the leader holds
 * a gateway session; a leader cut off from Redis closes it before the standby identifies; the standby's slash
 * commands work; the reply of a job that finished meanwhile is shown once; the old leader, leading again, logs in on
 * a new client and answers.
 *
 * And a leader cut off from Redis while a /stop runs: its held "queued" line (bot.queuedReplyDelayMs) waits in the
 * request's delivery chain behind a progress handler whose Redis read waits out the 10 s command timeout; by then the
 * standby has taken over and edited the result into the deferred reply. The old leader's relay then sent "queued on
 * xen1" through the interaction webhook (REST: no gateway, no lease needed) over that result, and alice saw the stop
 * as queued for ever. A bot edits a reply only while it may deliver on that platform.
 */

const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDQy.fake.discord-test-token';
const ALICE = '200000000000000001';
let scene: HaScene;
let fake: FakeDiscord;

const embeds = (c: DcCall) => JSON.stringify((c.body?.['embeds'] as unknown[] | undefined) ?? []);
const editsOf = (token: string) => (c: DcCall) => c.method === 'PATCH' && c.route.includes(`/${token}/messages/@original`);

beforeAll(async () => {
  scene = await HaScene.start();
  fake = new FakeDiscord(TOKEN);
  await fake.start();
}, 30_000);

afterAll(async () => {
  await scene?.stop();
  await fake?.stop();
}, 60_000);

const discordOnly = () => ({
  people: { alice: { roles: ['admin'], identities: { discord: ALICE } } },
  channels: [{ platform: 'discord', id: '*' }],
  discord: { token: TOKEN, apiRoot: fake.apiRoot, guildIds: [fake.guildId] },
});

/** `log`: what the bot logs, kept (at debug). */
async function startBot(config: Config, redis: string, log?: { msg: string; what?: string }[]): Promise<Bot> {
  const logger = log ? createLogger('debug', { write: (line: string) => void log.push(JSON.parse(line) as { msg: string }) }) : quietLogger;
  return await scene.bot(config, [new DiscordAdapter({ config, logger })], { redis, logger });
}

/** A /list from alice answered: deferred, then edited with the fleet. */
async function listWorks(): Promise<void> {
  const { token } = fake.interact(ALICE, { id: '1', name: 'list', type: 1 });
  await fake.waitFor((c) => editsOf(token)(c) && embeds(c).includes('Domains on 2 hosts'));
}

/** A prefix, an agent and a Redis proxy of its own; bot A behind the proxy (to be cut off), B straight on Redis. */
async function twoBots(): Promise<{
  botA: Bot;
  botB: Bot;
  proxy: TcpProxy;
  sessionsBefore: number;
  logOfA: { msg: string; what?: string }[];
}> {
  const { config } = await scene.prefixWithAgent(discordOnly());
  const proxy = await scene.proxy();
  const sessionsBefore = fake.sessions.length;
  const logOfA: { msg: string; what?: string }[] = [];
  const botA = await startBot(config, proxy.url, logOfA);
  const botB = await startBot(config, REDIS_URL);
  return { botA, botB, proxy, sessionsBefore, logOfA };
}

describe('Discord under the leader lease, two bots', () => {
  it('only the leader is on the gateway; cut off from Redis it closes its session before the standby opens one; the standby answers; leading again, the old leader logs in anew', async () => {
    const { botA, botB, proxy, sessionsBefore } = await twoBots();
    const mine = () => fake.sessions.slice(sessionsBefore);
    expect(mine().map((s) => s.identifiedAt !== undefined)).toEqual([true]);
    await listWorks();

    const cut = performance.now();
    proxy.partition();
    await expect.poll(() => mine()[1]?.identifiedAt, { timeout: 15_000, interval: 50 }).toBeDefined();
    const [first, second] = mine() as [DcSession, DcSession];
    expect(first.closedAt ?? Number.POSITIVE_INFINITY).toBeLessThan(second.openedAt);
    expect(fake.overlaps).toEqual([]);
    expect((second.identifiedAt ?? 0) - cut).toBeLessThan(10_000);
    await listWorks();

    // Back on the network, A stays a standby until B goes; then it leads again, on a new discord.js client.
    proxy.heal();
    await expect.poll(async () => (await botA.readiness()).find((c) => c.name === 'redis')?.ok, { timeout: 15_000 }).toBe(true);
    await botB.stop();
    await expect.poll(() => mine()[2]?.identifiedAt, { timeout: 15_000, interval: 50 }).toBeDefined();
    expect(fake.overlaps).toEqual([]);
    await listWorks();
    expect(mine().filter((s) => s.closedAt === undefined)).toHaveLength(1);
    await botA.stop();
  }, 90_000);

  it('a graceful stop while a stop runs: the standby logs in at once and edits the result into the deferred reply, once', async () => {
    const { botA } = await twoBots();
    const before = fake.sessions.length;
    const since = scene.env.sim.log.lastSeq;
    scene.env.sim.faults.delayNext('xen2', { match: /\bshutdown\b/, ms: 1_500 });
    const stop = fake.interact(ALICE, { id: '2', name: 'stop', type: 1, options: [{ name: 'domain', type: 3, value: 'files' }] });
    await scene.env.sim.log.waitFor({ host: 'xen2', match: /\bshutdown\b/, since, timeoutMs: 10_000 });
    const stopping = performance.now();
    await botA.stop();
    await expect.poll(() => fake.sessions[before]?.identifiedAt, { timeout: 10_000, interval: 50 }).toBeDefined();
    expect((fake.sessions[before]?.identifiedAt ?? 0) - stopping).toBeLessThan(2_000);
    expect(fake.overlaps).toEqual([]);
    const result = /files (shut down|stopped) on xen2/;
    await fake.waitFor((c) => editsOf(stop.token)(c) && result.test(embeds(c)));
    await listWorks();
    const shown = [...fake.messages.values()].filter((m) => result.test(JSON.stringify(m.embeds)));
    expect(shown).toHaveLength(1);
    expect(fake.calls.filter((c) => editsOf(stop.token)(c) && result.test(embeds(c)))).toHaveLength(1);
  }, 60_000);
});

describe('Discord: a reply the new leader delivered', () => {
  it('a stop running as its leader is cut off from Redis: the new leader\'s result stays, not overwritten by the old leader\'s late "queued" line', async () => {
    const { proxy, logOfA } = await twoBots();
    await listWorks();
    // A stop the host holds for a while: it is running when the leader loses Redis (the agent's first progress
    // event is on its way to the leader, whose read of the request then waits out Redis's 10 s).
    const since = scene.env.sim.log.lastSeq;
    scene.env.sim.faults.delayNext('xen1', { match: /\bshutdown\b/, ms: 400 });
    // Cut off at the leader's read of the request's message for that progress event (a GET of its target: no other
    // handler of a running stop sends one), not when the host sees the shutdown: a loaded leader had not read the
    // event by then, never ran the handler, and held nothing behind it.
    proxy.holdAt((chunk) => /\$3\r\nget\r\n\$\d+\r\n[^\r]*:pending-target:dc/i.test(chunk.toString('latin1')));
    const stop = fake.interact(ALICE, { id: '2', name: 'stop', type: 1, options: [{ name: 'domain', type: 3, value: 'web' }] });
    await scene.env.sim.log.waitFor({ host: 'xen1', match: /\bshutdown\b/, since, timeoutMs: 10_000 });
    await expect.poll(() => proxy.holding, { timeout: 30_000 }).toBe(true);
    proxy.partition();

    // The new leader delivers the result into the message the old one deferred.
    const result = /web (shut down|stopped) on xen1/;
    const final = await fake.waitFor((c) => editsOf(stop.token)(c) && result.test(embeds(c)));
    expect(scene.env.sim.log.query({ host: 'xen1', match: /\bshutdown\b/, since })).toHaveLength(1);
    // Nothing may come after it: the old leader's progress handler gives up its read of Redis (10 s), and its held
    // "queued" line, next in the request's chain, goes at once — given a second to land.
    await expect
      .poll(() => logOfA.some((l) => l.msg === 'relay handler failed' && l.what === 'progress'), { timeout: 30_000, interval: 100 })
      .toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const later = fake.calls.filter((c) => editsOf(stop.token)(c) && c.at > final.at).map((c) => embeds(c));
    expect(later).toEqual([]);
    // What alice sees: the result, not "queued on xen1".
    const deferred = [...fake.messages.values()].filter(
      (m) => JSON.stringify(m.embeds).includes('queued on xen1') || result.test(JSON.stringify(m.embeds)),
    );
    expect(deferred.map((m) => JSON.stringify(m.embeds))).toEqual([expect.stringMatching(result)]);
  }, 90_000);
});
