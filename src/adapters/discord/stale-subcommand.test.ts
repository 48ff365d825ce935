import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DcCall, FakeDiscord } from '../../../test/helpers/fake-discord/server.ts';
import { quietLogger } from '../../../test/helpers/sim.ts';
import { startTestStack, type TestStack } from '../../../test/helpers/stack.ts';
import { DiscordAdapter } from './index.ts';

/**
 * A command as a stale registration (another or older version, another bot on the same application) sends it: with a
 * subcommand, whose options Discord nests inside it. The adapter read only top-level values, so the subcommand and
 * everything typed in it were dropped: `/start now domain:web` was told "domain: is required" — untrue, the domain was
 * given — and `/list all host:xen2` would have listed every host as if nothing had been typed.
 */
const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDQy.fake.stale-subcommand';
const ALICE = '200000000000000001';

let fake: FakeDiscord;
let stack: TestStack;

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

/** The embed the user was shown at once (the ephemeral answer to the interaction). */
async function answer(data: Record<string, unknown>): Promise<unknown> {
  const { id, token } = fake.interact(ALICE, data);
  const r = await fake.waitFor((c: DcCall) => c.route === `/interactions/${id}/${token}/callback`);
  expect(r.body).toMatchObject({ type: 4, data: { flags: 64 } });
  return (r.body?.['data'] as { embeds?: unknown[] } | undefined)?.embeds;
}

describe('a slash command with a subcommand xenops does not have (a stale registration)', () => {
  it('is answered that the subcommand is unknown, with the usage, and nothing is run', async () => {
    const embeds = await answer({
      id: '1',
      name: 'start',
      type: 1,
      options: [{ name: 'now', type: 1, options: [{ name: 'domain', type: 3, value: 'mail' }] }],
    });
    expect(embeds).toEqual([
      { title: 'Bad arguments for /start', color: 0xc62828, description: 'unknown option now\n```\n/start <domain>\n```' },
    ]);
    expect(stack.sim.hosts['xen1']?.commandLog.filter((c) => c.includes('create'))).toEqual([]);
  });

  it('a subcommand group too', async () => {
    const embeds = await answer({
      id: '1',
      name: 'list',
      type: 1,
      options: [{ name: 'fleet', type: 2, options: [{ name: 'all', type: 1, options: [{ name: 'host', type: 3, value: 'xen2' }] }] }],
    });
    expect(embeds).toEqual([
      { title: 'Bad arguments for /list', color: 0xc62828, description: 'unknown option fleet\n```\n/list [<host>]\n```' },
    ]);
  });
});
