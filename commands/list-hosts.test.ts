import { describe, expect, it } from 'vitest';
import { FleetCache } from '../src/app/fleet-cache.ts';
import { parseArgs } from '../src/core/args.ts';
import { commandSpecs, type HostOutcome, type LocalContext, renderContext, usageOf } from '../src/core/define-command.ts';
import { decide } from '../src/core/pipeline.ts';
import type { Reply } from '../src/core/reply.ts';
import { domainSummary as dom } from '../test/helpers/domains.ts';
import { pipelineScene } from '../test/helpers/pipeline-scene.ts';
import { chatRequest } from '../test/helpers/requests.ts';
import { help } from './help.ts';
import { COMMANDS } from './index.ts';
import { list } from './list.ts';

/**
 * `/list xen1,xen2` was refused as a bad host name, though /freeze takes hosts so: /list takes one host or several
 * separated by commas, each checked as /list xen1 is (unknown, out of scope), and lists those, in the config's order.
 */
const HOSTS = ['xen1', 'xen2', 'xen3'];
const fleet = new FleetCache(HOSTS);
for (const h of HOSTS) fleet.update(h, [dom(`web-${h}`, 'running')]);

const problem = (text: string): string => {
  try {
    parseArgs(list, { kind: 'text', text });
    return 'parsed';
  } catch (error) {
    return (error as Error).message;
  }
};
const said = (d: unknown): string => (d as { reply?: { blocks?: { text?: string }[] } }).reply?.blocks?.[0]?.text ?? '';

describe('/list with hosts separated by commas', () => {
  it('reads each host, folding one named twice', () => {
    expect(parseArgs(list, { kind: 'text', text: 'xen1,xen2' })).toEqual({ host: ['xen1', 'xen2'] });
    expect(parseArgs(list, { kind: 'text', text: 'xen2,xen1,xen2' })).toEqual({ host: ['xen2', 'xen1'] });
    expect(parseArgs(list, { kind: 'text', text: 'xen1' })).toEqual({ host: ['xen1'] });
    expect(parseArgs(list, { kind: 'text', text: '' })).toEqual({});
  });

  it('refuses a word that is no host name, naming it', () => {
    expect(problem('xen1,XEN2')).toBe('host: "XEN2" must be lower case: xen2');
    expect(problem('xen1,xen|2')).toMatch(/^host: "xen\|2" must be 1-32 of a-z 0-9 _ - starting with a letter or digit$/);
    expect(problem(',')).toBe('host: name at least one host');
  });

  it('lists the hosts named, each once, in the order of the config', () => {
    const { ctx } = pipelineScene(HOSTS);
    expect(decide(ctx, chatRequest('r1', 'list xen3,xen1'), fleet, true)).toMatchObject({
      kind: 'enqueue',
      targets: [{ host: 'xen1' }, { host: 'xen3' }],
    });
    const twice = decide(ctx, chatRequest('r1', 'list xen2,xen2'), fleet, true);
    expect(twice).toMatchObject({ kind: 'enqueue', targets: [{ host: 'xen2' }] });
    expect((twice as { targets: unknown[] }).targets).toHaveLength(1);
    // One host, and none, as before.
    expect(decide(ctx, chatRequest('r1', 'list xen2'), fleet, true)).toMatchObject({ kind: 'enqueue', targets: [{ host: 'xen2' }] });
    expect(decide(ctx, chatRequest('r1', 'list'), fleet, true)).toMatchObject({
      kind: 'enqueue',
      targets: [{ host: 'xen1' }, { host: 'xen2' }, { host: 'xen3' }],
    });
  });

  it('refuses a host that is not there with the answer /list xen9 gets', () => {
    const { ctx } = pipelineScene(HOSTS);
    const alone = decide(ctx, chatRequest('r1', 'list xen9'), fleet, true);
    const among = decide(ctx, chatRequest('r1', 'list xen1,xen9'), fleet, true);
    expect(among).toMatchObject({ kind: 'reject', reply: { title: 'Cannot do that' } });
    expect(said(among)).toBe('no host named xen9 (hosts: xen1, xen2, xen3)');
    expect(said(among)).toBe(said(alone));
  });

  it('refuses, naming it, a host outside the scope of one who may list xen1 only', () => {
    const { ctx } = pipelineScene(HOSTS, { id: 'dave', allow: [{ permission: 'read', hosts: ['xen1'] }] as unknown as string[] });
    const alone = decide(ctx, chatRequest('r1', 'list xen2', 'dave'), fleet, true);
    for (const text of ['list xen1,xen2', 'list xen2,xen1']) {
      const d = decide(ctx, chatRequest('r1', text, 'dave'), fleet, true);
      expect(d, text).toMatchObject({ kind: 'reject', reply: { title: 'Not allowed' } });
      // In the words /list xen2 alone is refused in.
      expect(said(d), text).toBe('dave may not run /list: needs permission domain.list on xen2');
      expect(said(d), text).toBe(said(alone));
    }
    // Nothing else of the scope changed: his own host alone, and every host he may use.
    expect(decide(ctx, chatRequest('r1', 'list xen1', 'dave'), fleet, true)).toMatchObject({
      kind: 'enqueue',
      targets: [{ host: 'xen1' }],
    });
    expect(decide(ctx, chatRequest('r1', 'list', 'dave'), fleet, true)).toMatchObject({ kind: 'enqueue', targets: [{ host: 'xen1' }] });
  });

  it('renders the hosts asked for, one table, in the order of their outcomes', () => {
    const outcome = (host: string, domains: string[]): HostOutcome<'domain.list'> => ({
      host,
      ok: true,
      result: { host, toolstack: 'xl', domains: domains.map((d) => ({ ...dom(d, 'running'), id: 3, memoryMiB: 1024, vcpus: 1 })) },
    });
    const r: Reply = list.render([outcome('xen1', ['web']), outcome('xen3', ['db', 'mail'])], { host: ['xen3', 'xen1'] }, renderContext());
    expect(r.title).toBe('Domains on 2 hosts');
    const table = r.blocks[0];
    expect(table?.type === 'table' && table.table.rows.map((row) => [row[0], row[1]])).toEqual([
      ['xen1', 'web'],
      ['xen3', 'db'],
      ['xen3', 'mail'],
    ]);
  });

  it('says so in its usage and in /help list', () => {
    expect(usageOf(list)).toBe('/list [<host>]');
    const ctx = { allowedCommands: () => commandSpecs(COMMANDS) } as unknown as LocalContext;
    const r = help.run(parseArgs(help, { kind: 'text', text: 'list' }) as never, ctx) as Reply;
    const table = r.blocks.find((b) => b.type === 'table');
    const rows = table?.type === 'table' ? table.table.rows : [];
    expect(rows).toEqual([['<host>', expect.stringMatching(/^a host, or hosts separated by commas .*\(optional\)$/)]]);
    // No host's name in /help: a reader scoped to some hosts is told of no other (xen1 may be one of them).
    expect(list.description).toMatch(/several \(separated by commas\)/);
  });
});
