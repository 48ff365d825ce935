import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscordAdapter } from '../../src/adapters/discord/index.ts';
import { type DcCall, FakeDiscord } from '../helpers/fake-discord/server.ts';
import { quietLogger } from '../helpers/sim.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

/**
 * Discord answers 401 to the bot's own token once it is reset or revoked (and, rarely, for a moment during an outage):
 * it says nothing about the reply, which Discord takes once the bot runs with a valid token. A final reply that met
 * a 401 must be kept and tried again, not dropped as one Discord refused — the channel would show "starting…" for
 * good. Through the real discord.js client, the relay and the fake Discord.
 */
const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDQy.fake.discord-token-refused';
const BOB = '200000000000000002';

let fake: FakeDiscord;
let stack: TestStack;

const embeds = (c: DcCall) => JSON.stringify((c.body?.['embeds'] as unknown[] | undefined) ?? []);

beforeAll(async () => {
  fake = new FakeDiscord(TOKEN);
  await fake.start();
  stack = await startTestStack({
    env: { DISCORD_TOKEN: TOKEN, DISCORD_API_ROOT: fake.apiRoot },
    adjustConfig: (c) => ({ ...c, discord: { ...c.discord, guildIds: [fake.guildId], roleBindings: {} } }),
    makeAdapters: (config) => [new DiscordAdapter({ config, logger: quietLogger })],
  });
  await fake.ready();
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await fake?.stop();
});

describe('a final reply that meets a 401 on the bot token', () => {
  it('is tried again, and shown once Discord takes the token again', async () => {
    const { token } = fake.interact(BOB, { id: '2', name: 'start', type: 1, options: [{ name: 'domain', type: 3, value: 'mail' }] });
    // Past its 15 minutes: the replies go to the channel, with the bot token.
    fake.expireToken(token);
    const isResult = (c: DcCall) =>
      c.route.startsWith(`/channels/${fake.channelId}/messages`) && embeds(c).includes('mail started on xen1');
    fake.failNext(isResult, { status: 401, message: '401: Unauthorized' });
    await fake.waitFor((c) => isResult(c) && c.failedWith === 401);
    const showing = () =>
      [...fake.messages.values()].filter(
        (m) => m.channelId === fake.channelId && JSON.stringify(m.embeds).includes('mail started on xen1'),
      );
    await expect.poll(() => showing().length, { timeout: 20_000 }).toBe(1);
  }, 40_000);
});
