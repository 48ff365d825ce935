import { afterAll, beforeAll } from 'vitest';
import { TelegramAdapter, type TelegramAdapterOptions } from '../../../src/adapters/telegram/index.ts';
import type { Config } from '../../../src/config/schema.ts';
import type { Logger } from '../../../src/core/log.ts';
import { quietLogger } from '../sim.ts';
import { startTestStack, type TestStack } from '../stack.ts';
import { FakeTelegram, type TgCall } from './server.ts';

export interface TelegramStackOptions {
  adjustConfig?: (config: Config) => Config;
  /** The adapter's logger (the rest of the stack stays quiet); default quiet. */
  logger?: Logger;
  /** More adapter options (timings), beside the stack's own. */
  adapter?: Partial<Omit<TelegramAdapterOptions, 'config' | 'logger'>>;
}

/** The demo stack's config and adapters with the real Telegram adapter on `fake` (no pacing: tests send in bursts). */
function stackOn(fake: FakeTelegram, options: TelegramStackOptions): Promise<TestStack> {
  const { adjustConfig, logger = quietLogger, adapter } = options;
  return startTestStack({
    env: { TELEGRAM_BOT_TOKEN: fake.token, TELEGRAM_API_ROOT: fake.apiRoot },
    ...(adjustConfig ? { adjustConfig } : {}),
    makeAdapters: (config) => [new TelegramAdapter({ config, logger, minIntervalMs: 0, groupPerMinute: 1000, ...adapter })],
  });
}

export interface SharedTelegramStack {
  /** The fake Bot API: made at once (tests may hold it from the start), listening from beforeAll. */
  readonly fake: FakeTelegram;
  /** The running stack; throws outside the file's tests. */
  readonly stack: TestStack;
  /** The stack's Telegram adapter. */
  readonly adapter: TelegramAdapter;
}

/** One stack for a test file: the fake and the stack start before its tests (beforeAll) and stop after them (afterAll). */
export function useTelegramStack(token: string, options: TelegramStackOptions = {}): SharedTelegramStack {
  const fake = new FakeTelegram(token);
  let running: TestStack | null = null;
  beforeAll(async () => {
    await fake.start();
    running = await stackOn(fake, options);
  }, 60_000);
  afterAll(async () => {
    await running?.stop();
    await fake.stop();
  });
  const stack = (): TestStack => {
    if (!running) throw new Error('the Telegram stack runs only during the tests of its file');
    return running;
  };
  return {
    fake,
    get stack() {
      return stack();
    },
    get adapter() {
      return stack().adapters[0] as TelegramAdapter;
    },
  };
}

/** The text a sendMessage or editMessageText carried. */
export const textOf = (c: TgCall): string => String(c.body['text'] ?? '');

/** Whether the call was sent as a reply to message `id`. */
export const repliesTo = (c: TgCall, id: number): boolean =>
  (c.body['reply_parameters'] as { message_id?: number } | undefined)?.message_id === id;

/** The text of the first message the bot posted (and Telegram took) as a reply to message `id`. */
export async function answerTo(fake: FakeTelegram, id: number): Promise<string> {
  const sent = await fake.waitFor((c) => c.method === 'sendMessage' && c.messageId !== undefined && repliesTo(c, id));
  return textOf(sent);
}
