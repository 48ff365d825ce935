import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../commands/index.ts';
import { domainSummary as dom } from '../../test/helpers/domains.ts';
import { FleetCache } from '../app/fleet-cache.ts';
import { Config } from '../config/schema.ts';
import { approvalRule, decide, type PipelineContext, redactHosts, visibleHosts } from './pipeline.ts';
import type { ChatRequest } from './request.ts';
import type { DomainSummary } from './xen.ts';

const fp = (c: string) => `SHA256:${c.repeat(43)}`;
const config = Config.parse({
  hosts: {
    xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: fp('A') },
    xen2: { address: '10.0.0.2', privateKeyPath: '/k', hostKey: fp('B') },
  },
  roles: {
    admin: { allow: ['*'] },
    viewer: { allow: ['read'] },
    xen2ops: {
      allow: [
        { permission: 'operate', hosts: ['xen2'] },
        { permission: 'domain.migrate', hosts: ['xen2'] },
      ],
    },
  },
  people: {
    alice: { roles: ['admin'], identities: { terminal: 'alice' } },
    carol: { roles: ['viewer'], identities: { terminal: 'carol' } },
    dave: { roles: ['xen2ops'], identities: { terminal: 'dave' } },
  },
  channels: [{ platform: 'terminal', id: '*' }],
});
const ctx: PipelineContext = { config, commands: new Map(COMMANDS.map((c) => [c.name, c])) };

const UUID = '6c7f0f2e-1b1a-4c55-9e0e-6f1d2b3c4d5e';

function fleet(xen1: DomainSummary[], xen2: DomainSummary[]): FleetCache {
  const f = new FleetCache(['xen1', 'xen2']);
  f.update('xen1', xen1);
  f.update('xen2', xen2);
  return f;
}

const req = (text: string, user = 'alice'): ChatRequest => {
  const [command = '', ...rest] = text.split(' ');
  return {
    id: 'r1',
    platform: 'terminal',
    actor: { platform: 'terminal', userId: user, roleIds: [], displayName: user },
    channel: { id: 'terminal', kind: 'direct' },
    command,
    args: { kind: 'text', text: rest.join(' ') },
    receivedAt: 0,
    source: 'command',
  };
};

const afterMigration = () =>
  fleet([dom('web', 'defined'), dom('gateway', 'running')], [dom('web', 'running', UUID), dom('files', 'running')]);

describe('the pure pipeline', () => {
  it('GIVEN web migrated to xen2 THEN /start xen1:web is refused naming xen2', () => {
    const d = decide(ctx, req('start xen1:web'), afterMigration(), true);
    expect(d).toMatchObject({
      kind: 'reject',
      reply: { blocks: [{ text: 'web is running on xen2 — starting it on xen1 would run it twice' }] },
    });
  });

  it('GIVEN web migrated to xen2 THEN the bare name means the running copy', () => {
    const d = decide(ctx, req('migrate web xen1'), afterMigration(), true);
    expect(d).toMatchObject({
      kind: 'enqueue',
      targets: [{ host: 'xen2', domain: 'web' }],
      jobs: [{ op: 'domain.migrate', host: 'xen2', target: 'xen1' }],
    });
  });

  it('refuses Domain-0 as a target before anything is queued', () => {
    const d = decide(ctx, req('stop xen1:Domain-0 --force'), afterMigration(), true);
    expect(d).toMatchObject({ kind: 'reject', reply: { blocks: [{ text: "Domain-0 is the host's own domain: /stop cannot target it" }] } });
  });

  it('refuses an unknown target host and a migration to the same host', () => {
    expect(decide(ctx, req('migrate files xen9'), afterMigration(), true)).toMatchObject({
      kind: 'reject',
      reply: { blocks: [{ text: 'no host named xen9 (hosts: xen1, xen2)' }] },
    });
    expect(decide(ctx, req('migrate files xen2'), afterMigration(), true)).toMatchObject({
      kind: 'reject',
      reply: { blocks: [{ text: 'files is already on xen2: nothing to move' }] },
    });
  });

  it('authorizes the target host of a migration too', () => {
    const d = decide(ctx, req('migrate files xen1', 'dave'), afterMigration(), true);
    expect(d).toMatchObject({
      kind: 'reject',
      reply: {
        title: 'Not allowed',
        blocks: [{ text: 'dave may not run /migrate to xen1: needs permission domain.migrate on xen1/files' }],
      },
    });
  });

  it('never reveals a domain outside the asker’s scope, and looks only in scope', () => {
    const d = decide(ctx, req('stop gateway', 'dave'), afterMigration(), true);
    expect(d).toMatchObject({ kind: 'reject', reply: { blocks: [{ text: 'no domain named gateway on xen2' }] } });
    const cold = decide(ctx, req('stop nope', 'dave'), afterMigration(), false);
    expect(cold).toMatchObject({ kind: 'lookup', hosts: ['xen2'] });
  });

  it('a scoped start precheck does not name a host outside the scope', () => {
    const f = fleet([dom('db', 'running')], [dom('db', 'defined')]);
    expect(decide(ctx, req('start xen2:db', 'dave'), f, true)).toMatchObject({
      kind: 'reject',
      reply: { blocks: [{ text: 'db is running on another host — starting it on xen2 would run it twice' }] },
    });
  });

  it('resolves a UUID to the domain name before authorizing', () => {
    const d = decide(ctx, req(`console ${UUID}`), afterMigration(), true);
    expect(d).toMatchObject({ kind: 'enqueue', jobs: [{ op: 'domain.console', host: 'xen2', domain: 'web' }] });
    const unknown = decide(ctx, req('console 00000000-0000-0000-0000-000000000000'), afterMigration(), true);
    expect(unknown).toMatchObject({
      kind: 'reject',
      reply: { blocks: [{ text: expect.stringContaining('no domain with UUID 00000000-0000-0000-0000-000000000000') }] },
    });
  });

  it('says ambiguous only when two copies are equally candidates', () => {
    const f = fleet([dom('db', 'defined')], [dom('db', 'defined')]);
    expect(decide(ctx, req('start db'), f, true)).toMatchObject({
      kind: 'reject',
      reply: { blocks: [{ text: 'db is defined on xen1 and xen2; say which: xen1:db or xen2:db' }] },
    });
  });

  it('a viewer is refused a mutation in the dry run, before any lookup', () => {
    expect(decide(ctx, req('stop web', 'carol'), new FleetCache(['xen1', 'xen2']), false)).toMatchObject({
      kind: 'reject',
      reply: { title: 'Not allowed', blocks: [{ text: 'carol may not run /stop: needs permission domain.stop' }] },
    });
  });

  it('a fan-out read covers only the hosts in scope', () => {
    expect(decide(ctx, req('list', 'dave'), afterMigration(), true)).toMatchObject({
      kind: 'enqueue',
      targets: [{ host: 'xen2' }],
      mutating: false,
    });
  });
});

describe('an unknown command', () => {
  // Found by test/fuzz: a command name with a line break (a malformed Telegram entity) or a bidi control (typed at the
  // terminal) was echoed raw, so the reason was not one line or read differently from what was sent.
  it('is echoed in one line, control characters escaped and cut to 32 characters', () => {
    const d = decide(ctx, { ...req('x'), command: 'help\nreboot\u202e' }, afterMigration(), true);
    expect(d).toMatchObject({
      kind: 'reject',
      reply: { title: 'Unknown command', blocks: [{ text: 'there is no "/help\\nreboot\\u202e" here — /help lists what you can run' }] },
    });
    const long = decide(ctx, { ...req('x'), command: 'y'.repeat(50) }, afterMigration(), true);
    expect(long).toMatchObject({ reply: { blocks: [{ text: `there is no "/${'y'.repeat(32)}…" here — /help lists what you can run` }] } });
    // Quotes typed around it: quoted whole, so the escaped ones inside cannot be read as the name's own.
    expect(decide(ctx, { ...req('x'), command: '"/list"' }, afterMigration(), true)).toMatchObject({
      reply: { blocks: [{ text: 'there is no "/\\"/list\\"" here — /help lists what you can run' }] },
    });
    // A word one command begins is that command cut short, whatever a typo of another would be.
    expect(decide(ctx, req('stat'), afterMigration(), true)).toMatchObject({
      reply: { blocks: [{ text: 'there is no /stat here — did you mean /status? /help lists what you can run' }] },
    });
    expect(decide(ctx, req('h'), afterMigration(), true)).toMatchObject({
      reply: { blocks: [{ text: 'there is no /h here — did you mean /help? /help lists what you can run' }] },
    });
    expect(decide(ctx, req('frobnicate web'), afterMigration(), true)).toMatchObject({
      reply: { blocks: [{ text: 'there is no /frobnicate here — /help lists what you can run' }] },
    });
  });
});

describe('redactHosts', () => {
  it('names hosts outside the asker’s scope as "another host", whole words only', () => {
    expect(redactHosts('web is running on xen1 — starting it on xen2 would run it twice', ['xen1', 'xen2', 'xen10'], ['xen2'])).toBe(
      'web is running on another host — starting it on xen2 would run it twice',
    );
    expect(redactHosts("web is busy: alice's migration from xen10 to xen1 (request r1)", ['xen1', 'xen10', 'xen2'], ['xen2'])).toBe(
      "web is busy: alice's migration from another host to another host (request r1)",
    );
    expect(redactHosts('xen1-web on xen1', ['xen1'], [])).toBe('xen1-web on another host');
  });
});

describe('the approval step', () => {
  it('holds a stop under the default policy, also when it comes through the system entry point', () => {
    const withApprovals: PipelineContext = { config: Config.parse({ ...config, approvals: undefined }), commands: ctx.commands };
    const rule = approvalRule(withApprovals.config);
    const chat = decide(withApprovals, req('stop gateway'), afterMigration(), true, rule);
    expect(chat).toMatchObject({ kind: 'needsApproval', jobs: [{ op: 'domain.stop', host: 'xen1', domain: 'gateway' }] });
    const system = decide(withApprovals, { ...req('stop gateway'), source: 'system', asPerson: 'alice' }, afterMigration(), true, rule);
    expect(system).toMatchObject({ kind: 'needsApproval' });
    expect(decide(withApprovals, req('start xen1:web'), fleet([dom('web', 'defined')], []), true, rule)).toMatchObject({ kind: 'enqueue' });
  });
});

describe('visibleHosts', () => {
  const command = ctx.commands.get('start');
  if (!command) throw new Error('no /start command');
  const ev = (id: string, roles: string[]) => ({ command, args: {}, person: { id, displayName: id, roles }, risk: 'write' as const });

  it('answers per role set from the same config, and a caller changing its copy changes nothing', () => {
    const admin = visibleHosts(config, ev('alice', ['admin']));
    expect(admin).toEqual(['xen1', 'xen2']);
    admin.length = 0;
    expect(visibleHosts(config, ev('alice', ['admin']))).toEqual(['xen1', 'xen2']);
    expect(visibleHosts(config, ev('dave', ['xen2ops']))).toEqual(['xen2']);
    expect(visibleHosts(config, ev('carol', ['viewer']))).toEqual([]);
    // Same roles, another person (a Discord role binding): the same answer.
    expect(visibleHosts(config, ev('discord:1', ['xen2ops']))).toEqual(['xen2']);
  });
});

describe('a domain named on its host', () => {
  it('that the host does not have (its list read again) is "not found", never a job or an approval request', () => {
    expect(decide(ctx, req('stop xen2:mail'), afterMigration(), false)).toMatchObject({ kind: 'lookup', hosts: ['xen2'] });
    expect(decide(ctx, req('stop xen2:mail'), afterMigration(), true)).toMatchObject({
      kind: 'reject',
      code: 'notFound',
      reply: { blocks: [{ text: 'no domain named mail on xen2' }] },
    });
  });

  it('Domain-0 by its bare name, for a mutation, is refused as the host’s own, not "say which: xen1:Domain-0 or …"', () => {
    expect(decide(ctx, req('stop Domain-0 --force'), afterMigration(), true)).toMatchObject({
      kind: 'reject',
      reply: { blocks: [{ text: "Domain-0 is the host's own domain: /stop cannot target it" }] },
    });
  });
});

describe('a mistyped command', () => {
  const reason = (text: string) => {
    const d = decide(ctx, req(text), afterMigration(), true);
    return 'reason' in d ? d.reason : '';
  };

  it('is answered with the command it was most likely meant for, within two edits; a name far from any gets none', () => {
    expect(reason('lst')).toBe('Unknown command: there is no /lst here — did you mean /list? /help lists what you can run');
    expect(reason('stp web')).toContain('did you mean /stop?');
    expect(reason('xyzzy')).toBe('Unknown command: there is no /xyzzy here — /help lists what you can run');
  });

  it('counts two letters typed the wrong way round as one slip (/sotp is /stop, not /top)', () => {
    expect(reason('sotp web')).toContain('did you mean /stop?');
    expect(reason('lsit')).toContain('did you mean /list?');
  });
});

describe('a command sent long before the bot took it in (Telegram hands over a day of updates)', () => {
  const HOUR = 3_600_000;
  const sent = (text: string, sentAt: number, receivedAt = 3 * HOUR): ChatRequest => ({ ...req(text), sentAt, receivedAt });
  const f = () => fleet([dom('web', 'running'), dom('mail', 'defined')], []);

  it('a change is refused, saying when it was sent; nothing is planned', () => {
    const d = decide(ctx, sent('start mail', 0), f(), true);
    expect(d).toMatchObject({
      kind: 'reject',
      reply: {
        title: 'Too late',
        blocks: [{ text: 'sent at 00:00 UTC (3 h ago) while xenops was not receiving: not run — send it again if it still applies' }],
      },
    });
    // /approve makes a change run, though it needs no approval itself; /freeze changes what may run.
    expect(decide(ctx, sent('approve ABC234', 0), f(), true)).toMatchObject({ kind: 'reject', reply: { title: 'Too late' } });
    expect(decide(ctx, sent('freeze xen1 patching', 0), f(), true)).toMatchObject({ kind: 'reject', reply: { title: 'Too late' } });
  });

  it('a read is answered whatever its age; a change within bot.maxCommandAgeMs (5 min) runs; no sentAt, no check', () => {
    expect(decide(ctx, sent('list xen1', 0), f(), true)).toMatchObject({ kind: 'enqueue' });
    expect(decide(ctx, sent('start mail', 3 * HOUR - 300_000), f(), true)).toMatchObject({ kind: 'enqueue' });
    expect(decide(ctx, sent('start mail', 3 * HOUR - 300_001), f(), true)).toMatchObject({ kind: 'reject' });
    expect(decide(ctx, { ...req('start mail'), receivedAt: 3 * HOUR }, f(), true)).toMatchObject({ kind: 'enqueue' });
  });
});
