import { describe, expect, it } from 'vitest';
import { type HostOutcome, renderContext } from '../src/core/define-command.ts';
import type { Reply } from '../src/core/reply.ts';
import { hostAnswer } from '../test/helpers/status-outcomes.ts';
import { digest } from './digest.ts';

const NOW = Date.UTC(2026, 11, 7, 17, 0, 0);

function withUptime(uptimeSeconds: number | null): HostOutcome<'host.digest'> {
  return hostAnswer<'host.digest'>({
    host: 'xen1',
    hours: 24,
    since: NOW - 60_000,
    points: 5,
    domains: [{ name: 'web', peakCpuPercent: 4, avgCpuPercent: 4, uptimeSeconds, restarts: 0 }],
  });
}
const webRow = (r: Reply) => r.blocks.flatMap((b) => (b.type === 'table' ? b.table.rows : [])).find((row) => row[1] === 'web') ?? [];

describe('/digest uptime of a domain up for less than a minute', () => {
  it('GIVEN web up 53 s THEN its uptime reads 53s, as /uptime says it, not 0m', () => {
    const r = digest.render([withUptime(53)], { hours: 24 }, renderContext({ now: NOW }));
    expect(webRow(r)[4]).toBe('53s');
  });

  it('GIVEN web up 2 h 5 min THEN the coarse form is kept', () => {
    const r = digest.render([withUptime(2 * 3600 + 5 * 60 + 9)], { hours: 24 }, renderContext({ now: NOW }));
    expect(webRow(r)[4]).toBe('2h 5m');
  });
});
