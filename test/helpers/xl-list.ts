/**
 * `xl list -v` as xl prints it (xl_info.c list_domains: "%-40s %5d %5lu %5d     %c%c%c%c%c%c  %8.1f", then the UUID,
 * the reason code and the security label), for scripted runners replaying what a real host shows.
 */
export const XL_LIST_V_HEADER =
  'Name                                        ID   Mem VCPUs\tState\tTime(s)   UUID                            Reason-Code\tSecurity Label';
const UUID = '7f3b1d2e-4a5b-4c6d-8e9f-0a1b2c3d4e5f';

export const XL_DOM0_ROW = `${'Domain-0'.padEnd(40)}     0  2048     4     r-----    100.0 00000000-0000-0000-0000-000000000000        -                -`;

/** A guest's row; `reason` is the shutdown reason code column (`-` unless shut down). */
export function xlRow(
  name: string,
  id: number,
  flags: string,
  o: { reason?: string; memoryMiB?: number; vcpus?: number; cpuSeconds?: number } = {},
): string {
  const { reason = '-', memoryMiB = 1024, vcpus = 1, cpuSeconds = 0 } = o;
  return `${name.padEnd(40)} ${String(id).padStart(5)} ${String(memoryMiB).padStart(5)} ${String(vcpus).padStart(5)}     ${flags}  ${cpuSeconds.toFixed(1).padStart(8)} ${UUID} ${reason.padStart(8)}                -`;
}

/** The whole output: header, Domain-0, then these rows. */
export function xlListV(rows: readonly string[]): string {
  return `${[XL_LIST_V_HEADER, XL_DOM0_ROW, ...rows].join('\n')}\n`;
}
