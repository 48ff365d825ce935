import { describe, expect, it } from 'vitest';
import { Config } from '../config/schema.ts';
import type { DomainSample, HistoryPoint, HostSample } from '../core/samples.ts';
import { runHandler } from './handlers.ts';
import { RollupWindow } from './sampling.ts';
import type { Toolstack } from './toolstack/types.ts';

/**
 * Restarts in /digest: the sampler's history (points folded by the real RollupWindow from xentop-like samples) and
 * `xl uptime` read by the digest job. xentop's CPU(sec) is whole seconds, so an idle or young guest's CPU time never
 * goes backwards: its uptime must tell the restart.
 */
const config = Config.parse({
  hosts: { xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` } },
  sampling: { historyHours: 24, historyEverySeconds: 60 },
});
const NOW = Date.UTC(2026, 0, 5, 12, 0, 0);
const MIN = 60_000;

const row = (name: string, cpuSeconds: number): DomainSample => ({
  name,
  state: '-b----',
  cpuPercent: 0,
  cpuSeconds,
  memoryKiB: 1_048_576,
  maxMemoryKiB: null,
  vcpus: 1,
  netTxKiBps: null,
  netRxKiBps: null,
  vbdRdPerSec: null,
  vbdWrPerSec: null,
});

/**
 * One point per minute, ending `minutesAgo` minutes before NOW (oldest first): `at(m)` gives the rows of the
 * window ending m minutes ago (3 samples each, as xentop -d 20 gives).
 */
function history(minutesAgo: number[], at: (m: number) => DomainSample[]): HistoryPoint[] {
  return minutesAgo.map((m) => {
    const w = new RollupWindow();
    for (const s of [40, 20, 0]) {
      const sample: HostSample = { host: 'xen1', at: NOW - m * MIN - s * 1000, intervalSeconds: 20, domains: at(m) };
      w.add(sample);
    }
    return w.point(NOW - m * MIN);
  });
}
const range = (from: number, to: number) => Array.from({ length: from - to + 1 }, (_, i) => from - i);

async function restarts(points: HistoryPoint[], uptimeSeconds: Record<string, number>): Promise<Record<string, number>> {
  const ts = { kind: 'xl', uptime: async () => ({ seconds: uptimeSeconds, unparsed: [] }) } as unknown as Toolstack;
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
      samples: { latest: () => null, history: async (_h, since) => points.filter((p) => p.at >= since) },
      now: () => NOW,
    },
  );
  return Object.fromEntries(result.domains.map((d) => [d.name, d.restarts]));
}

describe('/digest restarts', () => {
  it('GIVEN an idle guest (CPU(sec) stays 0) rebooted 22 s ago, seen all along THEN one restart, told by its uptime', async () => {
    const points = history(range(10, 1), () => [row('web', 0), row('db', 0)]);
    expect(await restarts(points, { web: 22, db: 3_600 })).toEqual({ web: 1, db: 0 });
  });

  it('GIVEN an idle guest rebooted 3.5 min ago, seen before and after THEN one restart', async () => {
    const points = history(range(10, 1), () => [row('web', 0)]);
    expect(await restarts(points, { web: 210 })).toEqual({ web: 1 });
  });

  it('GIVEN one reboot its CPU time and its uptime both show THEN it is counted once', async () => {
    // Rebooted 5.5 min ago: CPU time drops in the point ending 5 min ago; uptime 330 s.
    const points = history(range(10, 1), (m) => [row('web', m > 5 ? 500 + (10 - m) : 1 + (5 - m))]);
    expect(await restarts(points, { web: 330 })).toEqual({ web: 1 });
  });

  it('GIVEN two reboots, an earlier one seen in CPU time and the last only in uptime THEN two', async () => {
    const points = history(range(10, 1), (m) => [row('web', m > 5 ? 500 : 0)]);
    expect(await restarts(points, { web: 30 })).toEqual({ web: 2 });
  });

  it('GIVEN a guest that arrived by live migration 5 min ago THEN no restart (its uptime counts from its arrival)', async () => {
    const points = history(range(5, 1), () => [row('web', 0)]);
    expect(await restarts(points, { web: 5 * 60 + 25 })).toEqual({ web: 0 });
  });

  it('GIVEN a guest that migrated away and came back THEN no restart on this host', async () => {
    // Here 10–8 min ago, away 7–5 min ago, back since 4 min ago (a new domain here: uptime counts from its return).
    const points = history(range(10, 1), (m) => (m >= 8 || m <= 4 ? [row('web', m >= 8 ? 40 : 2)] : []));
    expect(await restarts(points, { web: 4 * 60 + 30 })).toEqual({ web: 0 });
  });

  it("GIVEN xl's migration names come and go THEN they count no restart", async () => {
    const points = history(range(10, 1), (m) =>
      m === 9 || m === 3 ? [row('web--incoming', m === 9 ? 30 : 0), row('db--migratedaway', m === 9 ? 30 : 0)] : [],
    );
    expect(await restarts(points, {})).toEqual({ 'web--incoming': 0, 'db--migratedaway': 0 });
  });

  it('GIVEN no uptime read for a guest THEN its CPU time alone still tells a restart', async () => {
    const points = history(range(10, 1), (m) => [row('web', m > 5 ? 500 : 3)]);
    expect(await restarts(points, {})).toEqual({ web: 1 });
  });
});
