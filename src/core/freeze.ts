import { DateTime } from 'luxon';
import picomatch from 'picomatch';
import type { MaintenanceWindow } from '../config/maintenance-schema.ts';

/** Why a host takes no mutating command right now. */
export interface Freeze {
  host: string;
  /** Who froze it (`/freeze`), or `maintenance window` for the config's windows. */
  by: string;
  reason: string;
  since: number;
  /** Epoch ms it ends; null = until /unfreeze. */
  until: number | null;
}

/** A freeze made from chat, as kept in Redis (one per host). */
export type RuntimeFreeze = Omit<Freeze, 'host'>;

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
  const atTime = (day: DateTime, hour: number, minute: number) =>
    DateTime.fromObject({ year: day.year, month: day.month, day: day.day, hour, minute }, { zone });
  // This week's day and last week's (a window begun last week may still be open).
  const thisWeek = now.set({ weekday: WEEKDAY[w.weekday] });
  for (const day of [thisWeek, thisWeek.minus({ weeks: 1 })]) {
    const start = atTime(day, fh, fm);
    const end = atTime(crosses ? day.plus({ days: 1 }) : day, uh, um);
    if (now >= start && now < end) return { from: start.toMillis(), until: end.toMillis() };
  }
  return null;
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
    if (open) inForce.push({ host, by: 'maintenance window', reason: w.reason, since: open.from, until: open.until });
  }
  // The one that ends last is what holds: a refusal names when commands go through again, not a shorter freeze's end.
  const end = (f: Freeze) => f.until ?? Number.POSITIVE_INFINITY;
  return inForce.reduce<Freeze | null>((last, f) => (last === null || end(f) > end(last) ? f : last), null);
}

export function describeFreeze(f: Freeze): string {
  const until = f.until === null ? 'until /unfreeze' : `until ${new Date(f.until).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  // Refused, not held: nothing runs by itself when the freeze ends. A window ends on its own; /unfreeze does not lift it.
  const lift =
    f.by === 'maintenance window' ? 'until the window closes' : f.until === null ? 'until /unfreeze' : 'until then (or /unfreeze)';
  return `${f.host} is frozen ${until} (${f.by}: ${f.reason}) — reads go on; mutating commands are refused ${lift}`;
}
