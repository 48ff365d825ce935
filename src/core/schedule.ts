import { CronExpressionParser } from 'cron-parser';
import { IANAZone } from 'luxon';
import { echoValue } from './args.ts';
import { showControls } from './control-chars.ts';
import type { Platform } from './request.ts';

/**
 * Scheduled posts: what is posted, when, where and as whom. Pure: parsing `/schedule add …` and describing a
 * schedule; the BullMQ job schedulers that fire them live in src/app/schedules.ts.
 */
export const SCHEDULE_WHATS = ['status', 'top', 'digest'] as const;
export type ScheduleWhat = (typeof SCHEDULE_WHATS)[number];

export type ScheduleWhen = { every: number } | { cron: string; tz: string };

export interface ScheduleSpec {
  id: string;
  what: ScheduleWhat;
  /** `top` only: one host (absent = the fleet). */
  host: string | null;
  when: ScheduleWhen;
  channel: { platform: Platform; id: string };
  /** post = a new message each time; edit = one message edited in place (pinned where the platform allows). */
  mode: 'post' | 'edit';
  /** The config person the posts run as: their permissions and host scope apply at every tick. */
  owner: string;
  source: 'config' | 'chat';
  createdAt: number;
}

/** Shorter intervals would flood a channel and the agents; longer ones are what cron is for. */
export const MIN_INTERVAL_MS = 5_000;
export const MAX_INTERVAL_MS = 7 * 86_400_000;

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `5s`, `10m`, `1h30m`, `1d`: milliseconds, or null when it is not an interval. */
export function parseInterval(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (!/^(\d+[smhd])+$/.test(t)) return null;
  let ms = 0;
  for (const m of t.matchAll(/(\d+)([smhd])/g)) ms += Number(m[1]) * (UNITS[m[2] as string] as number);
  return Number.isSafeInteger(ms) ? ms : null;
}

/** 90000 → "1m30s"; 5000 → "5s". */
export function formatInterval(ms: number): string {
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('') || '0s';
}

/** Runs of a cron pattern looked at for its shortest gap (a seconds field can fire twice in a row, then pause). */
const CRON_RUNS_CHECKED = 12;

/**
 * Why a cron pattern cannot be a schedule, or null. Read by cron-parser, the parser BullMQ's job schedulers use
 * (the same version, pinned), so a pattern accepted here is one BullMQ runs: ranges ("61 * * * *"), dates that
 * never come ("0 0 31 2 *") and repeats of 0 are refused here, not when the scheduler is made. Its runs may not
 * come closer than the shortest `every` (a six-field pattern has seconds).
 */
export function cronProblem(pattern: string, tz = 'UTC', now: number = Date.now()): string | null {
  const fields = pattern.trim().split(/\s+/);
  if (fields.length < 5 || fields.length > 6)
    return `a cron pattern has 5 fields (minute hour day month weekday), got ${fields.length}: e.g. "*/15 * * * *"`;
  let runs: number[];
  try {
    const it = CronExpressionParser.parse(pattern, { tz, currentDate: new Date(now) });
    runs = Array.from({ length: CRON_RUNS_CHECKED }, () => it.next().getTime());
  } catch (error) {
    // The parser's words, bounded (they may quote the pattern).
    const why = showControls((error instanceof Error ? error.message : String(error)).slice(0, 120));
    return `${echoValue(pattern, 30)} is not a cron pattern that runs: ${why}`;
  }
  const shortest = Math.min(...runs.slice(1).map((t, i) => t - (runs[i] as number)));
  if (shortest < MIN_INTERVAL_MS)
    return `${echoValue(pattern, 30)} would post ${formatInterval(shortest)} apart: posts must be at least ${formatInterval(MIN_INTERVAL_MS)} apart`;
  return null;
}

export type ParsedWhen = { ok: true; what: ScheduleWhat; host: string | null; when: ScheduleWhen } | { ok: false; problem: string };

/**
 * `status every 5s`, `top xen1 every 10m`, `digest cron 0 8 * * *` (the pattern's quotes are gone by now: the
 * argument parser took them). `tz` comes from its own option.
 */
export function parseWhen(text: string, tz: string | undefined, hosts: readonly string[]): ParsedWhen {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [what, ...rest] = words;
  if (!what || !(SCHEDULE_WHATS as readonly string[]).includes(what))
    return { ok: false, problem: `what to post: one of ${SCHEDULE_WHATS.join(', ')}${what ? `, not ${echoValue(what, 30)}` : ''}` };
  let host: string | null = null;
  if (rest[0] !== undefined && rest[0] !== 'every' && rest[0] !== 'cron') {
    if (what !== 'top') return { ok: false, problem: `${what} takes no host: ${echoValue(rest[0], 30)}` };
    host = rest.shift() as string;
    // A schedule keeps one host (its stored spec's, checked at each tick): `top xen1,xen2` would be "unknown host".
    if (host.includes(','))
      return {
        ok: false,
        problem: `a schedule posts top for one host or for every host you may use, not ${echoValue(host, 30)}: add one schedule per host`,
      };
    if (!hosts.includes(host)) return { ok: false, problem: `unknown host ${echoValue(host, 30)} (hosts: ${hosts.join(', ')})` };
  }
  const [kind, ...spec] = rest;
  if (kind === 'every') {
    if (tz !== undefined) return { ok: false, problem: 'tz: applies to cron schedules only' };
    if (spec.length !== 1) return { ok: false, problem: 'every takes one interval, e.g. every 5m' };
    const ms = parseInterval(spec[0] as string);
    if (ms === null) return { ok: false, problem: `${echoValue(spec[0] as string, 30)} is not an interval: e.g. 30s, 5m, 1h, 1d` };
    if (ms < MIN_INTERVAL_MS || ms > MAX_INTERVAL_MS)
      return { ok: false, problem: `the interval must be from ${formatInterval(MIN_INTERVAL_MS)} to ${formatInterval(MAX_INTERVAL_MS)}` };
    return { ok: true, what: what as ScheduleWhat, host, when: { every: ms } };
  }
  if (kind === 'cron') {
    const pattern = spec.join(' ');
    const zone = tz ?? 'UTC';
    if (!IANAZone.isValidZone(zone))
      return { ok: false, problem: `unknown time zone ${echoValue(zone, 30)}: use an IANA name such as Europe/Berlin` };
    const problem = cronProblem(pattern, zone);
    if (problem) return { ok: false, problem };
    return { ok: true, what: what as ScheduleWhat, host, when: { cron: pattern, tz: zone } };
  }
  return { ok: false, problem: 'say when: every <interval> or cron "<pattern>"' };
}

/** "every 5s", "cron 0 8 * * * (Europe/Berlin)". */
export function describeWhen(when: ScheduleWhen): string {
  return 'every' in when ? `every ${formatInterval(when.every)}` : `cron ${when.cron} (${when.tz})`;
}

export function describeWhat(spec: Pick<ScheduleSpec, 'what' | 'host'>): string {
  return spec.host ? `${spec.what} ${spec.host}` : spec.what;
}

const ID_ALPHABET = 'ABCDEFGHJKMNPQRSTVWXYZ23456789';

/** A short id people can type: S + 5 characters without look-alikes. */
export function newScheduleId(random: () => number = Math.random): string {
  let id = 'S';
  for (let i = 0; i < 5; i++) id += ID_ALPHABET[Math.floor(random() * ID_ALPHABET.length)];
  return id;
}

/** Config schedules get stable ids from their names, so a config edit updates them in place. */
export function configScheduleId(name: string): string {
  return `cfg-${name}`;
}
