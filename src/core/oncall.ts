import { DateTime, IANAZone } from 'luxon';
import { echoValue } from './args.ts';
import { readWall, type WallTime } from './wall-time.ts';

/**
 * Who is on call, pure: a rotation (people in order, a handoff at a wall-clock time in one IANA zone, daily or
 * weekly from a start date), overrides from the config and from chat (`/oncall set`), and — when no rotation is
 * configured — the people marked `onCall: true`. Zone arithmetic is luxon's: a daily shift is 23 hours on the day
 * clocks go forward and 25 on the day they go back, and the handoff stays at 09:00 local time.
 */

export const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface RotationConfig {
  /** In order: the first person's shift begins at `start`, the next one's a period later, round and round. */
  people: readonly string[];
  period: 'daily' | 'weekly';
  /** `HH:MM`, wall-clock time in the section's zone. */
  handoff: string;
  /** Weekly rotations: the day shifts begin (`start` falls on it). */
  handoffDay?: Weekday | undefined;
  /** `YYYY-MM-DD`: the date the first person's shift begins, at the handoff time. */
  start: string;
}

export interface OverrideConfig {
  person: string;
  /** ISO date-times; without an offset they are read in the section's zone. */
  from: string;
  until: string;
}

export interface OnCallConfig {
  /** IANA zone: the rotation's handoffs, and how times are shown and read. */
  timezone: string;
  rotation?: RotationConfig | undefined;
  overrides: readonly OverrideConfig[];
}

/** The parts of the config this module reads (a Config is one). */
export interface OnCallInput {
  oncall?: OnCallConfig | undefined;
  people: Readonly<Record<string, { onCall: boolean }>>;
}

/** An override set in chat with `/oncall set`, kept in Redis until it ends. */
export interface RuntimeOverride {
  person: string;
  from: Date;
  until: Date;
  /** Who set it. */
  by: string;
}

export type OnCallSource = 'override' | 'rotation' | 'static';

export interface OnCallNow {
  person: string;
  /** Others on call at the same time: only `onCall: true` people (static) can be several. */
  also: string[];
  /** When someone else takes over (or nobody is on call); null = not within the foreseeable schedule. */
  until: Date | null;
  /** What puts them on call right now. */
  source: OnCallSource;
  /** For an override set in chat: who set it. */
  by?: string;
}

export interface OnCallNext {
  person: string;
  /** Others who come on call with them (several `onCall: true` people); left out when there are none. */
  also?: string[];
  from: Date;
}

export interface OnCallStatus {
  now: OnCallNow | null;
  next: OnCallNext | null;
}

/** What /oncall shows: the status plus what it is read in. */
export interface OnCallView extends OnCallStatus {
  zone: string;
  /** The rotation's next handoff (the default end of `/oncall set`); null without a rotation. */
  nextHandoff: Date | null;
}

/**
 * Set on a result when the person put on call may approve none of what needs approval: `commands`, those that need
 * it; `others`, who may approve them meanwhile (the requester of each aside).
 */
export interface ApprovesNone {
  commands: string[];
  others: string[];
}

export type OnCallSetResult =
  | { ok: true; person: string; until: Date; before: OnCallStatus; after: OnCallView; approvesNone?: ApprovesNone }
  | { ok: false; title: string; reason: string };

/** What a local command gets to read and change the on-call schedule (the bot checks and audits `set`). */
export interface OnCallAccess {
  /** The zone times are shown and read in (the section's, else UTC). */
  readonly zone: string;
  view(at: Date): Promise<OnCallView>;
  /**
   * Puts `person` on call from `at` until `until` (null: the next handoff), as the asker. Refused — with a reason,
   * audited either way — without permission `oncall.set`, for someone not in the config, or for an end that is
   * past or more than 31 days ahead.
   */
  set(person: string, until: Date | null, at: Date): Promise<OnCallSetResult>;
  /**
   * Ends at `at` the overrides set in chat that have not ended (only `person`'s when given), by the same rules as
   * `set`; those in the config stay. Refused when there are none.
   */
  clear(person: string | null, at: Date): Promise<OnCallClearResult>;
}

export type OnCallClearResult = { ok: true; cleared: RuntimeOverride[]; after: OnCallView } | { ok: false; title: string; reason: string };

export const DEFAULT_ZONE = 'UTC';

/** The zone of the on-call section: times are shown and read in it. */
export function zoneOf(input: OnCallInput): string {
  return input.oncall?.timezone ?? DEFAULT_ZONE;
}

export function isTimeZone(name: string): boolean {
  return IANAZone.isValidZone(name);
}

const TIME_OF_DAY = /^([01]?\d|2[0-3]):([0-5]\d)$/;

/** `HH:MM` → hours and minutes, or null. */
export function parseTimeOfDay(text: string): { hour: number; minute: number } | null {
  const m = TIME_OF_DAY.exec(text);
  return m ? { hour: Number(m[1]), minute: Number(m[2]) } : null;
}

/** A calendar date `YYYY-MM-DD` that exists. */
export function isCalendarDate(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && DateTime.fromISO(text, { zone: 'utc' }).isValid;
}

/**
 * How a wall time typed or configured becomes instants. `handoff` (a rotation's handoff, an on-call override's end):
 * the instants the clock reads it, and in the hour clocks skip the one it shows once it has jumped (02:30 → 03:30), as
 * luxon and Temporal read it. `end` (a freeze's or a maintenance window's end): the last time the clock reads it, and
 * in the hour clocks skip the instant they jump past it (02:30 → 03:00), so a freeze never lasts longer than the time
 * typed.
 */
export type WallReading = 'handoff' | 'end';

/** The instants at which the clock in `zone` reads `wall`, earliest first, as `reading` places it. */
function instantsOf(wall: WallTime, zone: string, reading: WallReading = 'handoff'): number[] {
  const read = readWall(wall, zone);
  if ('skipped' in read) return [reading === 'end' ? read.skipped.jumpAt : read.skipped.movedOn];
  return reading === 'end' ? [read.instants.at(-1) as number] : read.instants;
}

/** `wall` in `zone` as one instant: of a time the clock shows twice, the second (as a rotation's handoff is). */
function wallInstant(wall: WallTime, zone: string, reading: WallReading = 'handoff'): number {
  return instantsOf(wall, zone, reading).at(-1) as number;
}

const dayOf = (dt: DateTime) => ({ year: dt.year, month: dt.month, day: dt.day });

/** An ISO date or date-time; one without an offset is read in `zone`. Null when it is not one. */
export function parseInstant(text: string, zone: string, reading: WallReading = 'handoff'): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return null;
  const asUtc = DateTime.fromISO(text, { zone: 'utc' });
  if (!asUtc.isValid || !IANAZone.isValidZone(zone)) return null;
  // Read in two fixed zones, a time with its own offset is one instant; one without is a wall time to place in `zone`.
  if (DateTime.fromISO(text, { zone: 'UTC+5' }).toMillis() === asUtc.toMillis()) return asUtc.toJSDate();
  return new Date(wallInstant(asUtc.toObject() as WallTime, zone, reading));
}

/** The weekday of a `YYYY-MM-DD` date. */
export function weekdayOf(date: string): Weekday {
  return WEEKDAYS[DateTime.fromISO(date, { zone: 'utc' }).weekday - 1] as Weekday;
}

/**
 * `Tue 4 Mar 09:00` in the zone (with the year when it is not the reference's). A time the clock shows twice (the
 * hour it goes back) carries its offset, `Sun 26 Oct 02:30 (UTC+01:00)`: without it, a reply at 02:45 the first time
 * round saying "until 02:30" reads as already past, and nobody can tell which 02:30 is meant.
 */
export function formatWhen(date: Date, zone: string, reference: Date = date): string {
  const dt = DateTime.fromJSDate(date, { zone }).setLocale('en');
  const sameYear = dt.year === DateTime.fromJSDate(reference, { zone }).year;
  const shown = dt.toFormat(sameYear ? 'ccc d LLL HH:mm' : 'ccc d LLL yyyy HH:mm');
  const repeated = dt.isValid && instantsOf({ ...dayOf(dt), hour: dt.hour, minute: dt.minute }, zone).length > 1;
  return repeated ? `${shown} (UTC${dt.toFormat('ZZ')})` : shown;
}

// ---------------------------------------------------------------------------------------------------------------
// The schedule

interface Rotation {
  people: readonly string[];
  days: number;
  hour: number;
  minute: number;
  /** The start date, as midnight UTC: whole days between dates never meet a DST change. */
  startDay: DateTime;
  zone: string;
}

interface Override {
  person: string;
  from: number;
  until: number;
  /** Runtime (chat) overrides beat config ones; then the later start wins; then the later entry. */
  rank: [number, number, number];
  by?: string;
}

interface Segment {
  people: readonly string[];
  source: OnCallSource;
  by?: string;
  /** When something may change next (an override starts or ends, a handoff); null = never. */
  end: number | null;
}

/** A person who does not change within this many segments is on call for the foreseeable future. */
const MAX_SEGMENTS = 1000;

class Schedule {
  private readonly rotation: Rotation | null;
  private readonly staticPeople: string[];
  private readonly overrides: Override[];

  constructor(input: OnCallInput, runtime: readonly RuntimeOverride[]) {
    const section = input.oncall;
    const zone = zoneOf(input);
    const r = section?.rotation;
    const time = r ? parseTimeOfDay(r.handoff) : null;
    this.rotation =
      r && time && r.people.length > 0
        ? {
            people: r.people,
            days: r.period === 'weekly' ? 7 : 1,
            hour: time.hour,
            minute: time.minute,
            startDay: DateTime.fromISO(r.start, { zone: 'utc' }),
            zone,
          }
        : null;
    this.staticPeople = Object.entries(input.people)
      .filter(([, p]) => p.onCall)
      .map(([name]) => name);
    const fromConfig = (section?.overrides ?? []).flatMap((o, i): Override[] => {
      const from = parseInstant(o.from, zone)?.getTime();
      const until = parseInstant(o.until, zone)?.getTime();
      return from !== undefined && until !== undefined && from < until ? [{ person: o.person, from, until, rank: [0, from, i] }] : [];
    });
    // A chat override outlives config changes in Redis (up to 31 days): one for someone the config no longer has
    // would put on call a person who cannot approve anything, in place of the rotation, so it no longer counts.
    const fromChat = runtime
      .filter((o) => Object.hasOwn(input.people, o.person))
      .map(
        (o, i): Override => ({
          person: o.person,
          from: o.from.getTime(),
          until: o.until.getTime(),
          rank: [1, o.from.getTime(), i],
          by: o.by,
        }),
      );
    this.overrides = [...fromConfig, ...fromChat].filter((o) => o.from < o.until);
  }

  /** The start of shift k (k = 0 begins at the start date's handoff); a handoff time the zone skips moves forward. */
  shiftStart(k: number): number {
    const r = this.rotation as Rotation;
    const day = r.startDay.plus({ days: k * r.days });
    return wallInstant({ ...dayOf(day), hour: r.hour, minute: r.minute }, r.zone);
  }

  /** The shift `t` falls in; negative before the rotation starts. */
  shiftIndex(t: number): number {
    const r = this.rotation as Rotation;
    const local = DateTime.fromMillis(t, { zone: r.zone });
    const localDay = DateTime.fromObject({ year: local.year, month: local.month, day: local.day }, { zone: 'utc' });
    let k = Math.floor(Math.round(localDay.diff(r.startDay, 'days').days) / r.days);
    while (this.shiftStart(k) > t) k--;
    while (this.shiftStart(k + 1) <= t) k++;
    return k;
  }

  nextHandoff(t: number): number | null {
    if (!this.rotation) return null;
    return this.shiftStart(Math.max(0, this.shiftIndex(t) + 1));
  }

  /** Without overrides: the rotation's person (nobody before it starts), else the static onCall people. */
  private base(t: number): Segment {
    const r = this.rotation;
    if (!r) return { people: this.staticPeople, source: 'static', end: null };
    const k = this.shiftIndex(t);
    if (k < 0) return { people: [], source: 'rotation', end: this.shiftStart(0) };
    // A rotation of one person (however often listed) never hands over to anyone else.
    const end = new Set(r.people).size === 1 ? null : this.shiftStart(k + 1);
    return { people: [r.people[k % r.people.length] as string], source: 'rotation', end };
  }

  segmentAt(t: number): Segment {
    const base = this.base(t);
    let winner: Override | null = null;
    let end = base.end;
    for (const o of this.overrides) {
      if (o.from <= t && t < o.until && (winner === null || outranks(o, winner))) winner = o;
      for (const point of [o.from, o.until]) if (point > t && (end === null || point < end)) end = point;
    }
    if (!winner) return { ...base, end };
    return { people: [winner.person], source: 'override', ...(winner.by !== undefined ? { by: winner.by } : {}), end };
  }

  /** The first moment from `t` on when someone is on call. */
  firstOnCall(t: number | null): OnCallNext | null {
    for (let i = 0, at = t; at !== null && i < MAX_SEGMENTS; i++) {
      const s = this.segmentAt(at);
      if (s.people.length > 0)
        return { person: s.people[0] as string, ...(s.people.length > 1 ? { also: s.people.slice(1) } : {}), from: new Date(at) };
      at = s.end;
    }
    return null;
  }

  status(t: number): OnCallStatus {
    const first = this.segmentAt(t);
    if (first.people.length === 0) return { now: null, next: this.firstOnCall(first.end) };
    // The same people in the following segments (an override ending into their own shift) extend `until`.
    const same = first.people.join(',');
    let until = first.end;
    for (let i = 0; until !== null; i++) {
      if (i >= MAX_SEGMENTS) {
        until = null;
        break;
      }
      const s = this.segmentAt(until);
      if (s.people.join(',') !== same) break;
      until = s.end;
    }
    const now: OnCallNow = {
      person: first.people[0] as string,
      also: first.people.slice(1),
      until: until === null ? null : new Date(until),
      source: first.source,
      ...(first.by !== undefined ? { by: first.by } : {}),
    };
    return { now, next: this.firstOnCall(until) };
  }
}

function outranks(a: Override, b: Override): boolean {
  for (let i = 0; i < a.rank.length; i++) {
    const d = (a.rank[i] as number) - (b.rank[i] as number);
    if (d !== 0) return d > 0;
  }
  return false;
}

/**
 * Who is on call at `at` and until when, and who comes next. An override beats the rotation while it lasts (one
 * set in chat beats one in the config; among the same kind, the one that began last); without a rotation, the
 * people with `onCall: true` are on call.
 */
export function onCallAt(input: OnCallInput, runtime: readonly RuntimeOverride[], at: Date): OnCallStatus {
  return new Schedule(input, runtime).status(at.getTime());
}

/** The rotation's first handoff after `at` (its start, before it starts); null without a rotation. */
export function nextHandoff(input: OnCallInput, at: Date): Date | null {
  const t = new Schedule(input, []).nextHandoff(at.getTime());
  return t === null ? null : new Date(t);
}

// ---------------------------------------------------------------------------------------------------------------
// `/oncall set PERSON [until]`

/** The word said before an until (`until 18:00`, `for 2h`): English, not part of the time. */
export const UNTIL_WORD = /^(?:until|till|til|for)$/i;

const UNTIL_FORMS = 'HH:MM, a duration (2h, 90m, 1h30m, 2d), "tomorrow HH:MM" or an ISO time (2025-03-04T18:00)';

/**
 * An until as typed in chat, read in `zone`: `18:00` (the next 18:00), `2h` / `90m` / `1h30m` / `2d` (from now),
 * `tomorrow 09:00`, or an ISO date-time (`2025-03-04T18:00` or `2025-03-04 18:00`, an offset optional). A date alone is
 * its 00:00, as ISO and the config's overrides read one (the reply names the end taken). `reading` says
 * where a wall time lands in the hours clocks skip or repeat: an on-call override ends at the next reading (`handoff`),
 * a freeze at the last (`end`). A word said before it (`until 18:00`, `for 2h`) is not part of it.
 */
export function parseUntil(
  text: string,
  at: Date,
  zone: string,
  reading: WallReading = 'handoff',
): { ok: true; until: Date } | { ok: false; reason: string } {
  const words = text.trim().split(/\s+/);
  const value = (words.length > 1 && UNTIL_WORD.test(words[0] ?? '') ? words.slice(1) : words).join(' ');
  const now = DateTime.fromJSDate(at, { zone });
  const atTime = (day: DateTime, hour: number, minute: number) => new Date(wallInstant({ ...dayOf(day), hour, minute }, zone, reading));
  const bad = (reason: string) => ({ ok: false as const, reason });

  const clock = /^(\d{1,2}):(\d{2})$/.exec(value);
  if (clock) {
    const time = parseTimeOfDay(value);
    if (!time) return bad(`${value} is not a time of day (00:00 to 23:59)`);
    // The next time the clock shows it (in the hour clocks go back, 02:30 typed at 02:40 is the second 02:30, today),
    // among the readings `reading` keeps: a freeze typed at 01:50 until 02:30 lasts to the second 02:30.
    const next = [now, now.plus({ days: 1 })]
      .flatMap((day) => instantsOf({ ...dayOf(day), hour: time.hour, minute: time.minute }, zone, reading))
      .find((t) => t > at.getTime());
    return { ok: true, until: new Date(next as number) };
  }
  const duration = /^(?:(\d{1,3})d)?(?:(\d{1,4})h)?(?:(\d{1,5})m)?$/i.exec(value);
  if (duration && value !== '') {
    const [days, hours, minutes] = [duration[1], duration[2], duration[3]].map((n) => Number(n ?? 0)) as [number, number, number];
    if (days + hours + minutes === 0) return bad(`a duration must be longer than 0, got ${echoValue(value)}`);
    return { ok: true, until: now.plus({ days, hours, minutes }).toJSDate() };
  }
  const tomorrow = /^tomorrow(?:\s+(\S+))?$/i.exec(value);
  if (tomorrow) {
    if (tomorrow[1] === undefined) return bad('tomorrow needs a time of day: tomorrow 09:00');
    const time = parseTimeOfDay(tomorrow[1]);
    if (!time) return bad(`${echoValue(tomorrow[1])} is not a time of day (00:00 to 23:59)`);
    return { ok: true, until: atTime(now.plus({ days: 1 }), time.hour, time.minute) };
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    // `2025-03-04 18:00` (the form /freeze documents) is the same time with a space where ISO has a T; `9:00` is 09:00.
    const iso = value.replace(/^(\d{4}-\d{2}-\d{2})[ T](\d)(?=:)/, '$1T0$2').replace(/^(\d{4}-\d{2}-\d{2}) (?=\d)/, '$1T');
    const instant = parseInstant(iso, zone, reading);
    if (instant) return { ok: true, until: instant };
    return bad(`${echoValue(value)} is not a valid ${/^\d{4}-\d{2}-\d{2}$/.test(value) ? 'date' : 'ISO date-time'}`);
  }
  return bad(`expected ${UNTIL_FORMS}; got ${echoValue(value)}`);
}

/**
 * Whether text is shaped like one of parseUntil's forms, valid or not (`24:00`, `0h`, `2027-02-29T10:00` are): what
 * /freeze takes as its until, and refuses when it is not a valid one, rather than make it the start of a reason.
 */
export function looksLikeUntil(text: string): boolean {
  const v = text.trim();
  return (
    /^\d{1,2}:\d{2}$/.test(v) ||
    (v !== '' && /^(?:\d{1,3}d)?(?:\d{1,4}h)?(?:\d{1,5}m)?$/i.test(v)) ||
    /^tomorrow(\s|$)/i.test(v) ||
    /^\d{4}-\d{2}-\d{2}/.test(v)
  );
}

/** Whether `text` is a form parseUntil reads (for a command's argument schema): null, or the reason it is not. */
export function untilProblem(text: string): string | null {
  const parsed = parseUntil(text, new Date(0), DEFAULT_ZONE);
  return parsed.ok ? null : parsed.reason;
}
