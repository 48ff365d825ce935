import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digest } from '../../../commands/digest.ts';
import { COMMANDS } from '../../../commands/index.ts';
import { FakeDiscord } from '../../../test/helpers/fake-discord/server.ts';
import { quietLogger } from '../../../test/helpers/sim.ts';
import { autocompleteChoices } from '../../app/autocomplete.ts';
import { FleetCache } from '../../app/fleet-cache.ts';
import { Config } from '../../config/schema.ts';
import { type AnyCommand, commandSpecs, type HostOutcome } from '../../core/define-command.ts';
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
