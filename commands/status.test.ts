import { describe, expect, it } from 'vitest';
import { renderDiscord } from '../src/adapters/discord/render.ts';
import { renderTelegram } from '../src/adapters/telegram/render.ts';
import type { FleetChange } from '../src/core/changes.ts';
import { type HostOutcome, renderContext } from '../src/core/define-command.ts';
import { answered, failed, NOW, rowsOf as text } from '../test/helpers/status-outcomes.ts';
import { status } from './status.ts';

function up(host: string, n: number, extra: { cpu?: number } = {}): HostOutcome<'host.status'> {
  const domains = Array.from(
    { length: n },
    (_, i) => ({ name: `${host}-vm${i}`, uuid: null, status: i % 2 ? 'blocked' : 'running', memoryMiB: 1024 }) as const,
  );
  return answered(host, {
    domainsByStatus: { running: Math.ceil(n / 2), blocked: Math.floor(n / 2), defined: 1 },
    domains: [...domains],
    busiest: domains.slice(0, 10).map((d, i) => ({ name: d.name, cpuPercent: (extra.cpu ?? 1) + i, memoryKiB: 1024 * 1024 })),
    sampledAt: NOW - 3_000,
  });
}

describe('the status post', () => {
  it('GIVEN a small fleet THEN a row per host, idle guests counted as running, memory used and free, busiest by CPU', () => {
    const r = status.render([up('xen1', 4, { cpu: 50 }), up('xen2', 2)], {}, renderContext({ now: NOW }));
    const t = text(r);
    expect(t).toContain('xen1 | up (xl 4.17.3) | 4 running, 1 defined (not running) | 48 GiB used, 16 GiB free | 1@agent, seen 1 s ago');
    expect(t).toContain('Busiest domains (samples up to 3 s old)');
    const busiest = r.blocks.find((b) => b.type === 'table' && b.caption?.startsWith('Busiest'));
    expect(busiest?.type === 'table' && busiest.table.rows.map((row) => row[0])).toEqual([
      'xen1-vm3',
      'xen1-vm2',
      'xen1-vm1',
      'xen1-vm0',
      'xen2-vm1',
    ]);
  });

  it('GIVEN changes since the last post THEN they come first, marked, and a crash makes the post a warning', () => {
    const changes: FleetChange[] = [
      { kind: 'started', host: 'xen1', domain: 'mail' },
      { kind: 'crashed', host: 'xen2', domain: 'db' },
    ];
    const r = status.render([up('xen1', 2), up('xen2', 2)], {}, renderContext({ now: NOW, changes, changesSince: NOW - 60_000 }));
    expect(r.blocks[0]).toEqual({
      type: 'text',
      text: 'Changes since the last post (11:59:00 UTC):\n▲ mail started on xen1\n✖ db crashed on xen2',
    });
    expect(r.tone).toBe('warning');
    const first = status.render([up('xen1', 2)], {}, renderContext({ now: NOW, changes: null }));
    expect(first.blocks[0]).toEqual({ type: 'text', text: 'First post of this schedule: changes are marked from the next one on.' });
    // Two status schedules in one channel each make a first post: each names its schedule.
    const named = status.render([up('xen1', 2)], {}, renderContext({ now: NOW, changes: null, scheduleId: 'k7q2xm' }));
    expect(named.blocks[0]).toEqual({
      type: 'text',
      text: 'First post of this schedule (k7q2xm): changes are marked from the next one on.',
    });
  });

  it('GIVEN 100 hosts × 20 domains THEN one message on Discord and on Telegram: a summary and only the hosts needing attention', () => {
    const outcomes: HostOutcome<'host.status'>[] = Array.from({ length: 100 }, (_, i) => up(`xen${i}`, 20));
    outcomes[7] = failed('xen7', { code: 'transport', message: 'cannot connect to xen7' });
    const changes: FleetChange[] = Array.from({ length: 60 }, (_, i) => ({ kind: 'started', host: `xen${i}`, domain: 'web' }));
    const r = status.render(outcomes, {}, renderContext({ now: NOW, changes }));
    const t = text(r);
    expect(t).toContain('100 hosts: 99 up, 1 not answering; domains: 1980 running, 99 defined (not running)');
    expect(t).toContain('xen7 | unreachable: cannot connect to xen7');
    expect(t).toContain('… and 40 more');
    expect(t).not.toContain('xen8 |');
    // No "did not fit" attachment on either platform: the post is one readable message.
    expect(renderTelegram(r).documents).toEqual([]);
    expect(renderDiscord(r).files).toEqual([]);
  });

  it('GIVEN a host that answers over SSH but whose toolstack fails THEN a toolstack error, not unreachable, still needing attention', () => {
    const xend = 'xm list on xen3 exited 1: Error: Unable to connect to xend: Connection refused. Is xend running?';
    const outcomes: HostOutcome<'host.status'>[] = Array.from({ length: 4 }, (_, i) => up(`xen${i}`, 2));
    outcomes[3] = failed('xen3', { code: 'remote', message: xend });
    const small = text(status.render(outcomes, {}, renderContext({ now: NOW })));
    expect(small).toContain(`xen3 | toolstack error: ${xend} | - | -`);
    expect(small).not.toContain('unreachable');

    outcomes[2] = failed('xen2', { code: 'transport', message: 'cannot connect to xen2' });
    const big = text(status.render(outcomes, {}, renderContext({ now: NOW, posts: { topDomains: 5, hostRows: 2, changeRows: 20 } })));
    expect(big).toContain('4 hosts: 2 up, 1 failing, 1 not answering;');
    expect(big).toContain('Hosts needing attention\nxen2 | unreachable: cannot connect to xen2');
    expect(big).toContain(`xen3 | toolstack error: ${xend}`);
  });

  it('GIVEN a host whose list printed a line that could not be read THEN it is said, naming the host and the line', () => {
    const odd = up('xen1', 2);
    if (odd.ok) odd.result.notes = ['could not read this line of xl list: "web  7  1024  2  ?????  12.5"'];
    const shown = text(status.render([odd, up('xen2', 2)], {}, renderContext({ now: NOW })));
    expect(shown).toContain('⚠ xen1: could not read this line of xl list: "web  7  1024  2  ?????  12.5"');
  });
});
