import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTelegram } from '../../../test/helpers/fake-telegram/server.ts';
import { quietLogger } from '../../../test/helpers/sim.ts';
import { Config } from '../../config/schema.ts';
import { reply } from '../../core/reply.ts';
import { TelegramAdapter } from './index.ts';

/** Telegram's pacing as the adapter applies it (platforms.md §2.4: about 1 message/s per chat, 20/min in a group). */
const TOKEN = '123456:group-pacing';
let fake: FakeTelegram;

beforeAll(async () => {
  fake = new FakeTelegram(TOKEN);
  await fake.start();
});
afterAll(async () => {
  await fake?.stop();
});

function config(): Config {
  return Config.parse({
    hosts: { xen1: { address: 'a', privateKeyPath: '/k', dangerouslyAcceptAnyHostKey: true } },
    roles: { admin: { allow: ['*'] } },
    people: { alice: { roles: ['admin'], identities: { telegram: 1001 } } },
    channels: [{ platform: 'telegram', id: '*' }],
    telegram: { token: TOKEN, apiRoot: fake.apiRoot },
  });
}

/** An adapter with no per-chat interval and a group cap of `perMinute`; its sleeps are recorded, not taken. */
function cappedAt(perMinute: number) {
  const slept: number[] = [];
  const adapter = new TelegramAdapter({
    config: config(),
    logger: quietLogger,
    minIntervalMs: 0,
    groupPerMinute: perMinute,
    sleep: async (ms) => void slept.push(ms),
  });
  return { adapter, slept };
}

describe('Telegram group pacing', () => {
  it('holds a group chat to about 20 messages a minute, as the README promises', async () => {
    const slept: number[] = [];
    // The adapter as main.ts builds it (default pacing), but with a recorded sleep so the test does not wait.
    const adapter = new TelegramAdapter({ config: config(), logger: quietLogger, sleep: async (ms) => void slept.push(ms) });
    const group = '-1001234567890';
    for (let i = 0; i < 25; i++) await adapter.post(group, reply.result(`status post ${i}`, [reply.text('ok')]));
    const sent = fake.calls.filter((c) => c.method === 'sendMessage' && String(c.body['chat_id']) === group);
    expect(sent).toHaveLength(25);
    // 25 sends to one group within a minute need at least one wait of most of a minute (the 21st).
    expect(Math.max(...slept)).toBeGreaterThan(30_000);
  });

  it('groupPerMinute, when given, is honoured too', async () => {
    const { adapter, slept } = cappedAt(2);
    for (let i = 0; i < 3; i++) await adapter.post('-100777', reply.result(`post ${i}`));
    expect(slept.some((ms) => ms > 59_000)).toBe(true);
  });

  it('counts new messages only: a job’s edits in a group do not hold its final reply behind the minute cap', async () => {
    const { adapter, slept } = cappedAt(2);
    const group = '-100888';
    // The "queued" message, then progress edits and the final edit of it: one message, many edits.
    const queued = await adapter.deliver(
      { platform: 'telegram', channelId: group, requestId: 'r1', state: {} },
      reply.progress('/migrate', 'queued'),
    );
    for (let i = 0; i < 5; i++) await adapter.deliver(queued, reply.progress('/migrate', `step ${i}`));
    await adapter.deliver(queued, reply.result('web moved to xen2', [reply.text('verified')]));
    expect(slept.filter((ms) => ms > 1_000)).toEqual([]);
    expect(fake.calls.filter((c) => c.method === 'editMessageText' && String(c.body['chat_id']) === group).length).toBeGreaterThanOrEqual(
      6,
    );
  });
});
