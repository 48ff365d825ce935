import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type DcCall, FakeDiscord } from '../../../test/helpers/fake-discord/server.ts';
import { quietLogger } from '../../../test/helpers/sim.ts';
import { startTestStack, type TestStack } from '../../../test/helpers/stack.ts';
import { DiscordAdapter } from './index.ts';

/**
 * Autocomplete answers only where the command could run: the channel allow-list (and its command filter) refuses
 * /stop here, so the menu must not list the fleet's guests for it — nor for any command in a channel xenops is not
 * enabled in. (It listed them: the core's autocomplete ignored the channel.)
 */
const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDQy.fake.autocomplete-channel';
const ALICE = '200000000000000001';
/** A channel not on the allow-list. */
const ELSEWHERE = '300000000000000777';

let fake: FakeDiscord;
let stack: TestStack;

beforeAll(async () => {
  fake = new FakeDiscord(TOKEN);
  await fake.start();
  stack = await startTestStack({
    env: { DISCORD_TOKEN: TOKEN, DISCORD_API_ROOT: fake.apiRoot },
    adjustConfig: (c) => ({
      ...c,
      // Only read commands where the fake's interactions come from; nothing anywhere else on Discord.
      channels: [
        { platform: 'terminal', id: '*' },
        { platform: 'discord', id: fake.channelId, commands: ['list', 'show'] },
      ],
      commands: { ...c.commands, console: { disabled: true } },
      discord: { ...c.discord, guildIds: [fake.guildId], roleBindings: {} },
    }),
    makeAdapters: (config) => [new DiscordAdapter({ config, logger: quietLogger })],
  });
  await fake.ready();
  await vi.waitFor(() => expect(stack.bot.fleet.coldHosts()).toEqual([]), { timeout: 10_000 });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await fake?.stop();
});

/** The choices Discord was sent for an autocomplete of `command`'s `option`, typed `partial`, optionally from `messageId`'s channel. */
async function choices(command: string, option: string, partial: string, messageId?: string): Promise<string[]> {
  const data = { id: '1', name: command, type: 1, options: [{ name: option, type: 3, value: partial, focused: true }] };
  const { id, token } = fake.interact(ALICE, data, 4, [], messageId);
  const r = await fake.waitFor((c: DcCall) => c.route === `/interactions/${id}/${token}/callback`);
  expect(r.body).toMatchObject({ type: 8 });
  return ((r.body?.['data'] as { choices?: { value: string }[] } | undefined)?.choices ?? []).map((c) => c.value);
}

describe('Discord autocomplete and the channel allow-list', () => {
  it('offers guests for a command the channel allows (alice is admin: everything)', async () => {
    expect(await choices('show', 'domain', '')).toEqual(['xen1:Domain-0', 'gateway', 'web', 'mail', 'xen2:Domain-0', 'files']);
    expect(await choices('list', 'host', '')).toEqual(['xen1', 'xen2']);
  });

  it('offers nothing for a command the channel does not allow, nor for a disabled one', async () => {
    expect(await choices('stop', 'domain', '')).toEqual([]);
    expect(await choices('migrate', 'target', 'xen')).toEqual([]);
    expect(await choices('console', 'domain', '')).toEqual([]);
  });

  it('offers nothing in a channel xenops is not enabled in', async () => {
    // A message in another channel of the guild: an interaction on it comes from that channel.
    const res = await fetch(`${fake.apiRoot}/v10/channels/${ELSEWHERE}/messages`, {
      method: 'POST',
      headers: { authorization: `Bot ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'hello' }),
    });
    const { id: messageId } = (await res.json()) as { id: string };
    expect(await choices('show', 'domain', '', messageId)).toEqual([]);
    expect(await choices('list', 'host', '', messageId)).toEqual([]);
  });
});
