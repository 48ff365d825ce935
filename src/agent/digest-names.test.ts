import { describe, expect, it } from 'vitest';
import { Config } from '../config/schema.ts';
import { runHandler } from './handlers.ts';
import type { Toolstack } from './toolstack/types.ts';

describe('the digest of a host whose guests have names of Object properties', () => {
  it('gives a guest named `constructor` that is not running no uptime, not Object.prototype.constructor', async () => {
    const config = Config.parse({ hosts: { xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` } } });
    // `constructor` ran during the window (sampled) and is not running now: `xl uptime` lists only `toString`.
    const ts = { kind: 'xl', uptime: async () => ({ seconds: { toString: 120 }, unparsed: [] }) } as unknown as Toolstack;
    const now = Date.now();
    const figures = { cpuAvg: 5, cpuMax: 9, memoryKiB: 1024, cpuSeconds: 10, netTxKiBps: null, netRxKiBps: null };
    // `constructor` is in the first point only: the second has no figures of it (it had stopped).
    const points: { at: number; domains: Record<string, typeof figures> }[] = [
      { at: now - 120_000, domains: { constructor: figures, toString: figures } },
      { at: now - 60_000, domains: { toString: { ...figures, cpuSeconds: 20 } } },
    ];
    const result = await runHandler(
      {
        op: 'host.digest',
        host: 'xen1',
        hours: 24,
        meta: { requestId: 'r', person: 'p', platform: 'terminal', userId: 'u', channelId: 'c', command: 'digest' },
      },
      {
        config,
        toolstack: async () => ts,
        op: {},
        samples: { latest: () => null, history: async () => JSON.parse(JSON.stringify(points)) } as never,
        now: () => now,
      },
    );
    expect(result.domains).toEqual([
      { name: 'constructor', peakCpuPercent: 9, avgCpuPercent: 5, uptimeSeconds: null, restarts: 0 },
      { name: 'toString', peakCpuPercent: 9, avgCpuPercent: 5, uptimeSeconds: 120, restarts: 0 },
    ]);
  });
});
