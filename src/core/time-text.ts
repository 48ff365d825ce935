/** "4 s ago", "3 min ago", "2 h ago"; an age in the future is "0 s ago", one that is no number "at an unknown time". */
export function ago(ms: number): string {
  // Ages are differences of times other processes and platforms wrote: NaN or infinite when one of them was not a time.
  if (!Number.isFinite(ms)) return 'at an unknown time';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s ago`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} min ago`;
  return `${Math.round(m / 60)} h ago`;
}

/** The latest (and, negated, the earliest) epoch ms a Date holds: past it, toISOString throws RangeError. */
export const MAX_DATE_MS = 8.64e15;

/** Whether `epochMs` is a time a Date holds (a whole or fractional ms within ±MAX_DATE_MS). */
export function isTime(epochMs: number): boolean {
  return Number.isFinite(epochMs) && Math.abs(epochMs) <= MAX_DATE_MS;
}

/** The date and the time to the minute, UTC: years past 9999 (and before 0) have six digits and a sign in ISO. */
function isoParts(epochMs: number): { date: string; minute: string } | null {
  if (!isTime(epochMs)) return null;
  const m = /^([+-]?\d+-\d\d-\d\d)T(\d\d:\d\d)/.exec(new Date(epochMs).toISOString());
  return m ? { date: m[1] as string, minute: m[2] as string } : null;
}

/** What a formatter says for a number that is no time (it comes from another process or a platform): never a throw. */
function unreadable(epochMs: number): string {
  return `an unreadable time (${epochMs})`;
}

/** "09:12 UTC". */
export function clockUtc(epochMs: number): string {
  const p = isoParts(epochMs);
  return p ? `${p.minute} UTC` : unreadable(epochMs);
}

/** "2026-12-06 21:13 UTC". */
export function dateTimeUtc(epochMs: number): string {
  const p = isoParts(epochMs);
  return p ? `${p.date} ${p.minute} UTC` : unreadable(epochMs);
}
