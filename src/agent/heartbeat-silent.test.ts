import { describe, expect, it } from 'vitest';
import { createLogger } from '../core/log.ts';
import { HeartbeatLoop } from './heartbeat.ts';

/** A loop whose beats fail with the errors given, one per beat, each taking `tookMs` on a hand-driven clock. */
function loopFailingWith(errors: (Error | null)[], tookMs: number) {
  const lines: { level: number; msg: string }[] = [];
  const logger = createLogger('info', { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) });
  let clock = 0;
  let replaced = 0;
  const loop = new HeartbeatLoop({
    beats: {
      beat: async () => {
        clock += tookMs;
        const error = errors.shift();
        if (error) throw error;
      },
    },
    hosts: ['xen1'],
    agentId: 'a1',
    where: '42@box',
    intervalMs: 60_000,
    logger,
    monotonic: () => clock,
    silentConnection: {
      silentMs: 60_000,
      replace: () => {
        replaced++;
      },
    },
  });
  return { loop, lines, replaced: () => replaced };
}

const timedOut = () => new Error('Command timed out');

describe('HeartbeatLoop on a silent connection', () => {
  it('replaces it once after beats have timed out for silentMs in a row, then starts counting again', async () => {
    const { loop, lines, replaced } = loopFailingWith(Array.from({ length: 12 }, timedOut), 10_000);
    for (let i = 0; i < 5; i++) await loop.beat();
    expect(replaced()).toBe(0);
    await loop.beat(); // the sixth: 60 s since the first was sent
    expect(replaced()).toBe(1);
    expect(lines.filter((l) => l.msg.includes('replacing the connection'))).toHaveLength(1);
    for (let i = 0; i < 5; i++) await loop.beat();
    expect(replaced()).toBe(1);
    await loop.beat();
    expect(replaced()).toBe(2);
  });

  it('a beat Redis takes, or another error, in between starts the count again: a Redis answering late is waited for', async () => {
    const t = timedOut;
    const { loop, replaced } = loopFailingWith(
      [t(), t(), t(), t(), t(), null, t(), t(), t(), t(), t(), new Error('Connection is closed.'), t(), t(), t(), t(), t()],
      10_000,
    );
    for (let i = 0; i < 17; i++) await loop.beat();
    expect(replaced()).toBe(0);
  });

  it('the final beat of stop() never replaces it', async () => {
    const { loop, replaced } = loopFailingWith(Array.from({ length: 6 }, timedOut), 10_000);
    for (let i = 0; i < 5; i++) await loop.beat();
    expect(await loop.stop()).toBe(false);
    expect(replaced()).toBe(0);
  });
});
