import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../../commands/index.ts';
import { FakeDiscord } from '../../../test/helpers/fake-discord/server.ts';
import { quietLogger } from '../../../test/helpers/sim.ts';
import { Config } from '../../config/schema.ts';
import { commandSpecs } from '../../core/define-command.ts';
import { registerCommands } from './register.ts';

/**
 * Registration per guild, with one guild refusing it (the bot was removed from it: 403 Missing Access). The loop gave
 * up at the first refusal, so every guild after it kept no commands or stale ones, and the error did not say which
 * guild it was. And a command the config disables was registered all the same: members saw it in the menu, and were
 * answered "there is no /console here" when they used it.
 */
const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDQy.fake.register-refused';
const GONE = '400000000000000666';

let fake: FakeDiscord;

beforeAll(async () => {
  fake = new FakeDiscord(TOKEN);
  await fake.start();
  fake.missingAccess.add(GONE);
});

afterAll(async () => {
  await fake?.stop();
});

function config(): Config {
  return Config.parse({
    hosts: { xen1: { address: 'a', privateKeyPath: '/k', dangerouslyAcceptAnyHostKey: true } },
    roles: { admin: { allow: ['*'] } },
    people: { alice: { roles: ['admin'], identities: { discord: '200000000000000001' } } },
    channels: [{ platform: 'discord', id: '*' }],
    commands: { console: { disabled: true } },
    discord: { token: TOKEN, apiRoot: fake.apiRoot, applicationId: fake.appId, guildIds: [GONE, fake.guildId] },
  });
}

const route = (guild: string) => `/applications/${fake.appId}/guilds/${guild}/commands`;

describe('registering slash commands in several guilds, one of which refuses', () => {
  it('registers the others, then says which guild refused and why', async () => {
    const specs = commandSpecs(COMMANDS);
    await expect(registerCommands(config(), specs, quietLogger)).rejects.toThrow(
      `Discord refused the slash commands for guild ${GONE} (Missing Access); the other guilds have them`,
    );
    const put = fake.calls.find((c) => c.method === 'PUT' && c.route === route(fake.guildId));
    const names = (put?.body as unknown as { name: string }[] | undefined)?.map((c) => c.name);
    // Every command but the disabled one.
    expect(names).toEqual(specs.map((s) => s.name).filter((n) => n !== 'console'));
  });

  it('a second run changes nothing where the commands are already up to date', async () => {
    const before = fake.calls.length;
    await expect(registerCommands(config(), commandSpecs(COMMANDS), quietLogger)).rejects.toThrow(`guild ${GONE}`);
    expect(fake.calls.slice(before).map((c) => `${c.method} ${c.route}`)).toEqual([`GET ${route(GONE)}`, `GET ${route(fake.guildId)}`]);
  });
});
