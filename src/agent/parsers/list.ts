import type { ListRow } from './types.ts';

/** A row with the domain's UUID from `xl list -v` (null where the output has none: plain `xl list`, `xm list`). */
export interface ListRowWithUuid extends ListRow {
  uuid: string | null;
}

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

/** xm of Xen 3.0 heads the memory column `Mem(MiB)` (3.0 xm/main.py xm_brief_list; CentOS 5 hosts print it too). */
const HEADER = /^Name\s+ID\s+Mem(?:\(MiB\))?\s+VCPUs\s+State\s+Time\(s\)/;

/** How libxl prints a UUID (LIBXL_UUID_FMT): 8-4-4-4-12 hex digits. */
const UUID = '[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}';

/**
 * One row, anchored at the right: name (xl names may hold spaces and overflow the 40-char column), optional id
 * (xm leaves it blank for inactive managed domains), memory MiB, vCPUs, six state flags, CPU seconds.
 * Trailing columns from `xl list -v/-c/-Z/-n` (uuid, reason, label, pool) are allowed after the time; with `-v` the
 * first of them is the UUID (`" " UUID`, then `" %8x"` reason or `-`, then `" %16s"` label; 4.19+ appends
 * capabilities), which is captured.
 * State letters accept both xl's shutdown-reason alphabet (-rscwS?) and xm's crashed flag (c).
 */
const ROW = new RegExp(
  `^(.+?)\\s+(?:(\\d+)\\s+)?(\\d+)\\s+(\\d+)\\s+([r-][b-][p-][s-][-rscwS?][d-])\\s+(\\d+\\.\\d+)(?:\\s+(${UUID})(?=\\s|$))?(?:\\s+.*)?$`,
);

/**
 * Parses `xl list` or `xm list` output (either toolstack, TABs or spaces, CRLF tolerated). The rows are the `xenops
 * parse list` contract and carry no UUID; parseListWithUuids keeps the UUID column of `xl list -v`.
 */
export function parseList(text: string): ListParse {
  const { rows, unparsed, sawHeader } = parseListWithUuids(text);
  return { rows: rows.map(({ uuid: _uuid, ...row }) => row), unparsed, sawHeader };
}

/** parseList, keeping each row's UUID (lower case) from `xl list -v`; null for rows without one. */
export function parseListWithUuids(text: string): Omit<ListParse, 'rows'> & { rows: ListRowWithUuid[] } {
  const rows: ListRowWithUuid[] = [];
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
    const [, name, id, mem, vcpus, state, time, uuid] = m as unknown as [
      string,
      string,
      string | undefined,
      string,
      string,
      string,
      string,
      string | undefined,
    ];
    rows.push({
      name: name.trim(),
      id: id === undefined ? null : Number(id),
      memoryMiB: Number(mem),
      vcpus: Number(vcpus),
      state,
      cpuSeconds: Number(time),
      uuid: uuid === undefined ? null : uuid.toLowerCase(),
    });
  });
  return { rows, unparsed, sawHeader };
}
