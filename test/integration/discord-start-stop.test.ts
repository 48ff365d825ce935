import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DiscordAdapter } from '../../src/adapters/discord/index.ts';
import type { BotCore } from '../../src/adapters/types.ts';
import { Config } from '../../src/config/schema.ts';
import { withTimeout } from '../../src/core/with-timeout.ts';
import { FakeDiscord } from '../helpers/fake-discord/server.ts';
import { quietLogger } from '../helpers/sim.ts';

/**
 * A Discord gateway that takes the connection and never lets the bot in (no READY). discord.js tries for ever, and
 * could not be stopped meanwhile: client.destroy() never resolved, and the "stopped" client connected again 500 ms
 * later, for good (@discordjs/ws 1.2 destroys the shard a second time from the aborted wait). Under bot.ha that is a
 * leader holding the lease with nobody on the gateway, or a halted one that may still get in beside the next leader.
 */
const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDQy.fake.discord-start-token';
const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
let fake: FakeDiscord;
const core = { commandSpecs: () => [] } as unknown as BotCore;

beforeAll(async () => {
  fake = new FakeDiscord(TOKEN);
  await fake.start();
  fake.withholdReady = true;
});
afterAll(async () => {
  await fake.stop();
});

let adapter: DiscordAdapter | null = null;
afterEach(async () => {
  await adapter?.stop();
  adapter = null;
});

function discord(startTimeoutMs?: number): DiscordAdapter {
  const config = Config.parse({
    hosts: { xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: FP } },
    discord: { token: TOKEN, apiRoot: fake.apiRoot },
  });
  adapter = new DiscordAdapter({ config, logger: quietLogger, ...(startTimeoutMs ? { startTimeoutMs } : {}) });
  return adapter;
}

/** No gateway connection of the client stays open, and none comes after (a reconnect would within 500 ms). */
async function offTheGateway(): Promise<void> {
  await expect.poll(() => fake.sessions.filter((s) => s.closedAt === undefined).length).toBe(0);
  const count = fake.sessions.length;
  await new Promise((resolve) => setTimeout(resolve, 1_200));
  expect(fake.sessions.length).toBe(count);
}

describe('a Discord start the gateway never lets in', () => {
  it('gives up at its deadline, off the gateway for good', async () => {
    const a = discord(1_500);
    await expect(a.start(core)).rejects.toThrow("Discord's gateway did not let the bot in within 1.5 s");
    expect(a.connected()).toBe(false);
    await offTheGateway();
  });

  it('ends at once when the adapter is stopped (a halted leader, a SIGTERM), off the gateway for good', async () => {
    const a = discord();
    const before = fake.sessions.length;
    const starting = a.start(core).then(
      () => 'started',
      (e: unknown) => String(e),
    );
    await expect.poll(() => fake.sessions.slice(before).some((s) => s.identifyAt !== undefined)).toBe(true);
    await withTimeout(a.stop(), 5_000, 'stop() did not return within 5 s');
    expect(await starting).toBe('Error: discord stopped while starting');
    await offTheGateway();
  });
});
