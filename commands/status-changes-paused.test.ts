import { describe, expect, it } from 'vitest';
import { renderDiscord } from '../src/adapters/discord/render.ts';
import { renderTelegram } from '../src/adapters/telegram/render.ts';
import { snapshotOf } from '../src/app/post-desk.ts';
import { diffSnapshots } from '../src/core/changes.ts';
import { type HostOutcome, renderContext } from '../src/core/define-command.ts';
import { scopeResult } from '../src/core/pipeline.ts';
import type { DomainStatus } from '../src/core/xen.ts';
import { answered, NOW, rowsOf } from '../test/helpers/status-outcomes.ts';
import { status } from './status.ts';

const guest = (name: string, status: DomainStatus) => ({ name, uuid: `u-${name}`, status, memoryMiB: 1024 });

/** A host's /status answer with its guests in these states, counted as the agent counts them. */
function host(name: string, guests: Record<string, DomainStatus>): HostOutcome<'host.status'> {
  const domains = Object.entries(guests).map(([g, s]) => guest(g, s));
  const domainsByStatus: Partial<Record<DomainStatus, number>> = {};
  for (const g of domains) domainsByStatus[g.status] = (domainsByStatus[g.status] ?? 0) + 1;
  return answered(name, { domains, domainsByStatus });
}

/** The post a schedule makes of `now` after it posted `prev`, as the relay does: both seen through the same scope. */
function post(prev: HostOutcome<'host.status'>[], now: HostOutcome<'host.status'>[], mayName?: (d: string) => boolean) {
  const scoped = (os: HostOutcome<'host.status'>[]) =>
    mayName ? os.map((o) => (o.ok ? { ...o, result: scopeResult(o.result, mayName) } : o)) : os;
  const changes = diffSnapshots(snapshotOf(scoped(prev), NOW - 20_000), snapshotOf(scoped(now), NOW));
  return status.render(scoped(now), {}, renderContext({ now: NOW, changes, changesSince: NOW - 20_000 }));
}

describe('a scheduled status post after /pause and /unpause', () => {
  const running = [host('xen1', { web: 'blocked', mail: 'running' }), host('xen2', { files: 'running' })];
  const paused = [host('xen1', { web: 'paused', mail: 'running' }), host('xen2', { files: 'running' })];

  it('GIVEN web paused since the last post THEN the post says so above a table counting it paused', () => {
    const r = post(running, paused);
    expect(r.blocks[0]).toEqual({ type: 'text', text: 'Changes since the last post (11:59:40 UTC):\n⏸ web paused on xen1' });
    expect(rowsOf(r)).toContain('xen1 | up (xl 4.17.3) | 1 running, 1 paused');
    // A pause is an operator's act, no fault: the post is no warning for it.
    expect(r.tone).not.toBe('warning');
  });

  it('GIVEN web unpaused since the last post THEN "web unpaused", not "No changes"', () => {
    const r = post(paused, running);
    expect(r.blocks[0]).toEqual({ type: 'text', text: 'Changes since the last post (11:59:40 UTC):\n▶ web unpaused on xen1' });
  });

  it('GIVEN a person who may see only web, and mail paused too THEN their post says web’s pause alone', () => {
    const both = [host('xen1', { web: 'paused', mail: 'paused' }), host('xen2', { files: 'running' })];
    const r = post(running, both, (d) => d === 'web');
    expect(r.blocks[0]).toEqual({ type: 'text', text: 'Changes since the last post (11:59:40 UTC):\n⏸ web paused on xen1' });
    expect(rowsOf(r)).not.toContain('mail');
    // Everyone else's view: both.
    expect(post(running, both).blocks[0]).toEqual({
      type: 'text',
      text: 'Changes since the last post (11:59:40 UTC):\n⏸ web paused on xen1\n⏸ mail paused on xen1',
    });
  });

  it('GIVEN a 100-host fleet paused for maintenance THEN the first changes marked, the rest counted, one message', () => {
    const fleet = (s: DomainStatus) => Array.from({ length: 100 }, (_, i) => host(`xen${i}`, { [`vm${i}`]: s, [`db${i}`]: 'running' }));
    const r = post(fleet('running'), fleet('paused'));
    const changes = r.blocks[0]?.type === 'text' ? r.blocks[0].text.split('\n') : [];
    expect(changes[0]).toBe('Changes since the last post (11:59:40 UTC):');
    expect(changes.slice(1, -1)).toHaveLength(20);
    expect(changes.slice(1, -1).every((l) => /^⏸ vm\d+ paused on xen\d+$/.test(l))).toBe(true);
    expect(changes.at(-1)).toBe('… and 80 more');
    expect(rowsOf(r)).toContain('100 hosts: 100 up, 0 not answering; domains: 100 running, 100 paused');
    expect(renderTelegram(r).documents).toEqual([]);
    expect(renderDiscord(r).files).toEqual([]);
  });
});
