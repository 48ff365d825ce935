import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../../commands/index.ts';
import { domainSummary as dom } from '../../../test/helpers/domains.ts';
import { type DcCall, FakeDiscord } from '../../../test/helpers/fake-discord/server.ts';
import { quietLogger } from '../../../test/helpers/sim.ts';
import { autocompleteChoices } from '../../app/autocomplete.ts';
import { FleetCache } from '../../app/fleet-cache.ts';
import { Config } from '../../config/schema.ts';
import { type AnyCommand, commandSpecs } from '../../core/define-command.ts';
import type { BotCore } from '../types.ts';
import { DiscordAdapter } from './index.ts';

/**
 * Autocomplete runs on every keystroke, on the bot's one thread, and Discord drops an answer after 3 s. At the fleet
 * size the README benches (1,000 hosts of 20 guests) each keystroke asked the permission rules of every guest of the
 * fleet, twenty thousand times — 0.1 to 0.5 s of the bot's thread per keystroke (measured: 1.6 s for the ten below):
 * a few people typing at once held up every other interaction's defer and their own menus. The answer needs only the
 * 25 first choices the person may use. How often the rules are asked is counted (each ask reads `config.roles`), not
 * timed: the count does not depend on how busy the machine is.
 */
const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDQy.fake.autocomplete-large-fleet';
const BOB = '200000000000000002';
const FAY = '200000000000000006';
const HOSTS = Array.from({ length: 1_000 }, (_, i) => `h${String(i + 1).padStart(4, '0')}`);
const KEYSTROKES = ['', 'w', 'we', 'web', 'web-', 'web-h', 'web-h0', 'web-h05', 'web-h050', 'web-h0500'];

let fake: FakeDiscord;
let adapter: DiscordAdapter;
/** How many times a role's rules were read (authorize reads `config.roles` once per role of the person). */
let rulesRead = 0;

beforeAll(async () => {
  fake = new FakeDiscord(TOKEN);
  await fake.start();
  const config = Config.parse({
    hosts: Object.fromEntries(HOSTS.map((h) => [h, { address: '10.0.0.1', privateKeyPath: '/k', dangerouslyAcceptAnyHostKey: true }])),
    roles: {
      operator: { allow: ['operate'] },
      // Some guests of every host, less a few of them.
      webs: { allow: [{ permission: 'operate', domains: ['web-*', 'db-*'] }], deny: [{ permission: 'domain.stop', domains: ['db-*'] }] },
    },
    people: {
      bob: { roles: ['operator'], identities: { discord: BOB } },
      fay: { roles: ['webs'], identities: { discord: FAY } },
    },
    channels: [{ platform: 'discord', id: '*' }],
    discord: { token: TOKEN, apiRoot: fake.apiRoot },
  });
  const fleet = new FleetCache(HOSTS);
  for (const h of HOSTS)
    fleet.update(h, [
      dom('Domain-0', 'running'),
      ...Array.from({ length: 20 }, (_, j) => dom(`${['web', 'db', 'app'][j % 3]}-${h}-${j}`, 'running')),
    ]);
  const byName = new Map<string, AnyCommand>(COMMANDS.map((c) => [c.name, c as AnyCommand]));
  // The core's autocomplete as requests.ts wires it.
  const counted = new Proxy(config, {
    get(target, key, receiver) {
      if (key === 'roles') rulesRead++;
      return Reflect.get(target, key, receiver);
    },
  });
  const core: BotCore = {
    commandSpecs: () => commandSpecs(COMMANDS),
    precheck: () => null,
    handle: async () => {},
    handleAction: async () => {},
    autocomplete: (actor, channel, command, option, partial) =>
      autocompleteChoices(counted, fleet, byName.get(command), actor, option, partial, channel),
  };
  adapter = new DiscordAdapter({ config, logger: quietLogger });
  await adapter.start(core);
}, 30_000);

afterAll(async () => {
  await adapter?.stop();
  await fake?.stop();
});

/** The choices a keystroke got, and how often it asked the permission rules. */
async function keystroke(userId: string, partial: string): Promise<{ values: string[]; asks: number }> {
  const data = { id: '1', name: 'stop', type: 1, options: [{ name: 'domain', type: 3, value: partial, focused: true }] };
  const before = rulesRead;
  const { id, token } = fake.interact(userId, data, 4);
  const r = await fake.waitFor((c: DcCall) => c.route === `/interactions/${id}/${token}/callback`);
  const asks = rulesRead - before;
  return { values: ((r.body?.['data'] as { choices?: { value: string }[] } | undefined)?.choices ?? []).map((c) => c.value), asks };
}

describe('autocomplete over 1,000 hosts of 20 guests', () => {
  it('asks the permission rules of a few hosts and guests per keystroke, not of the whole fleet', async () => {
    for (const userId of [BOB, FAY]) {
      const asks = [];
      for (const typed of KEYSTROKES) asks.push((await keystroke(userId, typed)).asks);
      // Each asked them 20,000 times (every guest but Domain-0). Someone whose scope is some guests of each host is
      // asked per guest of the hosts looked at, until 25 are found: about 100.
      expect(asks.filter((n) => n > 200)).toEqual([]);
    }
  });

  it('offers the same choices as before: the first 25 the person may use, in fleet order', async () => {
    expect((await keystroke(BOB, 'web-h0500')).values).toEqual([0, 3, 6, 9, 12, 15, 18].map((j) => `web-h0500-${j}`));
    expect((await keystroke(FAY, '')).values.slice(0, 4)).toEqual(['web-h0001-0', 'web-h0001-3', 'web-h0001-6', 'web-h0001-9']);
    expect((await keystroke(FAY, 'db-h0001')).values).toEqual([]);
    expect((await keystroke(FAY, 'app-')).values).toEqual([]);
    expect((await keystroke(BOB, 'app-h0002-2')).values).toEqual(['app-h0002-2']);
  });
});
