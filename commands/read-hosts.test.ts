import { describe, expect, it } from 'vitest';
import { FleetCache } from '../src/app/fleet-cache.ts';
import { parseArgs } from '../src/core/args.ts';
import { type AnyCommand, commandSpec, type HostOutcome, type RenderedChart, renderContext } from '../src/core/define-command.ts';
import { decide } from '../src/core/pipeline.ts';
import type { Reply } from '../src/core/reply.ts';
import type { ChatRequest } from '../src/core/request.ts';
import { domainSummary as dom } from '../test/helpers/domains.ts';
import { pipelineScene } from '../test/helpers/pipeline-scene.ts';
import { chatRequest } from '../test/helpers/requests.ts';
import { digest } from './digest.ts';
import { list } from './list.ts';
import { top } from './top.ts';
import { uptime } from './uptime.ts';

/**
 * `/list xen1,xen2` lists two hosts; `/top xen1,xen2`, `/uptime xen1,xen2` and `/digest xen1,xen2` were refused as a
 * bad host name. The read commands taking `[<host>]` take hosts as /list does: each checked against the config and the
 * asker's scope, run in the config's order, rendered as the whole fleet is (the per-host charts capped the same).
 */
const HOSTS = ['xen1', 'xen2', 'xen3'];
const fleet = new FleetCache(HOSTS);
for (const h of HOSTS) fleet.update(h, [dom(`web-${h}`, 'running')]);

const said = (d: unknown): string => (d as { reply?: { blocks?: { text?: string }[] } }).reply?.blocks?.[0]?.text ?? '';
const text = (r: Reply) => r.blocks.map((b) => ('text' in b ? b.text : '')).join('\n');
const READS: [string, AnyCommand, string][] = [
  ['top', top, 'host.top'],
  ['uptime', uptime, 'host.uptime'],
  ['digest', digest, 'host.digest'],
];

describe.each(READS)('/%s with hosts separated by commas', (name, command, permission) => {
  it('reads each host, folding one named twice; one host and none as before', () => {
    expect(parseArgs(command, { kind: 'text', text: 'xen2,xen1,xen2' })).toMatchObject({ host: ['xen2', 'xen1'] });
    expect(parseArgs(command, { kind: 'text', text: 'xen1' })).toMatchObject({ host: ['xen1'] });
    expect(parseArgs(command, { kind: 'text', text: '' })).not.toHaveProperty('host');
    // A stored schedule's one host is passed as an option (`args: { host: spec.host }`, src/app/bot.ts).
    expect(parseArgs(command, { kind: 'options', options: { host: 'xen2' } })).toMatchObject({ host: ['xen2'] });
  });

  it('refuses one bad host in the words it was refused in before lists, as /list does', () => {
    const refusal = (c: AnyCommand, t: string) => {
      try {
        parseArgs(c, { kind: 'text', text: t });
        return 'parsed';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(refusal(command, 'xen1|cat')).toBe(
      'host: "xen1|cat" is not a valid host name: must be 1-32 of a-z 0-9 _ - starting with a letter or digit',
    );
    expect(refusal(command, 'XEN1')).toBe('host: must be lower case: xen1');
    expect(refusal(command, 'xen1,XEN2')).toBe('host: "XEN2" must be lower case: xen2');
    for (const t of ['xen1|cat', 'XEN1', 'xen1,XEN2', ',']) expect(refusal(list, t), t).toBe(refusal(command, t));
  });

  it('runs on the hosts named, each once, in the order of the config', () => {
    const { ctx } = pipelineScene(HOSTS);
    expect(decide(ctx, chatRequest('r1', `${name} xen3,xen1,xen3`), fleet, true)).toMatchObject({
      kind: 'enqueue',
      targets: [{ host: 'xen1' }, { host: 'xen3' }],
    });
    expect(decide(ctx, chatRequest('r1', name), fleet, true)).toMatchObject({
      kind: 'enqueue',
      targets: [{ host: 'xen1' }, { host: 'xen2' }, { host: 'xen3' }],
    });
  });

  it('runs a scheduled post of one host (its host an option, as the tick passes it) on that host', () => {
    const { ctx } = pipelineScene(HOSTS);
    const tick: ChatRequest = {
      ...chatRequest('sched-SABCDE-1', name),
      actor: { platform: 'terminal', userId: 'xenops:alice', roleIds: [], displayName: 'xenops' },
      channel: { id: 'terminal', kind: 'group' },
      args: { kind: 'options', options: { host: 'xen2' } },
      source: 'system',
      asPerson: 'alice',
    };
    expect(decide(ctx, tick, fleet, true)).toMatchObject({ kind: 'enqueue', targets: [{ host: 'xen2' }] });
  });

  it('refuses, naming it, a host outside the scope of one who may read xen1 only — in the words of that host alone', () => {
    const { ctx } = pipelineScene(HOSTS, { id: 'dave', allow: [{ permission: 'read', hosts: ['xen1'] }] as unknown as string[] });
    const alone = decide(ctx, chatRequest('r1', `${name} xen2`, 'dave'), fleet, true);
    for (const line of [`${name} xen1,xen2`, `${name} xen2,xen1`]) {
      const d = decide(ctx, chatRequest('r1', line, 'dave'), fleet, true);
      expect(d, line).toMatchObject({ kind: 'reject', reply: { title: 'Not allowed' } });
      expect(said(d), line).toBe(`dave may not run /${name}: needs permission ${permission} on xen2`);
      expect(said(d), line).toBe(said(alone));
    }
    expect(decide(ctx, chatRequest('r1', `${name} xen1`, 'dave'), fleet, true)).toMatchObject({
      kind: 'enqueue',
      targets: [{ host: 'xen1' }],
    });
  });

  it('refuses a host that is not there with the answer a host alone gets', () => {
    const { ctx } = pipelineScene(HOSTS);
    const among = decide(ctx, chatRequest('r1', `${name} xen1,xen9`), fleet, true);
    expect(among).toMatchObject({ kind: 'reject', reply: { title: 'Cannot do that' } });
    expect(said(among)).toBe('no host named xen9 (hosts: xen1, xen2, xen3)');
  });

  it("says so in its host's description, as /list does", () => {
    expect(commandSpec(command).options.find((o) => o.name === 'host')).toEqual(commandSpec(list).options.find((o) => o.name === 'host'));
    expect(command.examples).toContain(`/${name} xen1,xen2`);
  });
});

describe('the renders of several hosts named', () => {
  const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
  const named = Array.from({ length: 12 }, (_, i) => `xen${i + 1}`);
  const topped = (host: string): HostOutcome<'host.top'> => ({
    host,
    ok: true,
    agent: null,
    frozen: null,
    result: { host, live: true, sampledAt: NOW, domains: [] },
  });
  const digested = (host: string): HostOutcome<'host.digest'> => ({
    host,
    ok: true,
    agent: null,
    frozen: null,
    result: { host, hours: 24, since: NOW - 86_400_000, points: 1440, domains: [] },
  });
  const drawn = (hosts: string[]): RenderedChart[] => hosts.map((host) => ({ host, png: new Uint8Array([1]), text: host }));

  it('/top xen1,xen3 is titled by the hosts it shows, not "across the fleet"', () => {
    const r = top.render([topped('xen1'), topped('xen3')], { host: ['xen3', 'xen1'], chart: false }, renderContext({ now: NOW }));
    expect(r.title).toBe('top on 2 hosts');
    expect(top.render([topped('xen1'), topped('xen3')], { chart: false }, renderContext({ now: NOW })).title).toBe('top across the fleet');
  });

  it('/top of 12 hosts named, chart:true: 10 charts, and the reply says 2 were left out', () => {
    const outcomes = named.map(topped);
    const args = { host: named, chart: true };
    const hosts = top.charts?.(args, outcomes) ?? [];
    expect(hosts).toEqual(named.slice(0, 10));
    const r = top.render(outcomes, args, renderContext({ now: NOW, charts: drawn(hosts) }));
    expect(r.attachments).toHaveLength(10);
    expect(text(r)).toContain('Charts of 10 of the 12 hosts: /top HOST chart:true charts another.');
  });

  it('/digest of 12 hosts named: 10 charts, and the reply says 2 were left out', () => {
    const outcomes = named.map(digested);
    const args = { host: named, hours: 24 };
    const hosts = digest.charts?.(args, outcomes) ?? [];
    expect(hosts).toEqual(named.slice(0, 10));
    const r = digest.render(outcomes, args, renderContext({ now: NOW, charts: drawn(hosts) }));
    expect(r.attachments).toHaveLength(10);
    expect(text(r)).toContain('Charts of 10 of the 12 hosts: /digest HOST charts another.');
  });

  it('/uptime xen1,xen3 is titled with the number of hosts', () => {
    const up = (host: string): HostOutcome<'host.uptime'> => ({
      host,
      ok: true,
      agent: null,
      frozen: null,
      result: { host, toolstack: 'xl', rows: [{ name: 'web', id: 3, uptimeSeconds: 60 }], unparsed: [] },
    });
    const r = uptime.render([up('xen1'), up('xen3')], { host: ['xen1', 'xen3'] }, renderContext({ now: NOW }));
    expect(r.title).toBe('Uptime on 2 hosts');
  });
});
