import { Redis } from 'ioredis';
import type { StartAgentOptions } from '../../src/agent/agent.ts';
import type { Config, SshDefaults } from '../../src/config/schema.ts';
import { CaptureAdapter } from './capture-adapter.ts';
import { REDIS_URL } from './redis.ts';
import { startTestStack, type TestStack } from './stack.ts';

/**
 * The demo stack for the alert tests: alerts on, to the terminal channel `alerts` (10 min cool-down), sampling every
 * second, approvals off; the adapter records all the bot delivers. `sampler`: the agent's sampler at test speed (a
 * silent xentop given up on in a second or two rather than 3 intervals + 10 s, shorter restart backoff). `ssh`: the
 * agent's SSH settings (a host back up is reconnected to within the reconnect backoff, 30 s at most by default).
 */
export async function startAlertsStack(
  options: { sampler?: StartAgentOptions['sampler']; ssh?: Partial<SshDefaults> } = {},
): Promise<{ stack: TestStack; adapter: CaptureAdapter }> {
  const adapter = new CaptureAdapter('terminal');
  const adjustConfig = (c: Config): Config => ({
    ...c,
    ...(options.ssh ? { ssh: { ...c.ssh, ...options.ssh } } : {}),
    approvals: { ...c.approvals, enabled: false },
    sampling: { ...c.sampling, intervalSeconds: 1, historyEverySeconds: 1 },
    alerts: { enabled: true, channels: [{ platform: 'terminal', id: 'alerts' }], cooldownMinutes: 10 },
  });
  const stack = await startTestStack({
    makeAdapters: () => [adapter],
    adjustConfig,
    ...(options.sampler ? { sampler: options.sampler } : {}),
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
