import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseArgs } from '../src/core/args.ts';
import type { LocalContext } from '../src/core/define-command.ts';
import { UserError } from '../src/core/errors.ts';
import { formatTable, reply } from '../src/core/reply.ts';
import { audit, sinceToMs } from './audit.ts';

const NOW = Date.parse('2025-01-31T12:00:00.000Z');
const USAGE = '/audit [<n>] [--person <person>] [--domain <domain>] [--host <host>] [--command <command>] [--since <since>]';
const text = (t: string) => ({ kind: 'text' as const, text: t });

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
});
afterEach(() => {
  vi.useRealTimers();
});

function failure(t: string): UserError {
  try {
    parseArgs(audit, text(t));
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error(`expected /audit ${t} to be refused`);
}

type Query = Parameters<LocalContext['readAudit']>[0];
type Page = Awaited<ReturnType<LocalContext['readAudit']>>;

/** Runs /audit TEXT against a stream that answers `page`; returns the query it was asked and the reply. */
async function runAudit(t: string, page: Page, now: () => number = Date.now) {
  const queries: Query[] = [];
  const ctx: LocalContext = {
    person: 'alice',
    platformUserId: 'alice',
    platform: 'terminal',
    roles: ['admin'],
    allowedCommands: () => [],
    now,
    readAudit: async (q: Query) => {
      queries.push(q);
      return page;
    },
    auditNames: () => ({
      hosts: ['xen1', 'xen2'],
      readableHosts: ['xen1', 'xen2'],
      people: ['alice', 'bob'],
      platformIds: [],
      commands: ['stop'],
    }),
  } as unknown as LocalContext;
  const r = await audit.run(parseArgs(audit, text(t)) as never, ctx);
  return { queries, reply: r };
}

const row = (over: Record<string, string>) => ({
  ts: '2025-01-31T11:58:07.123Z',
  event: 'decision',
  person: 'bob',
  userId: 'bob',
  command: 'stop',
  args: 'web',
  ...over,
});

describe('/audit arguments', () => {
  it('reads filters as key:value, n as today', () => {
    expect(parseArgs(audit, text('domain:web since:24h'))).toEqual({ n: 10, domain: { domain: 'web' }, since: '24h' });
    expect(parseArgs(audit, text('50 person:Bob host:xen1 command:/stop'))).toEqual({
      n: 50,
      person: 'bob',
      host: 'xen1',
      command: 'stop',
    });
    expect(parseArgs(audit, text('domain:xen1:web --since 2025-01-30T08:00Z'))).toEqual({
      n: 10,
      domain: { host: 'xen1', domain: 'web' },
      since: '2025-01-30T08:00Z',
    });
    expect(parseArgs(audit, { kind: 'options', options: { person: '200000000000000001', n: 200 } })).toEqual({
      n: 200,
      person: '200000000000000001',
    });
  });

  it.each([
    ['since:yesterday', 'since: "yesterday" is not a time: use 30m, 24h, 7d or an ISO timestamp such as 2025-01-31T08:00Z'],
    ['since:0h', 'since: "0h" is not a time: use 30m, 24h, 7d or an ISO timestamp such as 2025-01-31T08:00Z'],
    ['since:24', 'since: "24" is not a time: use 30m, 24h, 7d or an ISO timestamp such as 2025-01-31T08:00Z'],
    ['since:2025-13-45', 'since: "2025-13-45" is not a time: use 30m, 24h, 7d or an ISO timestamp such as 2025-01-31T08:00Z'],
    ['since:2025-02-30', 'since: "2025-02-30" is not a time: use 30m, 24h, 7d or an ISO timestamp such as 2025-01-31T08:00Z'],
    ['since:2025-02-01', 'since: "2025-02-01" is in the future'],
    ['person:"bob smith"', `person: "bob smith" is not a person's name from the config, nor a platform user id`],
    ['host:Xen!', 'host: "Xen!" is not a valid host name: must be 1-32 of a-z 0-9 _ - starting with a letter or digit'],
    ['host:XEN1', 'host: must be lower case: xen1'],
    ['command:rm;', 'command: "rm;" is not a command name'],
    [
      'domain:;',
      'domain: ";" is not a valid domain name: must start with a letter or digit and use only letters, digits and _ . : + - (at most 64)',
    ],
    ['n:500', 'n must be a whole number from 1 to 200, got 500'],
    ['--who bob', 'unknown option --who'],
  ])('refuses /audit %s with one line and the usage', (t, message) => {
    const e = failure(t);
    expect(e.code).toBe('args.invalid');
    expect(e.message).toBe(message);
    expect(e.context.usage).toBe(USAGE);
  });
});

describe('sinceToMs', () => {
  it.each([
    ['30m', NOW - 30 * 60_000],
    ['24h', NOW - 86_400_000],
    ['7d', NOW - 7 * 86_400_000],
    ['2025-01-30', Date.parse('2025-01-30T00:00:00Z')],
    ['2025-01-30T08:00', Date.parse('2025-01-30T08:00:00Z')],
    ['2025-01-30T08:00:05.5Z', Date.parse('2025-01-30T08:00:05.500Z')],
    ['2025-01-30T08:00+02:00', Date.parse('2025-01-30T06:00:00Z')],
    ['2024-02-29', Date.parse('2024-02-29T00:00:00Z')],
    ['2025-01-30T23:59:59.999-23:59', Date.parse('2025-01-31T23:58:59.999Z')],
    // Dates and times that do not exist: Date.parse would read them as another.
    ['2025-02-29', null],
    ['2025-02-30', null],
    ['2025-02-30T10:00Z', null],
    ['2025-04-31T08:00', null],
    ['1900-02-29', null],
    ['2025-00-10', null],
    ['2025-01-00', null],
    ['2025-01-30T24:00', null],
    ['2025-01-30T08:60', null],
    ['2025-01-30T08:00:60Z', null],
    ['2025-01-30T08:00+24:00', null],
    ['2025-01-30T08:00+02:60', null],
    ['yesterday', null],
    ['1w', null],
    ['-5m', null],
  ])('%s → %s', (t, expected) => {
    expect(sinceToMs(t, NOW)).toBe(expected);
  });
});

describe('/audit replies', () => {
  it("counts since:24h back from the deployment's shared clock (the one entries are stamped with), not this machine's", async () => {
    const shared = NOW + 45_000; // this bot's clock runs 45 s behind Redis's
    const { queries } = await runAudit('since:24h', { entries: [], scanned: 0, bounded: false }, () => shared);
    expect(queries).toEqual([{ n: 10, since: shared - 86_400_000 }]);
  });

  it('without filters: the newest n, as today', async () => {
    const { queries, reply: r } = await runAudit('2', {
      entries: [row({ event: 'job.start', host: 'xen1', domain: 'web' }), row({ ts: '2025-01-30T09:00:00.000Z', person: '' })],
      scanned: 2,
      bounded: false,
    });
    expect(queries).toEqual([{ n: 2 }]);
    expect(r).toEqual(
      reply.result(
        'Last 2 audit entries',
        [
          reply.table({
            columns: ['time (UTC)', 'event', 'who', 'command', 'target', 'args', 'detail'],
            rows: [
              ['01-31 11:58:07', 'job.start', 'bob', 'stop', 'xen1:web', 'web', ''],
              ['01-30 09:00:00', 'decision', '', 'stop', '', 'web', ''],
            ],
          }),
        ],
        { tone: 'info' },
      ),
    );
  });

  it('passes every filter to the stream and shows the filter used', async () => {
    const { queries, reply: r } = await runAudit('5 person:bob domain:xen1:web command:stop since:24h', {
      entries: [row({ host: 'xen1,xen2', domain: 'web' })],
      scanned: 40,
      bounded: false,
    });
    expect(queries).toEqual([{ n: 5, person: 'bob', host: 'xen1', domain: 'web', command: 'stop', since: NOW - 86_400_000 }]);
    expect(r.title).toBe('Last 1 audit entry matching person:bob domain:xen1:web command:stop since:24h (after 2025-01-30 12:00 UTC)');
    expect(r.tone).toBe('info');
    expect(r.blocks).toEqual([
      reply.table({
        columns: ['time (UTC)', 'event', 'who', 'command', 'target', 'args', 'detail'],
        rows: [['01-31 11:58:07', 'decision', 'bob', 'stop', 'xen1,xen2 web', 'web', '']],
      }),
    ]);
  });

  it('says when nothing matched, and when the scan bound was hit', async () => {
    const { reply: none } = await runAudit('host:xen2', { entries: [], scanned: 12, bounded: false });
    expect(none).toEqual(reply.result('No audit entries match host:xen2', [], { tone: 'info' }));
    const { reply: bounded } = await runAudit('domain:web', { entries: [row({})], scanned: 5000, bounded: true });
    expect(bounded.title).toBe('Last 1 audit entry matching domain:web');
    expect(bounded.tone).toBe('warning');
    expect(bounded.blocks.at(-1)).toEqual(
      reply.text(
        '⚠ Stopped after reading the newest 5000 entries with fewer than 10 matching: older matches may exist — narrow it with since:',
      ),
    );
  });

  it('shows arguments recorded as JSON (a job outcome, Discord options) as they would be typed, not as JSON', async () => {
    const { reply: r } = await runAudit('3', {
      entries: [
        row({
          event: 'job.outcome',
          args: JSON.stringify({ domain: { host: 'xen1', domain: 'web' }, force: true, reason: 'kernel upgrade' }),
        }),
        row({ event: 'job.outcome', args: JSON.stringify({ domain: { domain: 'web' }, target: 'xen2' }) }),
        row({ event: 'request', args: '{not json' }),
      ],
      scanned: 3,
      bounded: false,
    });
    const table = r.blocks[0];
    if (table?.type !== 'table') throw new Error('no table');
    expect(table.table.rows.map((row) => row[5])).toEqual(['xen1:web --force reason:"kernel upgrade"', 'web target:xen2', '{not json']);
  });

  it('shows what a chat user typed on one row: line breaks, controls and column-wide spaces escaped, long text cut', async () => {
    const forged = 'nosuchdomain\n01-01 00:00:00  request   alice  stop     xen1:web  web  \u001b[2K\r\nx\u2028y\u202ez\u009b1m\tend';
    const hosts = Array.from({ length: 1_000 }, (_, i) => `xen${i + 1}`).join(',');
    const { reply: r } = await runAudit('2', {
      entries: [
        row({ args: forged, detail: `Bad arguments for /start: ${'x'.repeat(300)}` }),
        row({ command: 'freeze', args: 'all storage work', host: hosts }),
      ],
      scanned: 2,
      bounded: false,
    });
    const table = r.blocks[0];
    if (table?.type !== 'table') throw new Error('no table');
    const [first, second] = table.table.rows as [string[], string[]];
    expect(first[5]).toBe('nosuchdomain⏎01-01 00:00:00 request alice stop xen1:web web \\x1b[2K⏎x\\u2028y\\u202ez\\x9b1m\\x09end');
    expect(Array.from(first[6] ?? '')).toHaveLength(120);
    expect(first[6]).toMatch(/^Bad arguments for \/start: x+…$/);
    expect(second[4]).toBe('xen1,xen2,xen3,… (1000 hosts)');
    // One line for the header and one per entry, as every adapter renders it.
    expect(formatTable(table.table).split('\n')).toHaveLength(3);
  });

  it('refuses a host and a host:domain that disagree, with the usage', async () => {
    const { queries, reply: r } = await runAudit('host:xen2 domain:xen1:web', { entries: [], scanned: 0, bounded: false });
    expect(queries).toEqual([]);
    expect(r).toEqual(reply.error('Bad arguments for /audit', 'host:xen2 and domain:xen1:web name different hosts', USAGE));
  });
});
