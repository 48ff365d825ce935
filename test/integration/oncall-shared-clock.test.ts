import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { Config } from '../../src/config/schema.ts';
import { createLogger } from '../../src/core/log.ts';
import type { Reply } from '../../src/core/reply.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';

/**
 * Two bots on one prefix (as with bot.ha, or a terminal bot beside the chat bot) whose machines' clocks disagree: who
 * is on call, and until when, is on Redis's clock, so both say the same. The second bot's clock is set an hour ahead
 * by faking Date only (its timers and its monotonic clock run true, as with NTP off on that machine).
 */
const HOUR = 3_600_000;
const prefix = uniquePrefix();
const auditFile = `/tmp/${prefix}-audit.jsonl`;

/** A daily rotation of alice and bob whose handoff is about half an hour from now: an hour's skew crosses it. */
function handoffSoon(): string {
  const t = new Date(Date.now() + HOUR / 2);
  return `${String(t.getUTCHours()).padStart(2, '0')}:${String(t.getUTCMinutes()).padStart(2, '0')}`;
}

const config = Config.parse({
  redis: { url: REDIS_URL, prefix },
  hosts: { xen1: { address: '127.0.0.1', port: 1, privateKeyPath: '/k', dangerouslyAcceptAnyHostKey: true } },
  roles: { admin: { allow: ['*'] } },
  people: {
    alice: { roles: ['admin'], identities: { terminal: 'alice' } },
    bob: { roles: ['admin'], identities: { terminal: 'bob' } },
    carol: { roles: ['admin'], identities: { terminal: 'carol' } },
  },
  oncall: {
    timezone: 'UTC',
    rotation: { people: ['alice', 'bob'], period: 'daily', handoff: handoffSoon(), start: '2020-01-01' },
  },
  channels: [{ platform: 'terminal', id: '*' }],
  audit: { file: auditFile },
  bot: { fleetRefreshMs: 600_000 },
});

const right = { adapter: new CaptureAdapter(), bot: null as Bot | null };
const ahead = { adapter: new CaptureAdapter(), bot: null as Bot | null };
const redis = new Redis(REDIS_URL);
let n = 0;

beforeAll(async () => {
  for (const side of [right, ahead]) {
    side.bot = await createBot({ config, redis: REDIS_URL, logger: createLogger('silent'), adapters: [side.adapter] });
    await side.bot.start();
  }
}, 30_000);
afterEach(async () => {
  vi.useRealTimers();
  await redis.del(`${prefix}:oncall:overrides`);
});
afterAll(async () => {
  await right.bot?.stop();
  await ahead.bot?.stop();
  redis.disconnect();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  rmSync(auditFile, { force: true });
});

/** Asks `side`'s bot, with that machine's clock: `ahead`'s runs an hour fast. */
async function ask(side: typeof right, text: string): Promise<Reply> {
  if (side === ahead) vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + HOUR, shouldAdvanceTime: true });
  try {
    const id = `oc${++n}`;
    const req = chatRequest(id, text, 'alice');
    await side.bot?.core.handle(req, targetOf(req));
    return await side.adapter.finalReply(id);
  } finally {
    vi.useRealTimers();
  }
}

/** The title and the `until` field of an /oncall answer. */
function said(r: Reply): { title: string; until: string | undefined } {
  const fields = r.blocks.flatMap((b) => (b.type === 'fields' ? b.fields : []));
  return { title: r.title, until: fields.find((f) => f.name === 'until')?.value };
}

describe('/oncall on bots whose clocks disagree', () => {
  it('both say the same person is on call, until the same handoff', async () => {
    const onRight = said(await ask(right, 'oncall'));
    expect(onRight.title).toMatch(/^(alice|bob) is on call$/);
    // Today the bot an hour ahead is past the handoff: it names the other person.
    expect(said(await ask(ahead, 'oncall'))).toEqual(onRight);
  });

  it("an override set by one bot is in force on the other until its end, not an hour's skew early", async () => {
    const set = await ask(right, 'oncall set carol 30m');
    expect(set.title).toMatch(/^carol is on call until /);
    const onRight = said(await ask(right, 'oncall'));
    expect(onRight.title).toBe('carol is on call');
    // Today the bot an hour ahead takes carol's override as over and names the rotation's person.
    expect(said(await ask(ahead, 'oncall'))).toEqual(onRight);
  });

  it('an override for 2h set by the bot whose clock is ahead is in force now on the other, for 2 hours', async () => {
    const before = Date.now();
    const set = await ask(ahead, 'oncall set carol 2h');
    expect(set.title).toMatch(/^carol is on call until /);
    const onRight = said(await ask(right, 'oncall'));
    // The minutes (HH:MM UTC) 2 hours after the set was sent and after it was answered.
    const minute = (ms: number) => new Date(ms + 2 * HOUR).toISOString().slice(11, 16);
    const shown = new Set([minute(before), minute(Date.now())]);
    // Today: carol's override starts in an hour on the other bot (alice or bob named), and ends 3 hours from now.
    expect(onRight.title).toBe('carol is on call');
    expect(
      [...shown].some((t) => onRight.until?.endsWith(` ${t}`)),
      `until ${onRight.until}, expected one of ${[...shown]}`,
    ).toBe(true);
  });
});
