import type { SimDomain, SimFleet, SimHostState } from './model.ts';

/** Byte-compatible renderings of the toolstack's tables (see shared/xen-toolstack.md §1-2). */

const pad = (s: string | number, n: number) => String(s).padStart(n);
const fixed = (x: number, n: number, digits = 1) => x.toFixed(digits).padStart(n);

export function formatXlList(fleet: SimFleet, host: SimHostState, options: { verbose?: boolean; domains?: SimDomain[] } = {}): string {
  // xl prints the header with literal TABs before State and Time(s) (and Security Label with -v).
  let header = 'Name                                        ID   Mem VCPUs\tState\tTime(s)';
  if (options.verbose) header += '   UUID                            Reason-Code\tSecurity Label';
  const lines = [header];
  for (const d of sortById(options.domains ?? host.domains)) {
    let row = `${d.name.padEnd(40)} ${pad(d.id, 5)} ${pad(d.memoryMiB, 5)} ${pad(d.vcpus, 5)}     ${d.flags}  ${fixed(fleet.cpuSeconds(d), 8)}`;
    // X: tools/xl/xl_info.c list_domains: " " UUID, then " %8x" shutdown reason (or " %8s" "-" when not shut
    // down), then " %16s" security label ("-" without XSM).
    if (options.verbose)
      row += ` ${d.uuid} ${(d.flags[3] === 's' ? shutdownReason(d.flags).toString(16) : '-').padStart(8)} ${'-'.padStart(16)}`;
    lines.push(row);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * libxl_shutdown_reason from xl's fifth state letter ("-rscwS": poweroff, reboot, suspend, crash, watchdog,
 * soft_reset; `?` stands for a reason xl has no letter for, shown here as 6).
 */
function shutdownReason(flags: string): number {
  return Math.max(0, '-rscwS?'.indexOf(flags[4] ?? '-'));
}

export function formatXmList(fleet: SimFleet, host: SimHostState, domains: SimDomain[] = host.domains): string {
  const lines = [`${'Name'.padEnd(40)} ${pad('ID', 5)} ${pad('Mem', 5)} ${pad('VCPUs', 5)} ${pad('State', 10)} ${pad('Time(s)', 9)}`];
  for (const d of sortById(domains)) {
    lines.push(
      `${d.name.padEnd(40)} ${pad(d.id, 5)} ${pad(d.memoryMiB, 5)} ${pad(d.vcpus, 5)} ${pad(xmFlags(d.flags), 10)} ${fixed(fleet.cpuSeconds(d), 8)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** xm's fifth flag is "crashed", not xl's shutdown-reason letter. */
function xmFlags(flags: string): string {
  const crashed = flags[3] === 's' && flags[4] === 'c';
  return `${flags.slice(0, 4)}${crashed ? 'c' : '-'}${flags[5] ?? '-'}`;
}

function sortById(domains: SimDomain[]): SimDomain[] {
  return [...domains].sort((a, b) => a.id - b.id);
}

/** `xl list -l`: libxl's JSON (4-space indent), c_info in libxl's key order (type, name, uuid). */
export function formatXlListLong(host: SimHostState, domains: SimDomain[] = host.domains): string {
  return `${JSON.stringify(
    sortById(domains).map((d) => ({
      domid: d.id,
      config: {
        c_info: { type: 'pv', name: d.name, uuid: d.uuid },
        b_info: { max_vcpus: d.vcpus, max_memkb: d.memoryMiB * 1024, target_memkb: d.memoryMiB * 1024 },
      },
    })),
    null,
    4,
  )}\n`;
}

/** `xm list -l`: xend's SXP, one `(domain …)` per domain (a subset of the keys, in xend's order). */
export function formatXmListLong(fleet: SimFleet, host: SimHostState, domains: SimDomain[] = host.domains): string {
  return sortById(domains)
    .map((d) =>
      [
        '(domain',
        `    (domid ${d.id})`,
        '    (on_crash restart)',
        `    (uuid ${d.uuid})`,
        `    (vcpus ${d.vcpus})`,
        `    (name ${d.name})`,
        '    (on_reboot restart)',
        '    (on_poweroff destroy)',
        `    (maxmem ${d.memoryMiB})`,
        `    (memory ${d.memoryMiB})`,
        `    (cpu_time ${fleet.cpuSeconds(d).toFixed(6)})`,
        `    (online_vcpus ${d.vcpus})`,
        '    (status 2)',
        `    (state ${xmFlags(d.flags)})`,
        ')',
        '',
      ].join('\n'),
    )
    .join('');
}

export function formatInfo(fleet: SimFleet, host: SimHostState): string {
  const xm = host.toolstack === 'xm';
  const entries: [string, string][] = [
    ['host', host.name],
    ['release', '6.1.0-27-amd64'],
    ['version', '#1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1 (2024-11-01)'],
    ['machine', 'x86_64'],
    ['nr_cpus', '8'],
    ['max_cpu_id', '7'],
    ['nr_nodes', '1'],
    ['cores_per_socket', '4'],
    ['threads_per_core', '2'],
    ['cpu_mhz', xm ? '2394' : '2394.454'],
    ['virt_caps', 'pv hvm hap shadow'],
    ['total_memory', String(host.totalMemoryMiB)],
    ['free_memory', String(fleet.freeMemoryMiB(host))],
    ['free_cpus', '0'],
    ['xen_major', '4'],
    ['xen_minor', xm ? '1' : '17'],
    ['xen_extra', xm ? '.4' : '.3'],
    ...(xm ? [] : ([['xen_version', '4.17.3']] as [string, string][])),
    ['xen_caps', 'xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64 '],
    ['xen_scheduler', 'credit2'],
    ['xen_pagesize', '4096'],
    ['platform_params', 'virt_start=0xffff800000000000'],
    ['xen_changeset', ''],
    ['xen_commandline', 'placeholder dom0_mem=2048M,max:2048M'],
    ['cc_compiler', 'x86_64-linux-gnu-gcc (Debian 12.2.0-14) 12.2.0'],
    ['xend_config_format', '4'],
  ];
  return `${entries.map(([k, v]) => `${k.padEnd(23)}: ${v}`).join('\n')}\n`;
}

/** xentop's state letters come in the order d s b c p r. */
function xentopState(flags: string): string {
  const has = (i: number, c: string) => flags[i] === c;
  const crashed = has(3, 's') && has(4, 'c');
  return `${has(5, 'd') ? 'd' : '-'}${has(3, 's') && !crashed ? 's' : '-'}${has(1, 'b') ? 'b' : '-'}${crashed ? 'c' : '-'}${has(2, 'p') ? 'p' : '-'}${has(0, 'r') ? 'r' : '-'}`;
}

export const XENTOP_HEADER =
  '      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID';

/** One xentop iteration. cpuPercent per domain id; names truncated to 10 characters unless fullNames. */
export function formatXentopIteration(
  fleet: SimFleet,
  host: SimHostState,
  cpuPercent: Map<number, number>,
  fullNames: boolean,
  repeatHeader: boolean,
): string {
  const totalKiB = host.totalMemoryMiB * 1024;
  const lines: string[] = [];
  const domains = [...host.domains].sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()));
  domains.forEach((d, i) => {
    if (i === 0 || repeatHeader) lines.push(XENTOP_HEADER);
    const memKiB = d.memoryMiB * 1024;
    const dom0 = d.id === 0;
    const name = fullNames ? d.name.padStart(10) : d.name.slice(0, 10).padStart(10);
    const io = dom0 ? [0, 0, 0, 0, 0, 0] : [d.id * 113, d.id * 34, 1, 0, d.id * 2495, d.id * 1077];
    lines.push(
      [
        name,
        xentopState(d.flags),
        pad(Math.floor(fleet.cpuSeconds(d)), 10),
        fixed(cpuPercent.get(d.id) ?? 0, 6),
        pad(memKiB, 10),
        fixed((memKiB / totalKiB) * 100, 6),
        dom0 ? '  no limit' : pad(memKiB + 1024, 10),
        dom0 ? '      n/a' : fixed(((memKiB + 1024) / totalKiB) * 100, 9),
        pad(d.vcpus, 5),
        pad(dom0 ? 0 : 1, 4),
        pad(io[0] ?? 0, 8),
        pad(io[1] ?? 0, 8),
        pad(io[2] ?? 0, 4),
        pad(io[3] ?? 0, 8),
        pad(io[4] ?? 0, 8),
        pad(io[5] ?? 0, 8),
        pad((io[4] ?? 0) * 8, 10),
        pad((io[5] ?? 0) * 8, 10),
        pad(0, 4),
      ].join(' '),
    );
  });
  return lines.map((l) => `${l}\n`).join('');
}
