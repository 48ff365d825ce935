import type { UnparsedLine } from './list.ts';

/** One entry of a directory as `ls -l` shows it. */
export interface LsEntry {
  /** The file name, exactly as `ls -1` of the same directory printed it. */
  name: string;
  /** `link` = a symlink, `file` = a regular file, `other` = a directory, device, fifo or socket. */
  kind: 'link' | 'file' | 'other';
  /** A symlink's contents as printed after ` -> ` (not resolved); null for anything else. */
  target: string | null;
}

export interface LsListing {
  entries: LsEntry[];
  /** `ls -l` lines that matched no name of the `ls -1` listing, or no known shape. */
  unparsed: UnparsedLine[];
  /** Names `ls -1` printed that no `ls -l` line accounts for. */
  unmatched: string[];
}

/**
 * File mode as `ls -l` prints it: a type letter, nine permission letters and an optional ACL/SELinux/xattr marker
 * (`+`, `.`, `@`). The rest of the line (links, owner, group, size, date) varies with the `ls` and the locale
 * (`Mar  4 10:12`, `4. Mär 10:12`, `2024-03-04 10:12`), so it is never parsed.
 */
const MODE = /^([-dlbcpsDn?])[-rwxsStTlL]{9}[.+@]?\s/;
const TOTAL = /^total\s+\d+\s*$/;

/**
 * Reads `ls -l DIR/` with the help of `ls -1 DIR` (one name a line): the names come from the plain listing, so a
 * name is never cut out of the variable middle of an `ls -l` line; `ls -l` only adds each entry's type and, for a
 * symlink, what follows ` NAME -> `. Where several names fit a line (`b.cfg` and `a b.cfg`), the one starting
 * earliest wins, then the longest. Anything that fits no name is reported, never guessed at. Without the plain
 * listing (null) a symlink's name is the word before the first ` -> `, and a file's the last word.
 */
export function parseLsLong(long: string, plainNames: readonly string[] | null): LsListing {
  const entries: LsEntry[] = [];
  const unparsed: UnparsedLine[] = [];
  const names = plainNames === null ? null : [...new Set(plainNames.filter((n) => n !== ''))];
  long.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || TOTAL.test(line)) return;
    const mode = MODE.exec(line);
    if (!mode) {
      unparsed.push({ lineNumber: i + 1, line });
      return;
    }
    const type = mode[1];
    const found = type === 'l' ? linkOf(line, names) : nameAtEnd(line, names);
    if (!found) {
      unparsed.push({ lineNumber: i + 1, line });
      return;
    }
    entries.push({ name: found.name, kind: type === 'l' ? 'link' : type === '-' ? 'file' : 'other', target: found.target });
  });
  const seen = new Set(entries.map((e) => e.name));
  return { entries, unparsed, unmatched: (names ?? []).filter((n) => !seen.has(n)) };
}

/** Splits `ls -1` output into names (no trimming: a name may start or end with a space). */
export function plainNames(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l !== '');
}

function linkOf(line: string, names: readonly string[] | null): { name: string; target: string } | null {
  if (names === null) {
    const m = /\s(\S+) -> (.*)$/.exec(line);
    return m?.[1] && m[2] !== undefined ? { name: m[1], target: m[2] } : null;
  }
  let best: { name: string; at: number } | null = null;
  for (const name of names) {
    const at = line.indexOf(` ${name} -> `);
    if (at < 0) continue;
    if (!best || at < best.at || (at === best.at && name.length > best.name.length)) best = { name, at };
  }
  if (!best) return null;
  const target = line.slice(best.at + best.name.length + 5);
  return target === '' ? null : { name: best.name, target };
}

function nameAtEnd(line: string, names: readonly string[] | null): { name: string; target: null } | null {
  if (names === null) {
    const m = /\s(\S+)$/.exec(line);
    return m?.[1] ? { name: m[1], target: null } : null;
  }
  const fits = names.filter((n) => line.endsWith(` ${n}`)).sort((a, b) => b.length - a.length);
  return fits[0] === undefined ? null : { name: fits[0], target: null };
}
