import { afterEach, describe, expect, it } from 'vitest';
import { type DcCall, type DcSession, FakeDiscord } from '../helpers/fake-discord/server.ts';
import { ProcessHarness } from '../helpers/processes.ts';
import { demoConfigWith, received } from './support.ts';

const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDQy.fake.discord-test-token';
/** alice in config/demo.yaml: admin. */
const ALICE = '200000000000000001';

const embeds = (c: DcCall) => JSON.stringify((c.body?.['embeds'] as unknown[] | undefined) ?? []);
const editsOf = (token: string) => (c: DcCall) => c.method === 'PATCH' && c.route.includes(`/${token}/messages/@original`);
const deferOf = (i: { id: string; token: string }) => (c: DcCall) => c.route === `/interactions/${i.id}/${i.token}/callback`;
const stop = (domain: string) => ({ id: '2', name: 'stop', type: 1, options: [{ name: 'domain', type: 3, value: domain }] });

/**
 * High availability of the Discord bot with the real processes, as bot-ha.test.ts does it for Telegram: two
 * `xenops bot --discord` on one Redis prefix against the fake Discord. The first leads (the one gateway session); the
 * second stands by, off the gateway. Two /stop interactions are deferred by the leader while the hosts hold their
 * shutdowns; the leader is SIGKILLed. The second identifies within 10 s of the kill and never while the first was on
 * the gateway; each stop's result is edited once into the reply the dead bot deferred — one shutdown ended while
 * nobody led (the new leader's recovery sends it), one after the takeover (its job's own event) — nothing is sent
 * twice, and each shutdown reached its host once. A /list after the takeover is answered.
 */
describe.runIf(process.env['XENOPS_FAULT_TESTS'] === '1')('bot high availability, Discord', () => {
  let h: ProcessHarness | null = null;
  let fake: FakeDiscord | null = null;
  afterEach(async () => {
    await h?.stopAll();
    await fake?.stop();
    h = null;
    fake = null;
  });

  it('the standby identifies within 10 s of a SIGKILL, never alongside the leader, and every interaction gets one result', async () => {
    const dc = new FakeDiscord(TOKEN);
    fake = dc;
    await dc.start();
    const harness = new ProcessHarness({
      configPath: demoConfigWith({
        'bot.fleetRefreshMs': 600_000,
        'approvals.enabled': false,
        'bot.queuedReplyDelayMs': 0,
        'discord.guildIds': [dc.guildId],
      }),
    });
    h = harness;
    const sim = (await harness.startSim()).control;
    await harness.startAgent();
    const env = { DISCORD_TOKEN: TOKEN, DISCORD_API_ROOT: dc.apiRoot };

    /** A /list from alice, answered with the fleet (edited into its deferred reply). */
    const list = async () => {
      const asked = dc.interact(ALICE, { id: '1', name: 'list', type: 1 });
      return dc.waitFor((c) => editsOf(asked.token)(c) && embeds(c).includes('Domains on 2 hosts'));
    };

    const bot1 = await harness.startBot({ adapters: ['--discord'], env });
    await expect.poll(() => dc.sessions[0]?.identifiedAt, { timeout: 30_000, interval: 50 }).toBeDefined();
    await dc.waitFor((c) => c.method === 'PUT' && c.route === `/applications/${dc.appId}/guilds/${dc.guildId}/commands`);
    await list();
    const bot2 = await harness.startBot({ adapters: ['--discord'], env });
    // The standby is up (it logged "bot started") and stays off the gateway: one session, the leader's.
    const { line } = await bot2.waitForLine(/"msg":"leader lease: started"/, 5_000, { stream: 'stderr' });
    expect((JSON.parse(line) as { role: string }).role).toBe('standby');
    expect(dc.sessions).toHaveLength(1);

    // Two stops, each held on its host: files (xen2) ends while nobody leads, web (xen1) after the takeover.
    await sim.addFault({ host: 'xen2', kind: 'delay', match: '\\bshutdown\\b', ms: 2_000 });
    await sim.addFault({ host: 'xen1', kind: 'delay', match: '\\bshutdown\\b', ms: 12_000 });
    const { lastSeq } = await sim.log();
    const asked = { files: dc.interact(ALICE, stop('files')), web: dc.interact(ALICE, stop('web')) };
    const result = { files: /files (shut down|stopped) on xen2/, web: /web (shut down|stopped) on xen1/ };
    await sim.waitForLog({ match: '\\bshutdown\\b', count: 2, since: lastSeq, timeoutMs: 30_000 });
    // Both deferred by the leader ("thinking…": the message their results are to be edited into).
    for (const i of Object.values(asked)) expect((await dc.waitFor(deferOf(i))).body).toMatchObject({ type: 5 });

    const killedAt = performance.now();
    const killedWall = Date.now();
    bot1.kill('SIGKILL');
    await bot1.exited;
    await expect.poll(() => dc.sessions[1]?.identifiedAt, { timeout: 15_000, interval: 50 }).toBeDefined();
    const [first, second] = dc.sessions as [DcSession, DcSession];
    const takeoverMs = (second.identifiedAt ?? 0) - killedAt;
    process.stderr.write(`bot HA (Discord): the standby identified ${Math.round(takeoverMs)} ms after the SIGKILL\n`);
    expect(takeoverMs).toBeLessThan(10_000);
    // The dead leader's socket closed at once; the standby opened its own only after that.
    expect(first.closedAt ?? Number.POSITIVE_INFINITY).toBeLessThan(second.openedAt);
    expect(second.openedAt).toBeGreaterThan(killedAt);
    expect(dc.overlaps).toEqual([]);

    // Each result edited into the reply the dead leader deferred (only the new leader is alive to send it).
    const finals = {
      files: await dc.waitFor((c) => editsOf(asked.files.token)(c) && result.files.test(embeds(c))),
      web: await dc.waitFor((c) => editsOf(asked.web.token)(c) && result.web.test(embeds(c))),
    };
    // Both ways of the takeover were taken: files' shutdown ended before the new leader was on the gateway (its reply
    // from the recovery), web's after it (from the job's own event).
    const endOf = async (host: string) =>
      (await sim.log({ host, match: '\\bshutdown\\b', since: lastSeq, ended: true })).entries[0]?.end?.at ?? Number.NaN;
    const identifiedWall = Date.now() - (performance.now() - (second.identifiedAt ?? 0));
    expect(await endOf('xen2')).toBeLessThan(identifiedWall);
    expect(await endOf('xen1')).toBeGreaterThan(identifiedWall);
    for (const call of Object.values(finals)) expect(call.at).toBeGreaterThanOrEqual(killedWall);

    // New requests reach the new leader.
    await list();

    // Stopped, bot 2 sends nothing more: every call there will ever be is on the fake.
    bot2.kill('SIGTERM');
    expect((await bot2.exited).code).toBe(0);
    for (const name of ['files', 'web'] as const) {
      const { token } = asked[name];
      // One result, nowhere else (no second edit, no follow-up, no channel message)…
      expect(
        dc.calls.filter((c) => result[name].test(embeds(c))).map((c) => `${c.method} ${c.route}`),
        name,
      ).toEqual([expect.stringMatching(new RegExp(`^PATCH .*/${token}/messages/@original$`))]);
      // …and the last word on the deferred reply: nothing edited over it.
      expect(embeds(dc.calls.filter(editsOf(token)).at(-1) as DcCall), name).toMatch(result[name]);
      // What alice sees: one message showing it.
      expect(
        [...dc.messages.values()].filter((m) => result[name].test(JSON.stringify(m.embeds))),
        name,
      ).toHaveLength(1);
    }
    expect(dc.overlaps).toEqual([]);
    // Each mutation reached its host once.
    expect(await received(sim, 'xen1', /\bshutdown\b/)).toBe(1);
    expect(await received(sim, 'xen2', /\bshutdown\b/)).toBe(1);
  }, 60_000);
});
