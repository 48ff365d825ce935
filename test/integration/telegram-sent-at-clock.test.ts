import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TgCall } from '../helpers/fake-telegram/server.ts';
import { repliesTo, textOf as text, useTelegramStack } from '../helpers/fake-telegram/stack.ts';

/**
 * A Telegram command's age is Telegram's `date` (on Telegram's clock, which is true time) against when the bot took
 * it in: the bot's machine clock may be off (NTP down, a VM restored from a snapshot), so the bot's side is on Redis's
 * clock too. Date alone is faked for the whole stack of this process, from before it starts (as libfaketime sets a
 * process's clock); its timers and its monotonic clock run true.
 */
const TOKEN = '123456781:AAsentAtCLOCKsentAtCLOCKsentAtCL00';
const GROUP = { id: -1009876543211, type: 'supergroup' as const, title: 'ops' };
const MINUTE = 60_000;

// Before the stack's hooks: the fake Date is in place while it starts, and taken away only after it stopped.
beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now(), shouldAdvanceTime: true });
});
afterAll(() => {
  vi.useRealTimers();
});
const tg = useTelegramStack(TOKEN);
const { fake } = tg;

/** True time (Redis's and Telegram's), whatever the faked Date says. */
const trueNow = () => performance.timeOrigin + performance.now();

afterEach(() => {
  vi.setSystemTime(trueNow());
});

/** The bot's machine clock runs `offsetMs` off true time from now on. */
function botClockOff(offsetMs: number): void {
  vi.setSystemTime(trueNow() + offsetMs);
}

/** The final answer to message `id` (the first reply that is not "⏳ queued…", or the edit that replaced it). */
function finalAnswer(id: number): Promise<TgCall> {
  return fake.waitFor(
    (c) =>
      (c.method === 'sendMessage' && repliesTo(c, id) && !text(c).startsWith('⏳')) ||
      (c.method === 'editMessageText' &&
        fake.calls.some((s) => s.method === 'sendMessage' && repliesTo(s, id) && s.messageId === Number(c.body['message_id'])) &&
        !text(c).startsWith('⏳')),
  );
}

const log = (pattern: RegExp) => tg.stack.sim.hosts['xen1']?.commandLog.filter((c) => pattern.test(c)) ?? [];

describe("a Telegram command's age with the bot's clock off", () => {
  it('a bot whose clock is 10 minutes ahead runs a change typed just now, rather than call it too late', async () => {
    botClockOff(10 * MINUTE);
    // Typed now, as Telegram stamps it (true time).
    const id = fake.sendText(1001, GROUP, '/autostart gateway off', { sentAt: trueNow() });
    const answered = text(await finalAnswer(id));
    // Today: "Too late — sent at 10:02 UTC (10 min ago) while xenops was not receiving", and nothing was changed.
    expect({ unlinked: log(/unlink .*gateway/).length, tooLate: /Too late/.test(answered) }, answered).toEqual({
      unlinked: 1,
      tooLate: false,
    });
  });

  it('a bot whose clock is 10 minutes behind does not run a change typed 8 minutes ago (bot.maxCommandAgeMs 5 min)', async () => {
    botClockOff(-10 * MINUTE);
    const id = fake.sendText(1001, GROUP, '/autostart mail on', { sentAt: trueNow() - 8 * MINUTE });
    const answered = text(await finalAnswer(id));
    // Today it runs: on the bot's clock it was sent 2 minutes in the future.
    expect({ linked: log(/\bln .*mail/).length, answered }).toEqual({
      linked: 0,
      answered: expect.stringMatching(/Too late[\s\S]*8 min ago/),
    });
  });
});
