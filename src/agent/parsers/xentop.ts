import { quoteHostLine } from '../../core/control-chars.ts';
import type { UnparsedLine } from './list.ts';
import type { TopRow } from './types.ts';

export interface XentopParse {
  /** The last iteration's rows (with `-r`, every row of it). */
  rows: TopRow[];
  /** The iteration before the last (null when there was only one): what CPU% of the last was taken against. */
  previous: TopRow[] | null;
  iterations: number;
  unparsed: UnparsedLine[];
  sawHeader: boolean;
}

const HEADER = /^\s*NAME\s+STATE\s+CPU\(sec\)\s+CPU\(%\)\s+MEM\(k\)/;
const N = String.raw`(\d+)`;
/** xentop prints percentages `%6.1f`: anything else (`1.6.2`, `.`) is no figure, and the line is reported unread. */
const F = String.raw`(\d+(?:\.\d+)?)`;
const OPT = String.raw`(\d+|-)`;
/**
 * CPU(%) as xentop prints it: `%6.1f` of a figure taken against the time on Dom0's wall clock, so `-12.5` or `-0.0`
 * when that clock stepped back between two iterations, `inf` when it stood still, `-nan` (0/0) both; read as no
 * figure (null), the rest of the row stands.
 */
const CPU = String.raw`(\d+(?:\.\d+)?|-\d+(?:\.\d+)?|-?nan|-?inf)`;
/**
 * Anchored at the right: NAME is right-aligned (`%10s`, cut to `%10.10s` unless -f), may hold spaces, and is followed
 * by one space before STATE. Only the padding on its left is not the name's: a trailing space is (`Ubuntu 22 LTS`
 * prints as `Ubuntu 22 ` without -f, and only those ten characters map back to the full name).
 */
const ROW_HEAD = String.raw`^(.*?)\s([-d][-s][-b][-c][-p][-r])\s+${N}\s+${CPU}\s+${N}\s+${F}\s+(no limit|\d+)\s+(n/a|\d+(?:\.\d+)?)\s+${N}\s+${N}\s+${N}\s+${N}\s+${N}\s+${OPT}\s+${OPT}\s+${OPT}`;
/** Xen ≥ 4.0: VBD_RSECT and VBD_WSECT before SSID. */
const ROW_4 = new RegExp(String.raw`${ROW_HEAD}\s+${OPT}\s+${OPT}\s+${N}$`);
/** Xen 3.x: the row ends … VBD_WR SSID. */
const ROW_3 = new RegExp(String.raw`${ROW_HEAD}\s+${N}$`);

/** Lines xentop prints that are not domain rows: summary lines (interactive screen, 3.x batch) and -v/-n/-x sub-lines. */
const KNOWN_NOISE = [
  /^xentop - \d/,
  /^\d+ domains?: /,
  /^Mem: \d+k total/,
  /^VCPUs\(sec\):/,
  /^\s+\d+:\s+\d+s/, // VCPUs continuation
  /^Net\d+ RX:/,
  /^VBD /,
  /^Physical CPU Usage/,
];

/** Whether the line is xentop's column header (it opens each iteration). */
export function isXentopHeader(line: string): boolean {
  return HEADER.test(line);
}

/** Whether a header line has the VBD_RSECT/VBD_WSECT columns (Xen ≥ 4.0). */
export function headerHasSectors(header: string): boolean {
  return /VBD_RSECT/.test(header);
}

/** Whether the line is one xentop prints that is not a domain row (summary lines, -v/-n/-x sub-lines). */
export function isXentopNoise(line: string): boolean {
  return KNOWN_NOISE.some((re) => re.test(line));
}

/**
 * One domain row, or null when the line is not one. `hasSectors` comes from the iteration's header (null before
 * any header: both layouts are tried). The line must be without its line ending.
 */
export function parseXentopRow(line: string, hasSectors: boolean | null): TopRow | null {
  const m = hasSectors === false ? ROW_3.exec(line) : (ROW_4.exec(line) ?? (hasSectors === null ? ROW_3.exec(line) : null));
  return m ? toRow(m, m.length === 20) : null;
}

function num(s: string): number {
  return Number(s);
}
function optNum(s: string | undefined): number | null {
  return s === undefined || s === '-' ? null : Number(s);
}

function toRow(m: RegExpExecArray, hasSect: boolean): TopRow {
  const g = (i: number) => m[i] as string;
  return {
    name: g(1).trimStart(),
    state: g(2),
    cpuSeconds: num(g(3)),
    cpuPercent: /^\d/.test(g(4)) ? num(g(4)) : null,
    memoryKiB: num(g(5)),
    memoryPercent: num(g(6)),
    maxMemoryKiB: g(7) === 'no limit' ? null : num(g(7)),
    maxMemoryPercent: g(8) === 'n/a' ? null : num(g(8)),
    vcpus: num(g(9)),
    nets: num(g(10)),
    netTxKiB: num(g(11)),
    netRxKiB: num(g(12)),
    vbds: num(g(13)),
    vbdOO: optNum(g(14)),
    vbdRd: optNum(g(15)),
    vbdWr: optNum(g(16)),
    vbdRsect: hasSect ? optNum(m[17]) : null,
    vbdWsect: hasSect ? optNum(m[18]) : null,
    ssid: num(hasSect ? g(19) : g(17)),
  };
}

/**
 * Parses `xentop -b` output: one or more iterations, `-r` (header before every row), `-f` names with spaces,
 * `no limit` / `n/a`, with or without the VBD_RSECT/VBD_WSECT columns, and the interactive screen's summary lines.
 * Returns the last iteration: the first one of a batch run always shows CPU(%) 0.0.
 */
export function parseXentop(text: string): XentopParse {
  const groups: TopRow[][] = [];
  const unparsed: UnparsedLine[] = [];
  let current: TopRow[] | null = null;
  let hasSect: boolean | null = null;
  let sawHeader = false;

  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '').trimEnd();
    if (line.trim() === '') return;
    if (isXentopHeader(line)) {
      sawHeader = true;
      hasSect = headerHasSectors(line);
      current = [];
      groups.push(current);
      return;
    }
    const row = parseXentopRow(line, hasSect);
    if (row) {
      if (!current) {
        current = [];
        groups.push(current);
      }
      current.push(row);
      return;
    }
    if (!isXentopNoise(line)) unparsed.push({ lineNumber: index + 1, line });
  });

  const iterations = splitIterations(groups);
  return { rows: iterations.at(-1) ?? [], previous: iterations.at(-2) ?? null, iterations: iterations.length, unparsed, sawHeader };
}

/**
 * What a reply says of xentop lines it could not read: counted, the first quoted (cut, its control characters shown),
 * and what it means — the table or ranking may lack a guest whose row that was.
 */
export function xentopUnreadNote(lines: number, first: string): string {
  return lines === 1
    ? `could not read 1 line of xentop, so a guest may be missing here: ${quoteHostLine(first)}`
    : `could not read ${lines} lines of xentop, so guests may be missing here (the first: ${quoteHostLine(first)})`;
}

/**
 * What a reply must say of a parse: the lines that could not be read (counted, the first quoted short) and a table
 * that came out empty (a host always runs Domain-0, so no rows is never the truth).
 */
export function xentopNotes(parsed: XentopParse, text: string): string[] {
  const notes: string[] = [];
  const first = parsed.unparsed[0];
  if (first) notes.push(xentopUnreadNote(parsed.unparsed.length, first.line));
  if (parsed.rows.length === 0) {
    const why = text.trim() === '' ? 'its output was empty' : parsed.sawHeader ? 'a header but no row it could read' : 'no header it knows';
    notes.push(`xentop printed no domain rows (${why})`);
  }
  return notes;
}

/**
 * Each header normally opens an iteration. With `-r` every row has its own header, so groups of one row are
 * merged and an iteration ends where a domain name repeats: xentop prints each domain once per iteration, sorted
 * by name (strcasecmp; `-z` puts Domain-0 first), with no separator between iterations. One exception: without
 * `-f` names are cut to 10 characters, so two domains may show the same 10-character name; sorted by full name,
 * they are always adjacent. A 10-character name right after itself is therefore another domain, not a new
 * iteration. (Only an iteration made of nothing but one such name, and no Domain-0, would be misread.)
 */
function splitIterations(groups: TopRow[][]): TopRow[][] {
  const repeatedHeader = groups.length > 1 && groups.every((g) => g.length <= 1);
  if (!repeatedHeader) return groups.filter((g) => g.length > 0);
  const iterations: TopRow[][] = [];
  let seen = new Set<string>();
  let iteration: TopRow[] = [];
  for (const row of groups.flat()) {
    const truncatedTwin = row.name.length === TRUNCATED_NAME_LENGTH && iteration.at(-1)?.name === row.name;
    if (seen.has(row.name) && !truncatedTwin) {
      iterations.push(iteration);
      iteration = [];
      seen = new Set();
    }
    seen.add(row.name);
    iteration.push(row);
  }
  if (iteration.length > 0) iterations.push(iteration);
  return iterations;
}

/** xentop prints NAME with `%10.10s` unless `-f`. */
const TRUNCATED_NAME_LENGTH = 10;
