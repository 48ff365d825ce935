import { z } from 'zod';
import { echoValue } from '../src/core/args.ts';
import { showControls } from '../src/core/control-chars.ts';
import { defineCommand, type LocalContext, usageOf } from '../src/core/define-command.ts';
import { type DomainRef, DomainRefArg, formatDomainRef } from '../src/core/domain-ref.ts';
import { nearestName } from '../src/core/edit-distance.ts';
import { hostNames } from '../src/core/host-groups.ts';
import { HostName } from '../src/core/names.ts';
import { type Reply, reply } from '../src/core/reply.ts';
import { dateTimeUtc } from '../src/core/time-text.ts';

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d{1,6})([mhd])$/;
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(Z|[+-](\d{2}):(\d{2}))?)?$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

/** Whether the typed fields name a real time: Date.parse reads 2025-02-30 as March 2nd and T24:00 as the next day. */
function fieldsExist(iso: RegExpExecArray): boolean {
  const n = (group: number) => Number(iso[group] ?? 0);
  const [year, month, day] = [n(1), n(2), n(3)];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
  return day >= 1 && day <= days && n(4) <= 23 && n(5) <= 59 && n(6) <= 59 && n(8) <= 23 && n(9) <= 59;
}

/**
 * When `since` starts, in epoch ms: `30m`, `24h`, `7d` before `now`, or an ISO timestamp (a date alone is midnight
 * UTC; a time without a zone is UTC, as the audit's own timestamps are). Null when it is neither.
 */
export function sinceToMs(text: string, now: number): number | null {
  const d = DURATION.exec(text);
  if (d) {
    const n = Number(d[1]);
    return n > 0 ? now - n * UNIT_MS[d[2] as keyof typeof UNIT_MS] : null;
  }
  const iso = ISO_TIME.exec(text);
  if (!iso || !fieldsExist(iso)) return null;
  const at = Date.parse(text.length > 10 && iso[7] === undefined ? `${text}Z` : text);
  return Number.isFinite(at) ? at : null;
}

const Since = z
  .string()
  .trim()
  .superRefine((value, ctx) => {
    const at = sinceToMs(value, Date.now());
    if (at === null)
      ctx.addIssue({
        code: 'custom',
        message: `${echoValue(value)} is not a time: use 30m, 24h, 7d or an ISO timestamp such as 2025-01-31T08:00Z`,
      });
    else if (at > Date.now()) ctx.addIssue({ code: 'custom', message: `${echoValue(value)} is in the future` });
  });

const Person = z
  .string()
  .trim()
  .toLowerCase()
  .superRefine((value, ctx) => {
    if (!/^(?:[a-z][a-z0-9_-]{0,31}|\d{1,32})$/.test(value))
      ctx.addIssue({ code: 'custom', message: `${echoValue(value)} is not a person's name from the config, nor a platform user id` });
  });

const CommandName = z
  .string()
  .trim()
  .toLowerCase()
  .superRefine((value, ctx) => {
    if (!/^\/?[a-z][a-z0-9_-]{0,31}$/.test(value)) ctx.addIssue({ code: 'custom', message: `${echoValue(value)} is not a command name` });
  })
  .transform((s) => s.replace(/^\//, ''));

export const audit = defineCommand({
  name: 'audit',
  description: 'The most recent audit entries: who did what, where, with what outcome; filter by person, host, domain, time',
  args: z.strictObject({
    n: z.number().int().min(1).max(200).default(10).describe('how many entries (1-200)'),
    person: Person.optional().describe('only this person (or platform user id)'),
    domain: DomainRefArg.optional().describe('only entries about this domain (or host:domain)'),
    host: HostName.optional().describe('only entries about this host'),
    command: CommandName.optional().describe('only this command, e.g. stop'),
    since: Since.optional().describe('only since: 30m, 24h, 7d or an ISO timestamp'),
  }),
  positional: ['n'],
  permission: 'audit.read',
  risk: 'read',
  scope: 'local',
  examples: ['/audit', '/audit 50', '/audit domain:web since:24h', '/audit person:bob command:stop since:7d'],
  run: async (args, ctx): Promise<Reply> => {
    const now = ctx.now();
    if (args.host && args.domain?.host && args.host !== args.domain.host)
      return reply.error(
        'Bad arguments for /audit',
        `host:${args.host} and domain:${formatDomainRef(args.domain)} name different hosts`,
        usageOf(audit),
      );
    const host = args.host ?? args.domain?.host;
    const since = args.since === undefined ? undefined : (sinceToMs(args.since, now) as number);
    const query: Parameters<LocalContext['readAudit']>[0] = {
      n: args.n,
      ...(args.person ? { person: args.person } : {}),
      ...(host ? { host } : {}),
      ...(args.domain ? { domain: args.domain.domain } : {}),
      ...(args.command ? { command: args.command } : {}),
      ...(since !== undefined ? { since } : {}),
    };
    const { entries, scanned, bounded } = await ctx.readAudit(query);
    // A typo must not read as "nothing happened": a name xenops does not know is said, whether or not entries match.
    const notes = unknownNames(ctx, { person: args.person, host, command: args.command });
    const filter = describeFilter(args, since);
    const count = `${entries.length} audit entr${entries.length === 1 ? 'y' : 'ies'}`;
    const title =
      entries.length === 0
        ? filter
          ? `No audit entries match ${filter}`
          : 'No audit entries yet'
        : `Last ${count}${filter ? ` matching ${filter}` : ''}`;
    // What chat users typed (args, a refusal's detail quoting it) is shown, never obeyed: one row per entry.
    const rows = entries.map((e) => [
      (e['ts'] ?? '').slice(5, 19).replace('T', ' '),
      cell(e['event'] ?? '', NAME_CELL_MAX),
      cell(whoOf(e), NAME_CELL_MAX),
      cell(e['command'] ?? '', NAME_CELL_MAX),
      cell(targetOf(e), TEXT_CELL_MAX),
      cell(typedArgs(e['args'] ?? ''), TEXT_CELL_MAX),
      cell(detailOf(e), TEXT_CELL_MAX),
    ]);
    return reply.result(
      title,
      [
        ...(rows.length > 0 ? [reply.table({ columns: ['time (UTC)', 'event', 'who', 'command', 'target', 'args', 'detail'], rows })] : []),
        ...(bounded
          ? [
              reply.text(
                `⚠ Stopped after reading the newest ${scanned} entries with fewer than ${args.n} matching: older matches may exist — narrow it with since:`,
              ),
            ]
          : []),
        ...notes.map((note) => reply.text(note)),
      ],
      { tone: bounded || (entries.length === 0 && notes.length > 0) ? 'warning' : 'info' },
    );
  },
});

/**
 * What the filters name that the config does not have, or that this person cannot read: one line each. Not refused:
 * the audit keeps hosts since removed from the config, strangers' platform ids and commands typed wrong.
 */
function unknownNames(
  ctx: LocalContext,
  filter: { person?: string | undefined; host?: string | undefined; command?: string | undefined },
): string[] {
  if (!filter.person && !filter.host && !filter.command) return [];
  const known = ctx.auditNames();
  const notes: string[] = [];
  const { person, host, command } = filter;
  const lower = (names: readonly string[]) => names.map((n) => n.toLowerCase());
  if (person && !lower(known.people).includes(person) && !lower(known.platformIds).includes(person)) {
    const near = nearestName(person, known.people);
    notes.push(
      `${person} is not a person in the config nor one of their platform ids (people: ${hostNames(known.people) || 'none'})${near ? ` — did you mean ${near}?` : ''}`,
    );
  }
  const readable = `hosts: ${hostNames(known.readableHosts) || 'none whose audit you may read'}`;
  if (host && !known.hosts.includes(host)) notes.push(`${host} is not a configured host (${readable})`);
  // Entries about a host outside this person's audit.read are never shown: none found says nothing of what happened.
  else if (host && !known.readableHosts.includes(host)) notes.push(`you may not read the audit of ${host} (${readable})`);
  if (command && !known.commands.includes(command)) {
    const near = nearestName(command, known.commands);
    notes.push(`${command} is not a command${near ? ` — did you mean ${near}?` : ''}`);
  }
  return notes;
}

/** The filter as it could be typed again: `person:bob domain:web since:24h (after 2025-01-31 08:00 UTC)`. */
function describeFilter(
  args: {
    person?: string | undefined;
    domain?: DomainRef | undefined;
    host?: string | undefined;
    command?: string | undefined;
    since?: string | undefined;
  },
  since: number | undefined,
): string {
  const parts = [
    args.person && `person:${args.person}`,
    args.host && `host:${args.host}`,
    args.domain && `domain:${formatDomainRef(args.domain)}`,
    args.command && `command:${args.command}`,
    since !== undefined && `since:${args.since} (after ${dateTimeUtc(since)})`,
  ];
  return parts.filter((p): p is string => typeof p === 'string' && p !== '').join(' ');
}

/** Who did what the entry records: its decider (an approver of someone else's request), else whoever asked. */
function whoOf(e: Record<string, string>): string {
  return e['by'] ?? e['person'] ?? e['userId'] ?? '';
}

/** The detail, saying whose request a decider's entry was about (`for alice: approve K7Q2XM by bob (1/1)`). */
function detailOf(e: Record<string, string>): string {
  const detail = e['detail'] ?? '';
  const by = e['by'];
  const asker = e['person'] ?? e['userId'];
  return by !== undefined && asker !== undefined && by !== asker ? `for ${asker}: ${detail}` : detail;
}

function targetOf(e: Record<string, string>): string {
  const host = e['host'];
  const domain = e['domain'];
  if (host && domain && !host.includes(',') && !domain.includes(',')) return `${host}:${domain}`;
  return [host && listed(host, 'hosts'), domain && listed(domain, 'domains')].filter(Boolean).join(' ');
}

/** A long list (a /freeze all names every host) as its first names and a count. */
function listed(names: string, noun: string): string {
  const all = names.split(',');
  return all.length <= LIST_SHOWN ? names : `${all.slice(0, LIST_SHOWN).join(',')},… (${all.length} ${noun})`;
}

/**
 * Arguments recorded as JSON (a job's outcome records the parsed arguments; a Discord request its options) as they
 * would be typed: `xen1:web --force reason:"kernel upgrade"`. Anything else is shown as it was recorded.
 */
function typedArgs(recorded: string): string {
  if (!recorded.startsWith('{')) return recorded;
  let parsed: unknown;
  try {
    parsed = JSON.parse(recorded);
  } catch {
    return recorded;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return recorded;
  const isRef = (v: unknown): v is DomainRef =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as DomainRef).domain === 'string' &&
    Object.keys(v).every((k) => k === 'host' || k === 'domain');
  const quoted = (v: string) => (/[\s"]/.test(v) || v === '' ? JSON.stringify(v) : v);
  return Object.entries(parsed)
    .flatMap(([key, v]) => {
      if (v === undefined || v === null || v === false) return [];
      if (v === true) return [`--${key}`];
      if (isRef(v)) return [formatDomainRef(v)];
      return [`${key}:${typeof v === 'string' ? quoted(v) : JSON.stringify(v)}`];
    })
    .join(' ');
}

const LIST_SHOWN = 3;
const NAME_CELL_MAX = 40;
const TEXT_CELL_MAX = 120;
/**
 * Text from the stream as one table cell: a line break as ⏎, other controls escaped (\x1b, \u2028), so a newline
 * typed in Telegram cannot forge a row, nor an escape sequence reach a terminal; runs of spaces as one, as two
 * separate columns; at most `max` characters (the audit file has the whole entry).
 */
function cell(text: string, max: number): string {
  const shown = showControls(text, (c) => (c === '\n' || c === '\r\n' || c === '\r' ? '⏎' : null)).replace(/ {2,}/g, ' ');
  const chars = Array.from(shown);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : shown;
}
