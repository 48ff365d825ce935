import { describe, expect, it } from 'vitest';
import { digest } from '../../commands/digest.ts';
import { Config } from '../config/schema.ts';
import { type HostOutcome, renderContext } from '../core/define-command.ts';
import type { HistoryPoint } from '../core/samples.ts';
import { runHandler } from './handlers.ts';
import type { Toolstack } from './toolstack/types.ts';

/**
 * `/digest hours:N` (1–168) reads the sampler's history, which keeps `sampling.historyHours` (default 24), one point per
 * `historyEverySeconds`: the reply says how far back its figures go.
 */
const config = Config.parse({
  hosts: { xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` } },
  sampling: { historyHours: 24, historyEverySeconds: 60 },
});
const fig = {
  cpuAvg: 5,
  cpuMax: 9,
  memoryKiB: 1024,
  cpuSeconds: 10,
  netTxKiBps: null,
  netRxKiBps: null,
  vbdRdPerSec: null,
  vbdWrPerSec: null,
};

/** One-minute history points ending a minute ago: the newest `minutes` of them. */
function history(minutes: number, now: number): HistoryPoint[] {
  return Array.from({ length: minutes }, (_, i) => ({
    at: now - (minutes - i) * 60_000,
    domains: { web: { ...fig, cpuSeconds: 10 + i } },
  }));
}

/** The digest reply's title and text, for a host whose sampler kept these points. */
async function digestText(hours: number, kept: HistoryPoint[], now: number): Promise<{ title: string; text: string }> {
  const ts = { kind: 'xl', uptime: async () => ({ seconds: { web: 30 * 86_400 }, unparsed: [] }) } as unknown as Toolstack;
  const result = await runHandler(
    {
      op: 'host.digest',
      host: 'xen1',
      hours,
      meta: { requestId: 'r', person: 'p', platform: 'terminal', userId: 'u', channelId: 'c', command: 'digest' },
    },
    {
      config,
      toolstack: async () => ts,
      op: {},
      samples: { latest: () => null, history: async (_h, since) => kept.filter((p) => p.at >= since) },
      now: () => now,
    },
  );
  const outcomes: HostOutcome<'host.digest'>[] = [{ host: 'xen1', ok: true, result }];
  const reply = digest.render(outcomes as never, { hours } as never, renderContext({ now }));
  return { title: reply.title, text: reply.blocks.map((b) => (b.type === 'text' ? b.text : '')).join('\n') };
}

describe('/digest over the hours its history covers', () => {
  it('GIVEN hours:72 and 24 h of history kept THEN is titled the last 24 h, saying 72 were asked', async () => {
    const now = Date.now();
    const { title, text } = await digestText(72, history(1440, now), now);
    expect(title).toBe('Digest: the last 24 h (72 h asked; the history keeps 24 h)');
    expect(text).toContain('xen1: 1440 history points over 24 h');
  });

  it('GIVEN hours:6 THEN is titled the last 6 h, its points those of the 6 h', async () => {
    const now = Date.now();
    const { title, text } = await digestText(6, history(1440, now), now);
    expect(title).toBe('Digest: the last 6 h');
    expect(text).toContain('xen1: 360 history points over 6 h');
  });

  it('GIVEN a history begun 12 minutes ago THEN says how little its points cover', async () => {
    const now = Date.now();
    const { title, text } = await digestText(24, history(12, now), now);
    expect(title).toBe('Digest: the last 24 h');
    expect(text).toContain('xen1: 12 history points over 13 min');
  });

  it('GIVEN no history (sampling off) THEN says there is none', async () => {
    const now = Date.now();
    expect((await digestText(24, [], now)).text).toContain('xen1: no history points');
  });
});
