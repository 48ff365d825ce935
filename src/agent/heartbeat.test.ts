import { describe, expect, it } from 'vitest';
import { createLogger } from '../core/log.ts';
import type { AgentBeat } from '../queue/coordination.ts';
import { HeartbeatLoop } from './heartbeat.ts';

function memoryLogger() {
  const lines: { level: number; msg: string }[] = [];
  const logger = createLogger('info', { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) });
  return { logger, lines };
}

describe('HeartbeatLoop', () => {
  it('never throws while Redis is down: logs once, keeps trying, and says when it answers again', async () => {
    const { logger, lines } = memoryLogger();
    let down = true;
    const written: AgentBeat[] = [];
    const loop = new HeartbeatLoop({
      beats: {
        beat: async (_hosts, beat) => {
          if (down) throw new Error('Connection is closed.');
          written.push(beat);
        },
      },
      hosts: ['xen1', 'xen2'],
      agentId: 'a1',
      where: '42@box',
      intervalMs: 60_000,
      logger,
      now: () => 1000,
    });
    expect(await loop.start()).toBe(false);
    expect(await loop.beat()).toBe(false);
    expect(lines.map((l) => l.msg)).toEqual(['heartbeat: could not write to Redis; will keep trying']);
    down = false;
    expect(await loop.beat()).toBe(true);
    expect(lines.map((l) => l.msg)).toEqual(['heartbeat: could not write to Redis; will keep trying', 'heartbeat: Redis answers again']);
    expect(await loop.stop()).toBe(true);
    expect(written).toEqual([
      { agentId: 'a1', where: '42@box', seenAt: 1000 },
      { agentId: 'a1', where: '42@box', seenAt: 1000, stoppedAt: 1000 },
    ]);
  });

  it('does not pile beats up while one is in flight', async () => {
    const { logger } = memoryLogger();
    let release: () => void = () => {};
    let calls = 0;
    const loop = new HeartbeatLoop({
      beats: {
        beat: () => {
          calls++;
          return calls > 1
            ? Promise.resolve()
            : new Promise<void>((r) => {
                release = r;
              });
        },
      },
      hosts: ['xen1'],
      agentId: 'a1',
      where: '42@box',
      intervalMs: 60_000,
      logger,
    });
    const first = loop.start();
    const second = loop.beat();
    expect(calls).toBe(1);
    release();
    expect(await Promise.all([first, second])).toEqual([true, true]);
    expect(await loop.stop()).toBe(true);
    expect(calls).toBe(2);
  });
});
