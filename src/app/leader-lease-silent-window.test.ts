import { describe, expect, it } from 'vitest';
import { SilentConnection } from '../queue/silent-connection.ts';
import { DEFAULT_LEASE_MS, leaseSilentMs } from './leader-lease.ts';

describe('leaseSilentMs: how long the lease connection may only time out before it is replaced', () => {
  it('is two leases when the bot allows longer (the default lease: 12 s, not the bot’s 60 s)', () => {
    expect(leaseSilentMs(DEFAULT_LEASE_MS, 60_000)).toBe(12_000);
    expect(leaseSilentMs(60_000, 60_000)).toBe(60_000);
  });
  it('never exceeds the bot’s own window, and is two leases without one', () => {
    expect(leaseSilentMs(6_000, 3_000)).toBe(3_000);
    expect(leaseSilentMs(1_500)).toBe(3_000);
  });
  it('judged by SilentConnection: a lease command given up in ioredis’s words counts; another error starts again', () => {
    const silence = new SilentConnection(leaseSilentMs(1_500));
    const timedOut = new Error('Command timed out');
    expect(silence.failed(timedOut, 0, 200)).toBeNull();
    expect(silence.failed(new Error("Stream isn't writeable and enableOfflineQueue options is false"), 1_000, 1_100)).toBeNull();
    expect(silence.failed(timedOut, 1_200, 4_000)).toBeNull();
    expect(silence.failed(timedOut, 4_100, 4_300)).toBe(3_100);
  });
});
