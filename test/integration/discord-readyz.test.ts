import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { DiscordAdapter } from '../../src/adapters/discord/index.ts';
import { type OpsServer, startOpsServer } from '../../src/app/ops-http.ts';
import { FakeDiscord } from '../helpers/fake-discord/server.ts';
import { quietLogger } from '../helpers/sim.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

/**
 * /readyz's `adapters` check is "each chat adapter started and connected". A Discord bot whose gateway connection is
 * gone — closed by Discord for good (4004: its token was revoked), so discord.js will never reconnect — is not
 * connected, and /readyz says so (it said "discord connected": the client's own status stays Ready).
 */
const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDQy.fake.discord-readyz-token';
let fake: FakeDiscord;
let stack: TestStack;
let http: OpsServer;

type Readyz = { ready: boolean; failing: string[]; checks: { name: string; ok: boolean; detail: string }[] };
const readyz = async () => {
  const r = await fetch(`${http.url}/readyz`);
  return { status: r.status, body: (await r.json()) as Readyz };
};

beforeAll(async () => {
  fake = new FakeDiscord(TOKEN);
  await fake.start();
  stack = await startTestStack({
    env: { DISCORD_TOKEN: TOKEN, DISCORD_API_ROOT: fake.apiRoot },
    adjustConfig: (c) => ({ ...c, discord: { ...c.discord, guildIds: [fake.guildId], roleBindings: {} } }),
    makeAdapters: (config) => [new DiscordAdapter({ config, logger: quietLogger })],
  });
  http = await startOpsServer({
    host: '127.0.0.1',
    port: 0,
    registry: stack.bot.metrics.registry,
    readiness: () => stack.bot.readiness(),
    logger: quietLogger,
  });
}, 60_000);

afterAll(async () => {
  await http?.close();
  await stack?.stop();
  await fake?.stop();
});

describe('/readyz of a Discord bot', () => {
  it('says not ready once Discord has closed the gateway for good', async () => {
    await fake.ready();
    await expect.poll(async () => (await readyz()).status, { timeout: 20_000 }).toBe(200);
    // Discord ends the session: "Authentication failed" (the token was reset). discord.js does not reconnect.
    const socket = (fake as unknown as { socket: WebSocket }).socket;
    socket.close(4004, 'Authentication failed.');
    // The connection is gone (4004 is one discord.js never reconnects after).
    const wss = (fake as unknown as { wss: { clients: Set<unknown> } }).wss;
    await expect.poll(() => wss.clients.size, { timeout: 5_000 }).toBe(0);
    await expect
      .poll(async () => (await readyz()).body.checks.find((c) => c.name === 'adapters'), { timeout: 10_000 })
      .toMatchObject({ ok: false, detail: expect.stringContaining('discord disconnected') });
    expect((await readyz()).status).toBe(503);
  }, 60_000);
});
