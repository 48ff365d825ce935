import { describe, expect, it } from 'vitest';
import { type HostOutcome, type RenderedChart, renderContext } from '../src/core/define-command.ts';
import type { Reply } from '../src/core/reply.ts';
import { digest } from './digest.ts';
import { top } from './top.ts';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const HOSTS = Array.from({ length: 40 }, (_, i) => `xen${i + 1}`);

function digested(host: string): HostOutcome<'host.digest'> {
  return {
    host,
    ok: true,
    agent: null,
    frozen: null,
    result: { host, hours: 24, since: NOW - 86_400_000, points: 1440, domains: [] },
  };
}
function topped(host: string): HostOutcome<'host.top'> {
  return { host, ok: true, agent: null, frozen: null, result: { host, live: true, sampledAt: NOW, domains: [] } };
}
const drawn = (hosts: string[]): RenderedChart[] => hosts.map((host) => ({ host, png: new Uint8Array([1]), text: host }));
const text = (r: Reply) => r.blocks.map((b) => ('text' in b ? b.text : '')).join('\n');

describe('charts of a fleet-wide /digest or /top chart:true', () => {
  it('GIVEN 40 hosts THEN /digest draws at most 10 charts (one message holds 10 files) and says which hosts have none', () => {
    const outcomes = HOSTS.map(digested);
    const hosts = digest.charts?.({ hours: 24 }, outcomes) ?? [];
    expect(hosts).toEqual(HOSTS.slice(0, 10));
    const r = digest.render(outcomes, { hours: 24 }, renderContext({ now: NOW, charts: drawn(hosts) }));
    expect(r.attachments).toHaveLength(10);
    expect(text(r)).toContain('Charts of 10 of the 40 hosts: /digest HOST charts another.');
  });

  it('GIVEN 40 hosts THEN /top chart:true draws at most 10 charts and says so', () => {
    const outcomes = HOSTS.map(topped);
    const hosts = top.charts?.({ chart: true }, outcomes) ?? [];
    expect(hosts).toHaveLength(10);
    const r = top.render(outcomes, { chart: true }, renderContext({ now: NOW, charts: drawn(hosts) }));
    expect(text(r)).toContain('Charts of 10 of the 40 hosts: /top HOST chart:true charts another.');
  });

  it('GIVEN 3 hosts THEN every host is charted and nothing is said about it', () => {
    const outcomes = HOSTS.slice(0, 3).map(digested);
    const hosts = digest.charts?.({ hours: 24 }, outcomes) ?? [];
    expect(hosts).toHaveLength(3);
    expect(text(digest.render(outcomes, { hours: 24 }, renderContext({ now: NOW, charts: drawn(hosts) })))).not.toContain('Charts of');
  });
});
