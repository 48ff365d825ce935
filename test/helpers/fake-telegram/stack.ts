import { TelegramAdapter } from '../../../src/adapters/telegram/index.ts';
import type { Config } from '../../../src/config/schema.ts';
import { quietLogger } from '../sim.ts';
import { startTestStack, type TestStack } from '../stack.ts';
import { FakeTelegram } from './server.ts';

export interface TelegramStack {
  fake: FakeTelegram;
  stack: TestStack;
  stop(): Promise<void>;
}

/** The demo stack with the real Telegram adapter against a fake Bot API (no pacing: tests send in bursts). */
export async function startTelegramStack(token: string, adjustConfig?: (config: Config) => Config): Promise<TelegramStack> {
  const fake = new FakeTelegram(token);
  await fake.start();
  const stack = await startTestStack({
    env: { TELEGRAM_BOT_TOKEN: token, TELEGRAM_API_ROOT: fake.apiRoot },
    ...(adjustConfig ? { adjustConfig } : {}),
    makeAdapters: (config) => [new TelegramAdapter({ config, logger: quietLogger, minIntervalMs: 0, groupPerMinute: 1000 })],
  });
  return {
    fake,
    stack,
    async stop() {
      await stack.stop();
      await fake.stop();
    },
  };
}
