import { DateTime } from 'luxon';

/** A wall-clock reading in some zone (a handoff time, `tomorrow 09:00`, a window's `from`, an ISO time without offset). */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second?: number;
  millisecond?: number;
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

function offsetAt(t: number, zone: string): number {
  return DateTime.fromMillis(t, { zone }).offset;
}

/**
 * How the clock in `zone` passes `wall`: the instants it reads it, earliest first (two in the hour clocks go back), or,
 * in the hour they skip, none — then `jumpAt`, the instant it jumps past it, and `movedOn`, the reading luxon and
 * Temporal give (02:30 → 03:30). Worked out here, not by luxon's fromObject/fromISO: those pick between the two
 * readings of a repeated hour by the zone's offset *now* (their first guess is `Settings.now()`), so the same wall time
 * fell on the first reading in summer and on the second in winter.
 */
export function readWall(wall: WallTime, zone: string): { instants: number[] } | { skipped: { jumpAt: number; movedOn: number } } {
  const asUtc = DateTime.fromObject(wall, { zone: 'utc' }).toMillis();
  // A zone changes offset at most once within a day either side: these are every offset the wall time may carry.
  const offsets = [...new Set([asUtc - DAY_MS, asUtc, asUtc + DAY_MS].map((t) => offsetAt(t, zone)))];
  const instants = offsets
    .map((o) => asUtc - o * MINUTE_MS)
    .filter((t) => offsetAt(t, zone) === (asUtc - t) / MINUTE_MS)
    .sort((a, b) => a - b);
  if (instants.length > 0) return { instants };
  // Skipped: the clock reads before it at the earliest candidate and after it at the latest; the jump lies between.
  const wallAt = (t: number) => t + offsetAt(t, zone) * MINUTE_MS;
  let before = asUtc - Math.max(...offsets) * MINUTE_MS;
  let after = asUtc - Math.min(...offsets) * MINUTE_MS;
  const movedOn = after;
  while (after - before > 1) {
    const mid = Math.floor((before + after) / 2);
    if (wallAt(mid) < asUtc) before = mid;
    else after = mid;
  }
  return { skipped: { jumpAt: after, movedOn } };
}
