import type { UnparsedLine } from './list.ts';

/** One row of `xl uptime` / `xm uptime`. */
export interface UptimeRow {
  name: string;
  id: number;
  uptimeSeconds: number;
}

export interface UptimeParse {
  rows: UptimeRow[];
  unparsed: UnparsedLine[];
}

/**
 * xl prints `"%-33s %4d %s"` with the uptime as `H:MM:SS` or `N day(s), H:MM:SS` (hours `%2d`); xm `%-32s %5s`
 * the same way. Names may hold spaces, so the row is anchored at the right. Lines that match nothing are kept,
 * never guessed at.
 */
const ROW = /^(.*?)\s+(\d+)\s+(?:(\d+)\s+days?,\s+)?(\d+):([0-5]\d):([0-5]\d)\s*$/;
const HEADER = /^\s*Name\s+ID\s+Uptime\s*$/;
/**
 * xm lists every domain xend has, so also an xend-managed one that does not run: its domid is '' (a blank ID column)
 * and xm prints its uptime as 0 (X@4.1 xm/main.py xm_uptime). It has no uptime: not a row, and no unreadable line.
 * xend names hold no spaces.
 */
const XM_INACTIVE = /^\S+\s+0:00:00\s*$/;

export function parseUptime(text: string): UptimeParse {
  const rows: UptimeRow[] = [];
  const unparsed: UnparsedLine[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '' || HEADER.test(line) || XM_INACTIVE.test(line)) return;
    const m = ROW.exec(line);
    if (!m) {
      unparsed.push({ lineNumber: i + 1, line });
      return;
    }
    const [, name, id, days, h, min, s] = m;
    rows.push({
      name: (name as string).trim(),
      id: Number(id),
      uptimeSeconds: Number(days ?? 0) * 86_400 + Number(h) * 3_600 + Number(min) * 60 + Number(s),
    });
  });
  return { rows, unparsed };
}
