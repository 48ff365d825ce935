import type { UnparsedLine } from './list.ts';

/**
 * `xl|xm network-list DOMAIN`, `xl|xm block-list DOMAIN` and `xl|xm vcpu-list DOMAIN`: printf tables with no machine
 * mode, read row by row with anchored patterns. A line that is neither a header nor a row of the expected shape is
 * kept in `unparsed` (said to the user), never guessed at.
 *
 * Formats (X = xen-project/xen):
 * - xl network-list (X: tools/xl/xl_nic.c): header `%-3s %-2s %-17s %-6s %-5s %-6s %5s/%-5s %-30s`
 *   (`Idx BE Mac Addr. handle state evt-ch tx-/rx-ring-ref BE-path`), rows `%-3d %-2d ` MAC `%6d %5d %6d %5d/%-11d %-30s`.
 * - xm network-list (X@4.1: tools/python/xen/xm/main.py): `Idx BE     MAC Addr.     handle state evt-ch tx-/rx-ring-ref BE-path`,
 *   rows `%(idx)-3d %(backend-id)-3d%(mac)-17s    %(handle)-3d …` (no blank between BE and MAC when BE has 3 digits;
 *   `??` and -1 where xenstore had nothing).
 * - xl block-list (X: tools/xl/xl_block.c): `%-5s %-3s %-6s %-5s %-6s %-8s %-30s` (`Vdev BE handle state evt-ch ring-ref
 *   BE-path`), Vdev being the device number (xvda = 51712); xm prints the same columns with other widths.
 * - xl vcpu-list (X: tools/xl/xl_vcpu.c): `%-32s %5u %5u` then `%5u %3c%c- ` (online) or `%5c %3c%cp ` (offline: CPU
 *   `-`, state `--p`), `%9.1f  `, hard affinity ` / ` soft affinity (`all`, `0-3,8`); xl ≤ 4.4 and xm have one
 *   `CPU Affinity` column, xm printing `any cpu` / `no cpus` / ranges and leaving CPU and State blank when the vCPU
 *   has no CPU.
 */

export interface NetworkListRow {
  /** Idx: the vif's devid. */
  index: number;
  /** The backend domain's id. */
  backend: number;
  /** Lower case; null when xm printed `??`. */
  mac: string | null;
  handle: number;
  /** xenbus state (4 = connected); -1 when xm could not read it. */
  state: number;
  eventChannel: number;
  txRingRef: number;
  rxRingRef: number;
  backendPath: string;
}

export interface BlockListRow {
  /** Vdev: the device number (xvda = 51712). */
  devid: number;
  backend: number;
  handle: number;
  state: number;
  eventChannel: number;
  ringRef: number;
  backendPath: string;
}

export interface VcpuListRow {
  name: string;
  id: number;
  vcpu: number;
  /** null when offline (`-`) or blank (xm, no CPU). */
  cpu: number | null;
  /** `r--`, `-b-`, `--p`; '' when xm left it blank. */
  state: string;
  timeSeconds: number;
  hard: string;
  /** null where the toolstack prints one affinity column (xm, xl ≤ 4.4). */
  soft: string | null;
}

export interface TableParse<Row> {
  rows: Row[];
  unparsed: UnparsedLine[];
  sawHeader: boolean;
}

const NETWORK_HEADER = /^\s*Idx\s+BE\s+MAC\s+Addr\.\s+handle\s+state\s+evt-ch\s+tx-\s*\/\s*rx-ring-ref\s+BE-path\s*$/i;
const MAC = '[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}';
const INT = '(-?\\d+)';
const NETWORK_ROW = new RegExp(
  `^\\s*(\\d+)\\s+(\\d+)\\s*(${MAC}|\\?\\?)\\s+${INT}\\s+${INT}\\s+${INT}\\s+${INT}\\s*/\\s*${INT}\\s+(\\S+)\\s*$`,
);

const BLOCK_HEADER = /^\s*Vdev\s+BE\s+handle\s+state\s+evt-ch\s+ring-ref\s+BE-path\s*$/;
const BLOCK_ROW = new RegExp(`^\\s*(\\d+)\\s+(\\d+)\\s+${INT}\\s+${INT}\\s+${INT}\\s+${INT}\\s+(\\S+)\\s*$`);

const VCPU_HEADER = /^\s*Name\s+ID\s+VCPU\s+CPU\s+State\s+Time\(s\)\s+(?:Affinity\s+\(Hard\s+\/\s+Soft\)|CPU\s+Affinity)\s*$/;
/** xl's print_bitmap: `all`, `none`, or ranges like `0-3,8`. */
const BITMAP = String.raw`(?:all|none|\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*)`;
/**
 * Name (anything: xl allows blanks), ID, VCPU, then CPU and State (blank in xm for a vCPU with no CPU), the time with
 * its one decimal, and `hard / soft` (xl) or one affinity (xm's `any cpu` / `no cpus` / ranges, old xl's bitmap).
 */
const VCPU_ROW = new RegExp(
  String.raw`^(.*?)\s+(\d+)\s+(\d+)\s+(?:(\d+|-)\s+([r-][b-][p-])\s+)?(\d+\.\d)\s+(?:(${BITMAP})\s+\/\s+(${BITMAP})|(any cpu|no cpus|${BITMAP}))\s*$`,
);

function table<Row>(text: string, header: RegExp, row: (line: string) => Row | null): TableParse<Row> {
  const rows: Row[] = [];
  const unparsed: UnparsedLine[] = [];
  let sawHeader = false;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    if (header.test(line)) {
      sawHeader = true;
      return;
    }
    const r = row(line);
    if (r) rows.push(r);
    else unparsed.push({ lineNumber: i + 1, line });
  });
  return { rows, unparsed, sawHeader };
}

export function parseNetworkList(text: string): TableParse<NetworkListRow> {
  return table(text, NETWORK_HEADER, (line) => {
    const m = NETWORK_ROW.exec(line);
    if (!m) return null;
    const [, idx, be, mac, handle, state, evtch, tx, rx, path] = m;
    return {
      index: Number(idx),
      backend: Number(be),
      mac: mac === '??' ? null : (mac as string).toLowerCase(),
      handle: Number(handle),
      state: Number(state),
      eventChannel: Number(evtch),
      txRingRef: Number(tx),
      rxRingRef: Number(rx),
      backendPath: path as string,
    };
  });
}

export function parseBlockList(text: string): TableParse<BlockListRow> {
  return table(text, BLOCK_HEADER, (line) => {
    const m = BLOCK_ROW.exec(line);
    if (!m) return null;
    const [, vdev, be, handle, state, evtch, ring, path] = m;
    return {
      devid: Number(vdev),
      backend: Number(be),
      handle: Number(handle),
      state: Number(state),
      eventChannel: Number(evtch),
      ringRef: Number(ring),
      backendPath: path as string,
    };
  });
}

export function parseVcpuList(text: string): TableParse<VcpuListRow> {
  return table(text, VCPU_HEADER, (line) => {
    const m = VCPU_ROW.exec(line);
    if (!m) return null;
    const [, name, id, vcpu, cpu, state, time, hard, soft, single] = m;
    if ((name as string).trim() === '') return null;
    return {
      name: (name as string).trim(),
      id: Number(id),
      vcpu: Number(vcpu),
      cpu: cpu === undefined || cpu === '-' ? null : Number(cpu),
      state: state ?? '',
      timeSeconds: Number(time),
      hard: (hard ?? single) as string,
      soft: soft ?? null,
    };
  });
}

/** `a`…`z`, `aa`…: the disk letters of xvda/sda/hda, as a 0-based index (libxl's device_virtdisk_matches). */
function lettersToIndex(letters: string): number {
  let n = 0;
  for (const c of letters) n = n * 26 + (c.charCodeAt(0) - 96);
  return n - 1;
}

function indexToLetters(index: number): string {
  let s = '';
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(97 + ((n - 1) % 26)) + s;
  return s;
}

/**
 * The device number libxl gives a guest device name (libxl__device_disk_dev_number): `xvda` 51712, `xvdb2` 51730,
 * `xvdq` (1<<28)|(16<<8), `hda` 768, `hdc` 5632, `sda` 2048, `d0p1`, or a plain number; null for anything else. The
 * `:disk` / `:cdrom` suffix of old configs is ignored.
 */
export function vdevNumber(vdev: string): number | null {
  const name = vdev.replace(/:(?:disk|cdrom)$/, '');
  if (/^\d+$/.test(name)) {
    const n = Number(name);
    return n <= 0x7fffffff ? n : null;
  }
  const dp = /^d(\d+)p(\d+)$/.exec(name);
  const xvd = /^xvd([a-z]+)(\d*)$/.exec(name);
  let disk: number;
  let part: number;
  if (dp) {
    disk = Number(dp[1]);
    part = Number(dp[2]);
  } else if (xvd) {
    if (/^0\d/.test(xvd[2] as string)) return null;
    disk = lettersToIndex(xvd[1] as string);
    part = Number(xvd[2] || 0);
  } else {
    const other = /^(hd|sd)([a-z]+)(\d*)$/.exec(name);
    if (!other || /^0\d/.test(other[3] as string)) return null;
    disk = lettersToIndex(other[2] as string);
    part = Number(other[3] || 0);
    if (other[1] === 'hd') return disk <= 3 && part <= 63 ? ((disk < 2 ? 3 : 22) << 8) | ((disk & 1) << 6) | part : null;
    return disk <= 15 && part <= 15 ? (8 << 8) | (disk << 4) | part : null;
  }
  if (disk >= 1 << 20 || part > 255) return null;
  return disk <= 15 && part <= 15 ? (202 << 8) | (disk << 4) | part : ((1 << 28) | (disk << 8) | part) >>> 0;
}

/** The guest device name of a block-list number (51712 → `xvda`); null for numbers of no known scheme. */
export function vdevName(devid: number): string | null {
  const part = (p: number) => (p === 0 ? '' : String(p));
  if (devid >= 1 << 28 && devid < 1 << 29) return `xvd${indexToLetters((devid >> 8) & 0xfffff)}${part(devid & 0xff)}`;
  const major = devid >> 8;
  if (major === 202) return `xvd${indexToLetters((devid >> 4) & 0xf)}${part(devid & 0xf)}`;
  if (major === 8) return `sd${indexToLetters((devid >> 4) & 0xf)}${part(devid & 0xf)}`;
  if (major === 3 || major === 22) return `hd${indexToLetters((major === 22 ? 2 : 0) + ((devid >> 6) & 1))}${part(devid & 0x3f)}`;
  return null;
}
