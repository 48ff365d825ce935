import { Redis } from 'ioredis';
import { CaptureAdapter } from './capture-adapter.ts';
import { REDIS_URL } from './redis.ts';
import { startTestStack, type TestStack } from './stack.ts';

/**
 * The demo stack for the alert tests: alerts on, to the terminal channel `alerts` (10 min cool-down), sampling every
 * second, approvals off; the adapter records all the bot delivers.
 */
export async function startAlertsStack(): Promise<{ stack: TestStack; adapter: CaptureAdapter }> {
  const adapter = new CaptureAdapter('terminal');
  const stack = await startTestStack({
    makeAdapters: () => [adapter],
    adjustConfig: (c) => ({
      ...c,
      approvals: { ...c.approvals, enabled: false },
      sampling: { ...c.sampling, intervalSeconds: 1, historyEverySeconds: 1 },
      alerts: { enabled: true, channels: [{ platform: 'terminal', id: 'alerts' }], cooldownMinutes: 10 },
    }),
  });
  return { stack, adapter };
}

/** Until the host's sampler has its baseline and a first sample (a change before that is part of the baseline). */
export async function sampled(stack: TestStack, host: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    for (let i = 0; i < 100 && !(await redis.exists(`${stack.prefix}:sample:${host}`)); i++) await new Promise((r) => setTimeout(r, 100));
  } finally {
    redis.disconnect();
  }
}
