import type { ListRow } from './types.ts';

/** A line the parser could not place: reported to the caller, never guessed. */
export interface UnparsedLine {
  lineNumber: number;
  line: string;
}

export interface ListParse {
  rows: ListRow[];
  /** Lines that are neither header, blank, nor a domain row. */
  unparsed: UnparsedLine[];
  /** Whether a `Name … ID … Mem … VCPUs … State … Time(s)` header was seen. */
  sawHeader: boolean;
}

const HEADER = /^Name\s+ID\s+Mem\s+VCPUs\s+State\s+Time\(s\)/;

/**
 * One row, anchored at the right: name (xl names may hold spaces and overflow the 40-char column), optional id
 * (xm leaves it blank for inactive managed domains), memory MiB, vCPUs, six state flags, CPU seconds.
 * Trailing columns from `xl list -v/-c/-Z/-n` (uuid, reason, label, pool) are allowed after the time.
 * State letters accept both xl's shutdown-reason alphabet (-rscwS?) and xm's crashed flag (c).
 */
const ROW = /^(.+?)\s+(?:(\d+)\s+)?(\d+)\s+(\d+)\s+([r-][b-][p-][s-][-rscwS?][d-])\s+(\d+\.\d+)(?:\s+.*)?$/;

/** Parses `xl list` or `xm list` output (either toolstack, TABs or spaces, CRLF tolerated). */
export function parseList(text: string): ListParse {
  const rows: ListRow[] = [];
  const unparsed: UnparsedLine[] = [];
  let sawHeader = false;
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '').trimEnd();
    if (line.trim() === '') return;
    if (HEADER.test(line.trim())) {
      sawHeader = true;
      return;
    }
    const m = ROW.exec(line);
    if (!m) {
      unparsed.push({ lineNumber: index + 1, line });
      return;
    }
    const [, name, id, mem, vcpus, state, time] = m as unknown as [string, string, string | undefined, string, string, string, string];
    rows.push({
      name: name.trim(),
      id: id === undefined ? null : Number(id),
      memoryMiB: Number(mem),
      vcpus: Number(vcpus),
      state,
      cpuSeconds: Number(time),
    });
  });
  return { rows, unparsed, sawHeader };
}
