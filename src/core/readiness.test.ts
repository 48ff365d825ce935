import { describe, expect, it } from 'vitest';
import { adaptersCheck, agentsCheck, probeCheck, readinessReport, workersCheck } from './readiness.ts';

const NOW = 1_000_000;
const beat = (seenAgoMs: number, extra: { stoppedAt?: number } = {}) => ({
  agentId: 'a1',
  where: '1@box',
  seenAt: NOW - seenAgoMs,
  ...extra,
});

describe('readiness checks (pure)', () => {
  it('is ready only when every check passes, and names the failing ones', () => {
    const ok = { name: 'redis', ok: true, detail: 'PING PONG' };
    const bad = { name: 'agents', ok: false, detail: 'xen2: no agent ever seen' };
    expect(readinessReport([ok])).toEqual({ status: 200, body: { ready: true, failing: [], checks: [ok] } });
    expect(readinessReport([ok, bad])).toEqual({ status: 503, body: { ready: false, failing: ['agents'], checks: [ok, bad] } });
    // No checks at all is not a reason to say "ready".
    expect(readinessReport([])).toMatchObject({ status: 503, body: { ready: false, failing: ['checks'] } });
  });

  it('agents: a live heartbeat for every configured host', () => {
    expect(agentsCheck(['xen1', 'xen2'], { xen1: beat(1_000), xen2: beat(2_000) }, NOW, 10_000)).toEqual({
      name: 'agents',
      ok: true,
      detail: 'a live agent for each of 2 host(s)',
    });
    const check = agentsCheck(
      ['xen1', 'xen2', 'xen3'],
      { xen1: beat(1_000), xen2: beat(30_000), xen3: beat(0, { stoppedAt: NOW - 5_000 }) },
      NOW,
      10_000,
    );
    expect(check).toEqual({ name: 'agents', ok: false, detail: 'xen2: agent last seen 30 s ago; xen3: its agent stopped 5 s ago' });
    expect(agentsCheck(['xen1'], {}, NOW, 10_000)).toEqual({ name: 'agents', ok: false, detail: 'xen1: no agent ever seen' });
  });

  it('adapters: each started and connected; none at all fails, naming the platforms skipped', () => {
    expect(adaptersCheck([{ platform: 'telegram', started: true, connected: true }])).toEqual({
      name: 'adapters',
      ok: true,
      detail: 'telegram connected',
    });
    expect(adaptersCheck([{ platform: 'terminal', started: true, connected: undefined }]).ok).toBe(true);
    expect(
      adaptersCheck([
        { platform: 'discord', started: true, connected: false },
        { platform: 'telegram', started: false, connected: undefined },
      ]),
    ).toEqual({ name: 'adapters', ok: false, detail: 'discord disconnected; telegram not started' });
    expect(adaptersCheck([], [{ platform: 'discord', reason: 'no token: set DISCORD_TOKEN' }])).toEqual({
      name: 'adapters',
      ok: false,
      detail: 'no chat platform is running; discord skipped (no token: set DISCORD_TOKEN)',
    });
  });

  it('workers: every served host has a running worker', () => {
    expect(workersCheck([{ host: 'xen1', running: true }])).toEqual({ name: 'workers', ok: true, detail: 'running for xen1' });
    expect(
      workersCheck([
        { host: 'xen1', running: true },
        { host: 'xen2', running: false },
      ]),
    ).toEqual({
      name: 'workers',
      ok: false,
      detail: 'not running for xen2',
    });
    expect(workersCheck([]).ok).toBe(false);
  });

  it('a probe that fails or never answers is a failing check, with the password out of the reason', async () => {
    expect(await probeCheck('redis', async () => 'PING PONG', 1_000)).toEqual({ name: 'redis', ok: true, detail: 'PING PONG' });
    expect(await probeCheck('redis', () => Promise.reject(new Error('connect ECONNREFUSED redis://:pw@h:6379')), 1_000)).toEqual({
      name: 'redis',
      ok: false,
      detail: 'connect ECONNREFUSED redis://:[redacted]@h:6379',
    });
    expect(await probeCheck('redis', () => new Promise<string>(() => {}), 20)).toEqual({
      name: 'redis',
      ok: false,
      detail: 'no answer within 20 ms',
    });
  });
});
