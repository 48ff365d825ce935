import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscordAdapter } from '../../src/adapters/discord/index.ts';
import { FakeDiscord } from '../helpers/fake-discord/server.ts';
import { quietLogger } from '../helpers/sim.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

/**
 * A command refused on Discord is answered by the adapter at once (ephemerally, from core.precheck) and never reaches
 * the request handler: it is counted (`xenops_commands_total{outcome="refused"}`) and audited (`decision: rejected`)
 * all the same, as a refusal on Telegram or the terminal is.
 */
const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDQy.fake.discord-hunt-ops-token';
const CAROL = '200000000000000003';

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
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await fake?.stop();
});

describe('a command refused on Discord', () => {
  it('is counted as refused in xenops_commands_total and audited as rejected', async () => {
    const { id, token } = fake.interact(CAROL, { id: '3', name: 'stop', type: 1, options: [{ name: 'domain', type: 3, value: 'web' }] });
    const answer = await fake.waitFor((c) => c.route === `/interactions/${id}/${token}/callback`);
    expect(JSON.stringify(answer.body)).toContain('needs permission domain.stop');

    const auditedOf = () => {
      let text = '';
      try {
        text = readFileSync(stack.auditFile, 'utf8');
      } catch {}
      return text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((e) => e['userId'] === CAROL && e['command'] === 'stop')
        .map((e) => `${String(e['event'])}:${String(e['decision'])}`);
    };
    await expect.poll(auditedOf, { timeout: 5_000 }).toEqual(['decision:rejected']);
    expect(await stack.bot.metrics.registry.metrics()).toContain('xenops_commands_total{command="stop",outcome="refused"} 1');
  });
});
