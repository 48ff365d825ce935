import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digest } from '../../../commands/digest.ts';
import { COMMANDS } from '../../../commands/index.ts';
import { FakeDiscord } from '../../../test/helpers/fake-discord/server.ts';
import { quietLogger } from '../../../test/helpers/sim.ts';
import { autocompleteChoices } from '../../app/autocomplete.ts';
import { FleetCache } from '../../app/fleet-cache.ts';
import { Config } from '../../config/schema.ts';
import { type AnyCommand, commandSpecs, type HostOutcome } from '../../core/define-command.ts';
import { type Reply, reply } from '../../core/reply.ts';
import type { DomainSummary } from '../../core/xen.ts';
import type { BotCore } from '../types.ts';
import { DiscordAdapter } from './index.ts';

const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDQy.limits.test';
const ALICE = '200000000000000001';
let fake: FakeDiscord;

// 12 hosts: a fleet the README's own bench (100 hosts) dwarfs. Host names are config keys: up to 32 characters.
const HOSTS = Array.from({ length: 12 }, (_, i) => `xen-prod-frankfurt-rack-${String(i).padStart(2, '0')}`);

function config(): Config {
  return Config.parse({
    hosts: Object.fromEntries(HOSTS.map((h) => [h, { address: 'a', privateKeyPath: '/k', dangerouslyAcceptAnyHostKey: true }])),
    roles: { admin: { allow: ['*'] } },
    people: { alice: { roles: ['admin'], identities: { discord: ALICE } } },
    channels: [{ platform: 'discord', id: '*' }],
    discord: { token: TOKEN, apiRoot: fake.apiRoot },
  });
}

beforeAll(async () => {
  fake = new FakeDiscord(TOKEN);
  await fake.start();
});
afterAll(async () => {
  await fake?.stop();
});

describe('Discord limits', () => {
  it('/digest across a 12-host fleet: the message carries at most 10 files (Discord refuses more)', async () => {
    const adapter = new DiscordAdapter({ config: config(), logger: quietLogger });
    const outcomes = HOSTS.map(
      (host) =>
        ({
          host,
          ok: true,
          result: {
            host,
            hours: 24,
            since: 0,
            points: 1440,
            domains: [{ name: 'web', peakCpuPercent: 50, avgCpuPercent: 10, uptimeSeconds: 3600, restarts: 0 }],
          },
        }) as unknown as HostOutcome<'host.digest'>,
    );
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);
    const r = digest.render(outcomes as never, { hours: 24 } as never, {
      now: Date.now(),
      posts: { topDomains: 5, hostRows: 20, changeRows: 10 },
      charts: HOSTS.map((host) => ({ host, png, text: `${host} ▁▂▃` })),
    });
    // A scheduled /digest post (post = a channel message through the bot token), as the schedule desk sends it.
    await adapter.post(fake.channelId, r);
    const call = await fake.waitFor((c) => c.method === 'POST' && c.route === `/channels/${fake.channelId}/messages`);
    // The fake refuses more than 10 files as Discord does (30015): the post went through, with 10 and a word on the rest.
    expect(call.files).toHaveLength(10);
    const embed = (call.body?.['embeds'] as { description?: string }[] | undefined)?.[0];
    expect(embed?.description).toMatch(/^2 more attachments not sent \(Discord takes 10 per message\): /);
  });

  it('/digest over 13 hosts (12 charts, one host not answering): the note on charts left out pushes no line off', async () => {
    const adapter = new DiscordAdapter({ config: config(), logger: quietLogger });
    // 59 guests over 12 hosts: a description that fits 4096 characters alone, and not with the note before it.
    const outcomes = HOSTS.map(
      (host, i) =>
        ({
          host,
          ok: true,
          result: {
            host,
            hours: 24,
            since: 0,
            points: 1440,
            domains: Array.from({ length: i < 11 ? 5 : 4 }, (_, j) => ({
              name: `guest-${host}-${j}`,
              peakCpuPercent: 50,
              avgCpuPercent: 10,
              uptimeSeconds: 3600,
              restarts: 0,
            })),
          },
        }) as unknown as HostOutcome<'host.digest'>,
    );
    const silent = {
      host: 'xen13',
      ok: false,
      failure: { code: 'noAnswer', message: "no answer from xen13's agent within 15 s" },
    } as unknown as HostOutcome<'host.digest'>;
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);
    const r = digest.render([...outcomes, silent] as never, { hours: 24 } as never, {
      now: Date.now(),
      posts: { topDomains: 5, hostRows: 20, changeRows: 10 },
      charts: HOSTS.map((host) => ({ host, png, text: `${host} ▁▂▃` })),
    });
    const target = await adapter.post(fake.channelId, r);
    const message = fake.messages.get(String(target.state['messageId']));
    expect(message?.attachments).toHaveLength(10);
    const description = (message?.embeds[0] as { description?: string } | undefined)?.description ?? '';
    expect(description).toMatch(/^3 more attachments not sent \(Discord takes 10 per message\): /);
    // The text went whole as a file, the last line included.
    const text = message?.attachments.find((a) => a.contentType.startsWith('text/'))?.data.toString() ?? '';
    expect(description).toContain(`The full output is attached as`);
    expect(text).toContain("no answer from xen13's agent within 15 s");
  });

  it('a card that calls on 95 people goes out, each of them pinged once', async () => {
    const adapter = new DiscordAdapter({ config: config(), logger: quietLogger });
    const ids = Array.from({ length: 95 }, (_, i) => String(200000000000000100n + BigInt(i)));
    const card: Reply = {
      ...reply.result('Approval needed: /stop xen1:web — K7Q2XM', [reply.text('/approve K7Q2XM')], { tone: 'warning' }),
      mentions: ids.map((id, i) => ({ person: `admin${i}`, identities: [{ platform: 'discord' as const, userId: id }] })),
    };
    const target = await adapter.post(fake.channelId, card);
    const messageId = String(target.state['messageId']);
    expect(JSON.stringify(fake.messages.get(messageId)?.embeds)).toContain('K7Q2XM');
    // As many as fit in the card's 2000 characters, the rest in a message of their own that says what it is about.
    expect(fake.messages.get(messageId)?.content).toMatch(/ and \d+ more$/);
    const pinged = fake.notifications.filter((n) => ids.includes(n.userId));
    expect(pinged.map((n) => n.userId).sort()).toEqual([...ids].sort());
    const others = pinged.filter((n) => n.messageId !== messageId).map((n) => fake.messages.get(n.messageId)?.content ?? '');
    expect(others.length).toBeGreaterThan(0);
    expect(others.every((c) => c.endsWith(' Approval needed: /stop xen1:web — K7Q2XM'))).toBe(true);
    expect(target.state['mentioned']).toHaveLength(95);
  });

  it('an edit that calls on 250 people pings them all, once, in messages of at most 100', async () => {
    const adapter = new DiscordAdapter({ config: config(), logger: quietLogger });
    const ids = Array.from({ length: 250 }, (_, i) => String(200000000000001000n + BigInt(i)));
    const before = fake.calls.length;
    const target = await adapter.post(fake.channelId, reply.result('working'));
    const card: Reply = {
      ...reply.result('Approval needed: /reboot xen1 — Q3ZT8P', [], { tone: 'warning' }),
      mentions: ids.map((id, i) => ({ person: `p${i}`, identities: [{ platform: 'discord' as const, userId: id }] })),
    };
    const next = await adapter.deliver(target, card);
    const pings = fake.calls.slice(before).filter((c) => c.method === 'POST' && String(c.body?.['content']).startsWith('🔔'));
    expect(pings.length).toBeGreaterThanOrEqual(3);
    const allowed = pings.map((p) => (p.body?.['allowed_mentions'] as { users?: string[] } | undefined)?.users?.length ?? 0);
    expect(allowed.filter((n) => n < 1 || n > 100)).toEqual([]);
    const pinged = fake.notifications.filter((n) => ids.includes(n.userId)).map((n) => n.userId);
    expect(pinged.sort()).toEqual([...ids].sort());
    // The next edit pings nobody again.
    const notified = fake.notifications.length;
    await adapter.deliver(next, { ...card, title: 'Approved: /reboot xen1 — Q3ZT8P' });
    expect(fake.notifications.length).toBe(notified);
  });

  it('autocomplete choices keep Discord’s 1-100 character name limit', async () => {
    const cfg = config();
    const fleet = new FleetCache(HOSTS);
    // A guest with a valid 64-character name (DOMAIN_NAME_PATTERN allows 64), defined on two hosts (its config on both,
    // as for a guest that migrates between them): the value becomes host:domain, the name adds "(host, status)".
    const name = 'customer-portal-backend-postgresql-replica-03.fra.example.com-01';
    const dom = (status: DomainSummary['status']): DomainSummary =>
      ({ name, id: null, uuid: null, status, flags: '------', memoryMiB: 1024, vcpus: 2, cpuSeconds: null }) as unknown as DomainSummary;
    fleet.update(HOSTS[0] as string, [dom('running')]);
    fleet.update(HOSTS[1] as string, [dom('defined')]);
    const byName = new Map<string, AnyCommand>(COMMANDS.map((c) => [c.name, c as AnyCommand]));
    const core: BotCore = {
      commandSpecs: () => commandSpecs(COMMANDS),
      precheck: () => null,
      handle: async () => {},
      handleAction: async () => {},
      autocomplete: (actor, _channel, command, option, partial) =>
        autocompleteChoices(cfg, fleet, byName.get(command), actor, option, partial),
    };
    const adapter = new DiscordAdapter({ config: cfg, logger: quietLogger });
    await adapter.start(core);
    try {
      const { id, token } = fake.interact(
        ALICE,
        { id: '1', name: 'show', type: 1, options: [{ name: 'domain', type: 3, value: 'customer', focused: true }] },
        4,
      );
      const r = await fake.waitFor((c) => c.route === `/interactions/${id}/${token}/callback`);
      const choices = (r.body?.['data'] as { choices?: { name: string; value: string }[] } | undefined)?.choices ?? [];
      expect(choices.length).toBeGreaterThan(0);
      expect(choices.map((c) => c.name.length).filter((n) => n > 100)).toEqual([]);
    } finally {
      await adapter.stop();
    }
  });
});
