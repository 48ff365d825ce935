import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FreezeBook } from '../../src/app/freezes.ts';
import type { Reply } from '../../src/core/reply.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

/**
 * A freeze's end is written by the bot that set it and compared by every bot that queues (and the one that delivers)
 * a mutation: with bots whose machine clocks disagree, it is on Redis's clock. Date alone is faked for this process
 * from before the stack starts (as libfaketime sets a process's clock); its timers and monotonic clock run true.
 */
const MINUTE = 60_000;
const adapter = new CaptureAdapter();
let stack: TestStack | null = null;
const redis = new Redis(REDIS_URL);
let n = 0;

/** True time (Redis's), whatever the faked Date says. */
const trueNow = () => performance.timeOrigin + performance.now();

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now(), shouldAdvanceTime: true });
  stack = await startTestStack({ makeAdapters: () => [adapter] });
}, 60_000);
afterEach(async () => {
  vi.setSystemTime(trueNow());
  await redis.del(`${stack?.prefix}:freezes`);
});
afterAll(async () => {
  await stack?.stop();
  redis.disconnect();
  vi.useRealTimers();
});

/** This machine's clock runs `offsetMs` off true time from now on (as on another bot's machine). */
function clockOff(offsetMs: number): void {
  vi.setSystemTime(trueNow() + offsetMs);
}

async function say(text: string): Promise<Reply> {
  const id = `fz${++n}`;
  const req = chatRequest(id, text, 'alice');
  await stack?.bot.core.handle(req, targetOf(req));
  return adapter.finalReply(id);
}

const started = () => stack?.sim.hosts['xen1']?.commandLog.filter((c) => /\bcreate\b.*mail/.test(c)).length;

describe('a freeze on bots whose clocks disagree', () => {
  it('one set for 30 minutes by a bot with the right time holds on a bot whose clock is an hour ahead', async () => {
    expect((await say('freeze xen1 30m kernel patching')).title).toMatch(/^Frozen/);
    clockOff(60 * MINUTE);
    const r = await say('start mail');
    // Today the bot an hour ahead takes the freeze as over: mail is started on a frozen host.
    expect({ title: r.title, started: started() }).toEqual({ title: 'Frozen', started: 0 });
  });

  it('"30m" typed to a bot whose clock is an hour ahead ends 30 minutes from now, not 90', async () => {
    clockOff(60 * MINUTE);
    const before = trueNow();
    expect((await say('freeze xen1 30m kernel patching')).title).toMatch(/^Frozen/);
    const after = trueNow();
    const until = (await new FreezeBook(redis, stack?.prefix ?? '', stack?.config as never, async () => {}).runtime())['xen1']?.until;
    expect(until).toBeGreaterThanOrEqual(before + 30 * MINUTE - 1_000);
    expect(until).toBeLessThanOrEqual(after + 30 * MINUTE + 1_000);
  });
});
