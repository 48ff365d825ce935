import { describe, expect, it } from 'vitest';
import { type HostOutcome, renderContext } from '../src/core/define-command.ts';
import { scopeResult } from '../src/core/pipeline.ts';
import type { JobOp, JobResults } from '../src/queue/jobs.ts';
import { digest } from './digest.ts';
import { list } from './list.ts';
import { status } from './status.ts';
import { top } from './top.ts';
import { uptime } from './uptime.ts';

/**
 * A read's reply as the relay makes it for someone allowed only the web* guests: the agent's result passed through
 * scopeResult, then rendered. Nothing in the whole reply may name, or count, a guest outside that scope — the lines a
 * host printed that could not be read included, whether or not the guest they quote was also read into a row.
 */
const mayName = (d: string) => d.startsWith('web');
const ctx = renderContext({ now: Date.UTC(2026, 0, 5, 12) });

function scoped<Op extends JobOp>(result: JobResults[Op]): HostOutcome<Op>[] {
  return [{ host: 'xen1', ok: true, result: scopeResult(result, mayName) } as HostOutcome<Op>];
}
const whole = (r: unknown) => JSON.stringify(r);

describe('a read shown to someone allowed only web*', () => {
  it('/uptime: a line of xl uptime that could not be read, quoting payroll (no row of its own), is not shown', () => {
    const r = uptime.render(
      scoped<'host.uptime'>({
        host: 'xen1',
        toolstack: 'xl',
        rows: [{ name: 'web1', id: 3, uptimeSeconds: 600 }],
        unparsed: ['payroll                                     7  up since (null)'],
      }),
      {} as never,
      ctx,
    );
    expect(whole(r)).toContain('web1');
    expect(whole(r)).not.toMatch(/payroll/);
  });

  it('/digest: the unread lines of xl uptime quoting payroll are not shown, though payroll has a row left out', () => {
    const r = digest.render(
      scoped<'host.digest'>({
        host: 'xen1',
        hours: 24,
        since: ctx.now - 3_600_000,
        points: 60,
        domains: [
          { name: 'web1', peakCpuPercent: 5, avgCpuPercent: 1, uptimeSeconds: 600, restarts: 0 },
          { name: 'payroll', peakCpuPercent: 50, avgCpuPercent: 10, uptimeSeconds: null, restarts: 0 },
        ],
        unreadUptime: { command: 'xl uptime', lines: ['payroll                                     7  up since (null)'] },
      }),
      { hours: 24 } as never,
      ctx,
    );
    expect(whole(r)).toContain('web1');
    expect(whole(r)).not.toMatch(/payroll/);
  });

  it('/list: a line of xl list that could not be read, quoting payroll, is not shown', () => {
    const r = list.render(
      scoped<'domain.list'>({
        host: 'xen1',
        toolstack: 'xl',
        domains: [{ name: 'web1', id: 3, status: 'blocked', memoryMiB: 1024, vcpus: 1 } as never],
        notes: ['could not read this line of xl list: "payroll    7  1024  1  -b-?--  12.0"'],
      }),
      {} as never,
      ctx,
    );
    expect(whole(r)).toContain('web1');
    expect(whole(r)).not.toMatch(/payroll/);
  });

  it('/top: a line of xentop that could not be read, quoting payroll, is not shown', () => {
    const r = top.render(
      scoped<'host.top'>({
        host: 'xen1',
        live: true,
        sampledAt: ctx.now,
        domains: [],
        notes: ['could not read 1 line of xentop (the first: "payroll --b--- 12 0.0 1048576")'],
      }),
      { chart: false } as never,
      ctx,
    );
    expect(whole(r)).not.toMatch(/payroll/);
  });

  it('/status: counts only the guests it may see (xen1 also runs payroll and has ledger stopped)', () => {
    const r = status.render(
      scoped<'host.status'>({
        host: 'xen1',
        reachable: true,
        toolstack: 'xl',
        domainsByStatus: { running: 1, blocked: 2, defined: 1 },
        totalMemoryMiB: 32768,
        freeMemoryMiB: 28672,
        xenVersion: '4.17.3',
        domains: [
          { name: 'Domain-0', uuid: null, status: 'running', memoryMiB: 2048 },
          { name: 'web1', uuid: null, status: 'blocked', memoryMiB: 1024 },
          { name: 'payroll', uuid: null, status: 'blocked', memoryMiB: 1024 },
          { name: 'ledger', uuid: null, status: 'defined', memoryMiB: 512, autostart: true },
        ],
      }),
      {} as never,
      ctx,
    );
    expect(whole(r)).toContain('"1 running"');
  });
});
