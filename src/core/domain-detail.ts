import type { DomainSummary } from './xen.ts';

/**
 * One domain's page (`/show`): what the toolstack (or, for a domain that is not running, its config file) says about
 * it, merged with the live device and vCPU lists. Every field that could not be read is null (or empty) and said in
 * `notes`; nothing is filled in by guessing.
 */

/** One vCPU as `xl vcpu-list DOMAIN` / `xm vcpu-list DOMAIN` prints it. */
export interface DomainVcpu {
  vcpu: number;
  /** The physical CPU it is on now; null when it is offline (`-`) or xm left the column blank. */
  cpu: number | null;
  /** The state letters as printed (`r--`, `-b-`, `--p`); '' when xm left the column blank. */
  state: string;
  timeSeconds: number;
  /** Hard affinity as printed: `all`, `2-3`, `0,4-7` (xm: `any cpu`, `no cpus`). */
  hard: string;
  /** Soft affinity as printed (xl ≥ 4.5); null where the toolstack has none (xm, old xl). */
  soft: string | null;
}

export interface DomainDisk {
  /** The guest's device name as configured (`xvda`, `hda`); null when it is only known by its number. */
  vdev: string | null;
  /** The number block-list shows (xvda = 51712), from the list or computed from vdev; null when neither says. */
  devid: number | null;
  /** The backing path on the Dom0 (`/dev/vg0/web-disk`, an image file); null when unknown. */
  target: string | null;
  /** rw / ro; null when not said. */
  mode: 'rw' | 'ro' | null;
  /** raw, qcow2, vhd…; null when not said. */
  format: string | null;
  /** phy, qdisk, tap (xl backend), or the xm prefix (phy, file, tap:aio); null when not said. */
  backend: string | null;
  cdrom: boolean;
  /** xenbus state of the live device (4 = connected); null when not read (not running, not in the list). */
  state: number | null;
  /** Known from the configuration (xl list -l / xm list -l / the config file). */
  configured: boolean;
  /** Seen in block-list. */
  live: boolean;
}

export interface DomainNic {
  /** devid / block-list's Idx; the position in the config when neither says. */
  index: number;
  mac: string | null;
  bridge: string | null;
  /** From the vif config's `ip=` only; empty means unknown (never guessed from anywhere else). */
  ips: string[];
  /** The hotplug script's base name (vif-bridge, vif-route, vif-nat…); null when the config names none. */
  script: string | null;
  gatewaydev: string | null;
  vifname: string | null;
  model: string | null;
  /** xenbus state of the live device (4 = connected); null when not read. */
  state: number | null;
  configured: boolean;
  live: boolean;
}

export interface DomainDetail {
  name: string;
  /** The domain's row of the host's list (state, id, autostart, config file); null when the list has no such domain. */
  summary: DomainSummary | null;
  /**
   * Where the configuration shown comes from: the running domain's stored config (`xl list -l` / `xm list -l`), its
   * config file, or nothing readable (null).
   */
  source: 'toolstack' | 'config-file' | null;
  uuid: string | null;
  /** pv, hvm, pvh; null when not said. */
  type: string | null;
  /** Running: its current memory (the list's Mem); from a config file: `memory`. */
  memoryMiB: number | null;
  /** Running: max_memkb / xend's maxmem; from a config file: `maxmem` (null when not set: xl then uses `memory`). */
  maxMemoryMiB: number | null;
  /** Running: online vCPUs (the list's VCPUs); from a config file: `vcpus`. */
  vcpus: number | null;
  maxVcpus: number | null;
  /** Pinning from the configuration (`cpus`): one range for every vCPU, or one per vCPU; null when none is set. */
  cpus: string | string[] | null;
  /** Soft affinity from the configuration (`cpus_soft`); null when none is set. */
  cpusSoft: string | string[] | null;
  /** Live placement and affinity of each vCPU (vcpu-list); null when not read (not running, or it failed). */
  vcpuList: DomainVcpu[] | null;
  disks: DomainDisk[];
  nics: DomainNic[];
  /** Whether network-list and block-list were read (a device that is not `live` is then not attached). */
  liveDevices: { nics: boolean; disks: boolean };
  /** From `xl uptime DOMAIN`; null when not running or not read. */
  uptimeSeconds: number | null;
  /** The config file whose content was read (a domain that is not running, or one xl keeps no config for). */
  configFileRead: string | null;
  /** What cannot be shown, and why (a domain that is not running has no domid, uptime or live devices). */
  unavailable: string[];
  /** What could not be read or does not add up: said, never guessed around. */
  notes: string[];
}

/** xenbus states (xen/include/public/io/xenbus.h) in words. */
export function xenbusState(state: number | null): string {
  switch (state) {
    case null:
      return '-';
    case 1:
      return 'initialising';
    case 2:
      return 'init-wait';
    case 3:
      return 'initialised';
    case 4:
      return 'connected';
    case 5:
      return 'closing';
    case 6:
      return 'closed';
    case 7:
      return 'reconfiguring';
    case 8:
      return 'reconfigured';
    default:
      return `state ${state}`;
  }
}
