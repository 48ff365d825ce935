import { type SimDomain, type SimFleet, type SimHostState, vdevNumber } from './model.ts';

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

/**
 * `xm list`: the running domains, then (`inactive`, default all) the xend-managed ones that do not run, each with a
 * blank ID (its domid is '' to `%(domid)5s`), all flags off and no CPU time (X@4.1 xm/main.py xm_brief_list;
 * shared/xen-toolstack.md §1.2).
 */
export function formatXmList(
  fleet: SimFleet,
  host: SimHostState,
  domains: SimDomain[] = host.domains,
  inactive: string[] = inactiveManaged(host),
): string {
  const lines = [`${'Name'.padEnd(40)} ${pad('ID', 5)} ${pad('Mem', 5)} ${pad('VCPUs', 5)} ${pad('State', 10)} ${pad('Time(s)', 9)}`];
  for (const d of sortById(domains)) {
    lines.push(
      `${d.name.padEnd(40)} ${pad(d.id, 5)} ${pad(d.memoryMiB, 5)} ${pad(d.vcpus, 5)} ${pad(xmFlags(d.flags), 10)} ${fixed(fleet.cpuSeconds(d), 8)}`,
    );
  }
  for (const name of inactive) {
    const m = host.xendManaged.get(name);
    if (m) lines.push(`${name.padEnd(40)} ${pad('', 5)} ${pad(m.memoryMiB, 5)} ${pad(m.vcpus, 5)} ${pad('------', 10)} ${fixed(0, 8)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The xend-managed domains that do not run now (xend lists them with a blank ID). */
export function inactiveManaged(host: SimHostState): string[] {
  return [...host.xendManaged.keys()].filter((name) => !host.domains.some((d) => d.name === name)).sort();
}

/** xm's fifth flag is "crashed", not xl's shutdown-reason letter. */
function xmFlags(flags: string): string {
  const crashed = flags[3] === 's' && flags[4] === 'c';
  return `${flags.slice(0, 4)}${crashed ? 'c' : '-'}${flags[5] ?? '-'}`;
}

function sortById(domains: SimDomain[]): SimDomain[] {
  return [...domains].sort((a, b) => a.id - b.id);
}

/** `2-3,5` → [2, 3, 5]. */
export function cpuSet(ranges: string): number[] {
  return ranges.split(',').flatMap((r) => {
    const [a, b] = r.split('-').map(Number) as [number, number | undefined];
    return Array.from({ length: (b ?? a) - a + 1 }, (_, i) => a + i);
  });
}

/**
 * `xl list -l`: libxl's JSON (4-space indent), c_info in libxl's key order (type, name, uuid), b_info, disks and nics
 * as libxl writes them: only what differs from the default (a read-only disk has no `readwrite`), a file-backed disk
 * on the qdisk backend, the vif's MAC as made at create. Domain-0 has no devices of its own here.
 */
export function formatXlListLong(host: SimHostState, domains: SimDomain[] = host.domains): string {
  return `${JSON.stringify(
    sortById(domains).map((d) => ({
      domid: d.id,
      config: {
        c_info: { type: 'pv', name: d.name, uuid: d.uuid },
        b_info: {
          max_vcpus: d.vcpus,
          avail_vcpus: Array.from({ length: d.vcpus }, (_, i) => i),
          ...(d.cpus === null ? {} : { vcpu_hard_affinity: Array.from({ length: d.vcpus }, () => cpuSet(d.cpus as string)) }),
          max_memkb: d.maxMemoryMiB * 1024,
          target_memkb: d.memoryMiB * 1024,
          sched_params: {},
          ...(d.id === 0 ? {} : { 'type.pv': { bootloader: 'pygrub' } }),
        },
        ...(d.disks.length === 0
          ? {}
          : {
              disks: d.disks.map((k) => ({
                pdev_path: k.target,
                vdev: k.vdev,
                backend: k.kind === 'phy' ? 'phy' : 'qdisk',
                format: 'raw',
                ...(k.mode === 'w' ? { readwrite: 1 } : {}),
              })),
            }),
        ...(d.vifs.length === 0
          ? {}
          : {
              nics: d.vifs.map((v, i) => ({
                devid: i,
                mac: v.mac,
                ...(v.ip ? { ip: v.ip } : {}),
                ...(v.bridge ? { bridge: v.bridge } : {}),
                ...(v.script ? { script: v.script } : {}),
                nictype: 'vif',
              })),
            }),
        ...(d.id === 0 ? {} : { on_reboot: 'restart' }),
      },
    })),
    null,
    4,
  )}\n`;
}

/** An SXP atom as xend prints it: bare when it holds only letters, digits and `.-_:/~@`, else Python's repr. */
function sxpAtom(v: string): string {
  return /^[A-Za-z0-9.\-_:/~@]+$/.test(v) ? v : `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * `xm list -l`: xend's SXP, one `(domain …)` per domain (a subset of the keys, in xend's order): its per-vCPU cpus
 * lists (`()` = not pinned), the image, and a `(device (vif …))` / `(device (vbd …))` per device (xend fills in the
 * default vif script).
 */
export function formatXmListLong(fleet: SimFleet, host: SimHostState, domains: SimDomain[] = host.domains): string {
  return sortById(domains)
    .map((d) => {
      const pinned = d.cpus === null ? '()' : `(${cpuSet(d.cpus).join(' ')})`;
      const devices = [
        ...d.vifs.flatMap((v) => [
          '    (device',
          '        (vif',
          ...(v.bridge ? [`            (bridge ${sxpAtom(v.bridge)})`] : []),
          `            (mac ${v.mac})`,
          ...(v.ip ? [`            (ip ${sxpAtom(v.ip)})`] : []),
          `            (script /etc/xen/scripts/${v.script ?? 'vif-bridge'})`,
          '            (backend 0)',
          '        )',
          '    )',
        ]),
        ...d.disks.flatMap((k) => [
          '    (device',
          '        (vbd',
          '            (protocol x86_64-abi)',
          '            (bootable 1)',
          `            (dev ${k.vdev}:disk)`,
          `            (uname ${k.kind}:${k.target})`,
          `            (mode ${k.mode})`,
          '            (backend 0)',
          '        )',
          '    )',
        ]),
      ];
      return [
        '(domain',
        `    (domid ${d.id})`,
        '    (on_crash restart)',
        `    (uuid ${d.uuid})`,
        `    (vcpus ${d.vcpus})`,
        `    (name ${d.name})`,
        `    (cpus (${Array.from({ length: d.vcpus }, () => pinned).join(' ')}))`,
        '    (on_reboot restart)',
        '    (on_poweroff destroy)',
        `    (maxmem ${d.maxMemoryMiB})`,
        `    (memory ${d.memoryMiB})`,
        `    (cpu_time ${fleet.cpuSeconds(d).toFixed(6)})`,
        `    (online_vcpus ${d.vcpus})`,
        d.id === 0 ? '    (image (linux (kernel ) (superpages 0)))' : "    (image (linux (kernel ) (args 'root=/dev/xvda1 ro')))",
        '    (status 2)',
        `    (state ${xmFlags(d.flags)})`,
        ...devices,
        ')',
        '',
      ].join('\n');
    })
    .join('');
}

/**
 * `xl network-list` (tools/xl/xl_nic.c) / `xm network-list` (xm/main.py): the header, a row per vif, connected (4).
 * xl prints its header before it looks the domain up (null: the header alone); xm prints nothing without vifs.
 */
export function formatNetworkList(tool: 'xl' | 'xm', d: SimDomain | null): string {
  const vifs = d?.vifs ?? [];
  const path = (i: number) => `/local/domain/0/backend/vif/${d?.id}/${i}`;
  const evtch = (i: number) => 20 + 2 * i;
  const ring = (i: number) => 1280 + 2 * i;
  if (tool === 'xm') {
    if (vifs.length === 0) return '';
    const rows = vifs.map(
      (v, i) =>
        `${String(i).padEnd(3)} ${'0'.padEnd(3)}${(v.mac ?? '??').padEnd(17)}    ${String(i).padEnd(3)}   ${'4'.padEnd(3)}    ${String(evtch(i)).padEnd(3)}   ${String(ring(i)).padEnd(5)}/${String(ring(i) + 1).padEnd(5)}   ${path(i).padEnd(30)}  `,
    );
    return `${['Idx BE     MAC Addr.     handle state evt-ch tx-/rx-ring-ref BE-path', ...rows].join('\n')}\n`;
  }
  const header = `${'Idx'.padEnd(3)} ${'BE'.padEnd(2)} ${'Mac Addr.'.padEnd(17)} ${'handle'.padEnd(6)} ${'state'.padEnd(5)} ${'evt-ch'.padEnd(6)} ${'tx-'.padStart(5)}/${'rx-ring-ref'.padEnd(5)} ${'BE-path'.padEnd(30)}`;
  const rows = vifs.map(
    (v, i) =>
      `${String(i).padEnd(3)} ${'0'.padEnd(2)} ${v.mac}${pad(i, 6)} ${pad(4, 5)} ${pad(evtch(i), 6)} ${pad(ring(i), 5)}/${String(ring(i) + 1).padEnd(11)} ${path(i).padEnd(30)}`,
  );
  return `${[header, ...rows].join('\n')}\n`;
}

/**
 * `xl block-list` (tools/xl/xl_block.c) / `xm block-list`: the device number, backend, state 4 (connected). xl prints
 * its header before it looks the domain up (null: the header alone); xm prints nothing without disks.
 */
export function formatBlockList(tool: 'xl' | 'xm', d: SimDomain | null): string {
  const rows = (d?.disks ?? []).map((k, i) => {
    const devid = vdevNumber(k.vdev);
    const path = `/local/domain/0/backend/${tool === 'xl' && k.kind === 'file' ? 'qdisk' : 'vbd'}/${d?.id}/${devid}`;
    const evtch = 10 + i;
    const ring = 8 + i;
    return tool === 'xl'
      ? `${String(devid).padEnd(5)} ${'0'.padEnd(3)} ${String(d?.id).padEnd(6)} ${'4'.padEnd(5)} ${String(evtch).padEnd(6)} ${String(ring).padEnd(8)} ${path.padEnd(30)}`
      : `${String(devid).padEnd(5)}  ${'0'.padEnd(3)}  ${String(d?.id).padEnd(3)}   ${'4'.padEnd(3)}    ${String(evtch).padEnd(3)}    ${String(ring).padEnd(5)} ${path.padEnd(30)}  `;
  });
  if (tool === 'xm') return rows.length === 0 ? '' : `${['Vdev  BE handle state evt-ch ring-ref BE-path', ...rows].join('\n')}\n`;
  const header = `${'Vdev'.padEnd(5)} ${'BE'.padEnd(3)} ${'handle'.padEnd(6)} ${'state'.padEnd(5)} ${'evt-ch'.padEnd(6)} ${'ring-ref'.padEnd(8)} ${'BE-path'.padEnd(30)}`;
  return `${[header, ...rows].join('\n')}\n`;
}

/** The simulated hosts' physical CPUs (xl info's nr_cpus). */
const HOST_CPUS = 8;

/**
 * `xl vcpu-list` (tools/xl/xl_vcpu.c: hard / soft affinity) / `xm vcpu-list` (one `CPU Affinity`: `any cpu` or
 * ranges): each vCPU on a CPU of its pinning, blocked (Domain-0's first running), its share of the CPU time.
 */
export function formatVcpuList(fleet: SimFleet, tool: 'xl' | 'xm', domains: SimDomain[]): string {
  const lines = [
    `${'Name'.padEnd(32)} ${pad('ID', 5)} ${pad('VCPU', 5)} ${pad('CPU', 5)} ${pad('State', 5)} ${pad('Time(s)', 9)} ${tool === 'xl' ? 'Affinity (Hard / Soft)' : 'CPU Affinity'}`,
  ];
  for (const d of sortById(domains)) {
    const set = d.cpus === null ? null : cpuSet(d.cpus);
    for (let i = 0; i < d.vcpus; i++) {
      const cpu = set ? (set[i % set.length] as number) : (d.id * 2 + i) % HOST_CPUS;
      const running = d.id === 0 && i === 0;
      const paused = d.flags[2] === 'p';
      const state = `${running ? 'r' : '-'}${running || paused ? '-' : 'b'}-`;
      const time = fleet.cpuSeconds(d) / d.vcpus;
      if (tool === 'xl')
        lines.push(
          `${d.name.padEnd(32)} ${pad(d.id, 5)} ${pad(i, 5)}${pad(cpu, 5)} ${pad(state.charAt(0), 3)}${state.slice(1)} ${fixed(time, 9)}  ${d.cpus ?? 'all'} / all`,
        );
      else
        lines.push(
          `${d.name.padEnd(32)} ${pad(d.id, 5)} ${pad(i, 5)} ${pad(cpu, 5)} ${pad(state, 5)}  ${fixed(time, 8)} ${d.cpus ?? 'any cpu'}`,
        );
    }
  }
  return `${lines.join('\n')}\n`;
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
