import { DateTime } from 'luxon';
import picomatch from 'picomatch';
import type { MaintenanceWindow } from '../config/maintenance-schema.ts';
import { type Subject, subjectIs } from './host-groups.ts';
import { DEFAULT_ZONE, formatWhen } from './oncall.ts';
import { dateTimeUtc, isTime } from './time-text.ts';
import { readWall } from './wall-time.ts';

/** Why a host takes no mutating command right now. */
export interface Freeze {
  host: string;
  /** Who froze it (`/freeze`), or `maintenance window` for the config's windows. */
  by: string;
  reason: string;
  since: number;
  /** Epoch ms it ends; null = until /unfreeze. */
  until: number | null;
  /** A weekly maintenance window's zone: its times are written in it, and its end is said in it. */
  zone?: string;
}

/** A freeze made from chat, as kept in Redis (one per host). */
export type RuntimeFreeze = Omit<Freeze, 'host' | 'zone'>;

const WEEKDAY = { monday: 1, tuesday: 2, wednesday: 3, thursday: 4, friday: 5, saturday: 6, sunday: 7 } as const;

/** The window's open interval containing `at`, or null. Pure. */
export function windowOpenAt(w: MaintenanceWindow, at: number): { from: number; until: number } | null {
  if (!('weekday' in w)) {
    const from = Date.parse(w.from);
    const until = Date.parse(w.until);
    return at >= from && at < until ? { from, until } : null;
  }
  const zone = w.timezone;
  const now = DateTime.fromMillis(at, { zone });
  const [fh, fm] = w.from.split(':').map(Number) as [number, number];
  const [uh, um] = w.until.split(':').map(Number) as [number, number];
  // Crossing midnight (22:00–02:00; equal times: a whole day) is read from the times as written, not from instants: on
  // the day clocks go forward, a start in the skipped hour moves past its end, and must not make a 24-hour window.
  const crosses = uh * 60 + um <= fh * 60 + fm;
  // This week's day and last week's (a window begun last week may still be open).
  const thisWeek = now.set({ weekday: WEEKDAY[w.weekday] });
  for (const day of [thisWeek, thisWeek.minus({ weeks: 1 })]) {
    // From the first time the clock reads `from` until the last time it reads `until`: where an hour happens twice the
    // window takes in both (it errs on frozen); a time clocks skip is the instant they jump past it.
    const start = wallClock(day, fh, fm, zone).first;
    const end = wallClock(crosses ? day.plus({ days: 1 }) : day, uh, um, zone).last;
    if (at >= start && at < end) return { from: start, until: end };
  }
  return null;
}

/**
 * The instants the zone's clock reads hour:minute on that day: the first and the last (they differ on the day clocks
 * go back), or, for a time clocks skip, both the instant they jump past it — not luxon's reading, which moves a
 * skipped time on by the gap (02:30 read as 03:30). A freeze's until is read so too: it ends when a window with that
 * end would close.
 */
export function wallClock(day: DateTime, hour: number, minute: number, zone: string): { first: number; last: number } {
  const read = readWall({ year: day.year, month: day.month, day: day.day, hour, minute }, zone);
  if ('skipped' in read) return { first: read.skipped.jumpAt, last: read.skipped.jumpAt };
  return { first: read.instants[0] as number, last: read.instants.at(-1) as number };
}

/** Whether a host is frozen at `at`: a freeze from chat, or an open maintenance window. Pure. */
export function freezeOf(
  host: string,
  at: number,
  windows: readonly MaintenanceWindow[],
  runtime: Readonly<Record<string, RuntimeFreeze>>,
): Freeze | null {
  const r = runtime[host];
  const inForce: Freeze[] = r && (r.until === null || at < r.until) ? [{ host, ...r }] : [];
  for (const w of windows) {
    if (!w.hosts.some((g) => picomatch.isMatch(host, g))) continue;
    const open = windowOpenAt(w, at);
    if (open)
      inForce.push({
        host,
        by: 'maintenance window',
        reason: w.reason,
        since: open.from,
        until: open.until,
        ...('weekday' in w ? { zone: w.timezone } : {}),
      });
  }
  // The one that ends last is what holds: a refusal names when commands go through again, not a shorter freeze's end.
  const end = (f: Freeze) => f.until ?? Number.POSITIVE_INFINITY;
  return inForce.reduce<Freeze | null>((last, f) => (last === null || end(f) > end(last) ? f : last), null);
}

const UTC_NAMES = /^(etc\/)?(utc|uct|gmt|universal|zulu)$/i;

/**
 * `2026-11-25 12:00 UTC`; in another zone (`oncall.timezone`, which a typed until is read in) the wall time there
 * first, the instant beside it: `Fri 25 Dec 00:00 Europe/Berlin (2026-12-24 23:00 UTC)` — a Berlin date typed alone
 * said as "2026-12-24 23:00 UTC" read as the day before. A `90m` freeze ends mid-minute: its seconds are said (rounded
 * up), or a command refused at 11:30:20 would read "frozen until 11:30". `since` is the year a date is told from.
 */
export function endText(until: number, zone: string = DEFAULT_ZONE, since?: number): string {
  const shown = Math.ceil(until / 1000) * 1000;
  if (!isTime(shown)) return dateTimeUtc(shown);
  const onMinute = shown % 60_000 === 0;
  const utc = onMinute ? dateTimeUtc(shown) : `${new Date(shown).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  if (UTC_NAMES.test(zone)) return utc;
  const at = new Date(shown);
  const seconds = onMinute ? '' : `:${DateTime.fromMillis(shown, { zone }).toFormat('ss')}`;
  // formatWhen's first HH:MM is the time (a repeated hour's offset follows it): the zone is named right after it.
  const local = formatWhen(at, zone, since === undefined ? at : new Date(since)).replace(/\d\d:\d\d/, (hm) => `${hm}${seconds} ${zone}`);
  return `${local} (${utc})`;
}

/** `until …` as endText says it, or `until /unfreeze` for a freeze with no end. */
export function untilText(until: number | null, zone: string = DEFAULT_ZONE, since?: number): string {
  return until === null ? 'until /unfreeze' : `until ${endText(until, zone, since)}`;
}

/**
 * The zone a freeze's end is said in: a weekly window's own, else `zone` (oncall.timezone). A window in UTC (its
 * default) is said in `zone` too: the UTC instant is beside it all the same.
 */
export function zoneOfFreeze(f: Freeze, zone: string): string {
  return f.zone !== undefined && !UTC_NAMES.test(f.zone) ? f.zone : zone;
}

/**
 * `zone`: oncall.timezone, the one a typed until is read in. `subject`: the hosts it is said of, when the same freeze
 * holds several (f.host is then one of them).
 */
export function describeFreeze(f: Freeze, zone: string = DEFAULT_ZONE, subject?: Subject): string {
  const until = untilText(f.until, zoneOfFreeze(f, zone), f.since);
  // Refused, not held: nothing runs by itself when the freeze ends. A window ends on its own; /unfreeze does not lift it.
  const lift =
    f.by === 'maintenance window' ? 'until the window closes' : f.until === null ? 'until /unfreeze' : 'until then (or /unfreeze)';
  return `${subject ? subjectIs(subject) : `${f.host} is`} frozen ${until} (${f.by}: ${f.reason}) — reads go on; mutating commands are refused ${lift}`;
}
