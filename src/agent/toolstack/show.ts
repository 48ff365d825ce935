import { countText, cutAt } from '../../core/cut-text.ts';
import type { DomainDetail, DomainDisk, DomainNic, DomainVcpu } from '../../core/domain-detail.ts';
import { redactSecrets } from '../../core/log.ts';
import { DOM0_NAME } from '../../core/names.ts';
import type { DomainSummary, ToolstackKind } from '../../core/xen.ts';
import {
  type BlockListRow,
  type NetworkListRow,
  parseBlockList,
  parseNetworkList,
  parseVcpuList,
  type TableParse,
  vdevName,
  vdevNumber,
} from '../parsers/device-lists.ts';
import {
  type ConfiguredDomain,
  type ConfiguredNic,
  configuredFromFile,
  parseXlDomainConfig,
  parseXmDomainConfig,
} from '../parsers/domain-config.ts';
import { parseUptime } from '../parsers/uptime.ts';
import type { RunResult } from '../ssh/types.ts';

/** What `/show` read in its one round trip (src/agent/toolstack/driver.ts `show`), for assembleDetail. */
export interface ShowReadings {
  kind: ToolstackKind;
  host: string;
  domain: string;
  configDirs: readonly string[];
  /** The domain's row of the host's list (with its config file and autostart), null when the list has none. */
  summary: DomainSummary | null;
  listLong: RunResult | undefined;
  networkList: RunResult | undefined;
  blockList: RunResult | undefined;
  vcpuList: RunResult | undefined;
  uptime: RunResult | undefined;
  /** `cat` of the config files that were read, by path (only DIR/NAME.cfg with DIR one of configDirs). */
  configFiles: ReadonlyMap<string, RunResult | undefined>;
}

/**
 * A setting whose name says it holds a secret (`vncpasswd=`, `spicepasswd =`, block-iscsi's `password=`, Ceph's
 * `key=` in an rbd target, xend's `(vncpasswd …)`), and its value: to the closing quote when quoted (Python's `r"…"`
 * too, and `\"…\"` in a note that quotes a line as JSON), else to the next `,` `;`, bare quote or bracket.
 */
const SECRET_NAME = String.raw`[\w-]*(?:passw(?:or)?d|passphrase|secret|token|credential)[\w-]*|(?:[\w-]*[-_])?key(?![\w-]*map)[\w-]*`;
const SECRET_SETTING = new RegExp(
  String.raw`((?:^|[^\w-])(?:${SECRET_NAME})\s*=\s*)(?:[rRuUbB]{0,2}(?:\\"(?:[^\\\n]|\\[^"\n])*(?:\\")?|"[^"\n]*"?|'[^'\n]*'?)|(?:[^,;'"()\]\\\n]|\\.)*)`,
  'gi',
);
const SECRET_SXP = new RegExp(String.raw`(\((?:${SECRET_NAME})\s+)[^()\n]*`, 'gi');

/**
 * Text of a config that goes to chat (a disk's target, a note quoting a line) without its secrets: passwords in URLs
 * (`iscsi://user:password@portal/…`) and the values of secret-named settings.
 */
export function hideSecrets(text: string): string {
  return redactSecrets(text).replace(SECRET_SETTING, '$1[redacted]').replace(SECRET_SXP, '$1[redacted]');
}

function firstLine(s: string): string {
  return (
    s
      .split('\n')
      .find((l) => l.trim())
      ?.trim() ?? ''
  );
}

/**
 * The domain's page from what was read: the stored configuration of a running domain (`xl list -l` / `xm list -l`),
 * else its config file; merged with the live vif, disk and vCPU lists and its uptime. Every command that failed and
 * every line that could not be read becomes a note; a domain that is not running says what cannot be shown.
 */
export function assembleDetail(r: ShowReadings): DomainDetail {
  const { kind, domain: name, summary: s } = r;
  const notes: string[] = [];
  const unavailable: string[] = [];
  const running = s !== null && s.status !== 'defined';
  const command = (sub: string) => `${kind} ${sub} ${name}`;
  /** A command's output, or null (with a note) when it did not answer or failed. */
  const output = (sub: string, result: RunResult | undefined): string | null => {
    if (!result) {
      notes.push(`${command(sub)} gave no answer`);
      return null;
    }
    if (result.code !== 0) {
      notes.push(`${command(sub)} failed (exit ${result.code})${firstLine(result.stderr) ? `: ${firstLine(result.stderr)}` : ''}`);
      return null;
    }
    return result.stdout;
  };
  const rows = <Row>(sub: string, result: RunResult | undefined, parse: (t: string) => TableParse<Row>): Row[] | null => {
    const text = output(sub, result);
    if (text === null) return null;
    const p = parse(text);
    for (const u of p.unparsed) notes.push(`could not read this line of ${command(sub)}: ${JSON.stringify(u.line)}`);
    return p.rows;
  };

  let configured: ConfiguredDomain | null = null;
  let source: DomainDetail['source'] = null;
  let configFileRead: string | null = null;
  if (running) {
    const text = output('list -l', r.listLong);
    if (text !== null) {
      try {
        configured = kind === 'xl' ? parseXlDomainConfig(text, name) : parseXmDomainConfig(text, name);
        if (!configured && name !== DOM0_NAME)
          notes.push(`${command('list -l')} holds no configuration for it (${kind} keeps none for a domain it did not create)`);
      } catch (error) {
        notes.push(`could not read ${command('list -l')}: ${(error as Error).message}`);
      }
    }
    if (configured) {
      source = 'toolstack';
      notes.push(...configured.notes);
      if (configured.domid !== null && s.id !== null && configured.domid !== s.id)
        notes.push(`${command('list -l')} shows domid ${configured.domid} but the list ${s.id}: restarted between the two?`);
    }
  }
  if (!configured && s?.configPath) {
    const path = s.configPath;
    const result = r.configFiles.get(path);
    if (!r.configFiles.has(path)) {
      unavailable.push(`its config file ${path} is outside the config dirs (${r.configDirs.join(', ')}): xenops does not read it`);
    } else if (result?.code !== 0) {
      notes.push(`could not read ${path}${result ? `: ${firstLine(result.stderr) || `exit ${result.code}`}` : ': no answer'}`);
    } else {
      configured = configuredFromFile(result.stdout, path);
      source = 'config-file';
      configFileRead = path;
      notes.push(...configured.notes);
      if (configured.name !== null && configured.name !== name) notes.push(`${path} names the domain ${configured.name}, not ${name}`);
    }
  }
  if (!running) {
    unavailable.unshift(
      s
        ? `${name} is not running: it has no domid, uptime, live vCPU placement or device state`
        : `${name} is neither running nor defined on ${r.host}`,
    );
  }

  let vcpuList: DomainVcpu[] | null = null;
  let uptimeSeconds: number | null = null;
  let liveNics: NetworkListRow[] | null = null;
  let liveDisks: BlockListRow[] | null = null;
  if (running) {
    liveNics = rows('network-list', r.networkList, parseNetworkList);
    liveDisks = rows('block-list', r.blockList, parseBlockList);
    const vcpus = rows('vcpu-list', r.vcpuList, parseVcpuList);
    if (vcpus) {
      const mine = vcpus.filter((v) => v.name === name || v.id === s.id);
      vcpuList = mine.map(({ vcpu, cpu, state, timeSeconds, hard, soft }) => ({ vcpu, cpu, state, timeSeconds, hard, soft }));
    }
    const up = output('uptime', r.uptime);
    if (up !== null) {
      const parsed = parseUptime(up);
      for (const u of parsed.unparsed) notes.push(`could not read this line of ${command('uptime')}: ${JSON.stringify(u.line)}`);
      const row = parsed.rows.find((u) => u.name === name);
      if (row) uptimeSeconds = row.uptimeSeconds;
      else if (parsed.unparsed.length === 0) notes.push(`${command('uptime')} printed no row for it`);
    }
  }

  const uuid = s?.uuid ?? configured?.uuid ?? null;
  if (s?.uuid && configured?.uuid && s.uuid !== configured.uuid)
    notes.push(`the list shows UUID ${s.uuid}, ${source === 'config-file' ? configFileRead : command('list -l')} ${configured.uuid}`);
  return {
    name,
    summary: s,
    source,
    uuid,
    type: configured?.type ?? null,
    memoryMiB: running ? s.memoryMiB : (configured?.memoryMiB ?? null),
    maxMemoryMiB: configured?.maxMemoryMiB ?? null,
    vcpus: running ? s.vcpus : (configured?.vcpus ?? null),
    maxVcpus: configured?.maxVcpus ?? null,
    cpus: configured?.cpus ?? null,
    cpusSoft: configured?.cpusSoft ?? null,
    vcpuList,
    disks: mergeDisks(configured, liveDisks, notes),
    nics: mergeNics(configured?.nics ?? [], liveNics, notes),
    liveDevices: { nics: liveNics !== null, disks: liveDisks !== null },
    uptimeSeconds,
    configFileRead,
    unavailable,
    notes: keptNotes(notes),
  };
}

/** Notes a page keeps; past them only their number is said (and so in the attachment: it is the whole page). */
export const SHOW_NOTES_KEPT = 50;
/** The most of one note a page keeps (one quotes a host's line, which may be of any length). */
export const SHOW_NOTE_CHARS = 1000;

/**
 * Every line /show cannot read is a note: a config with thousands of unreadable vifs, or a toolstack printing a dump,
 * would make thousands of them, each quoting a line of any length, carried through Redis into the page and its
 * attachment. Secrets are hidden before any cut, which could leave a setting's name behind without its value.
 */
function keptNotes(notes: string[]): string[] {
  const kept = notes.slice(0, SHOW_NOTES_KEPT).map((n) => {
    const shown = hideSecrets(n);
    const c = cutAt(shown, SHOW_NOTE_CHARS);
    return c ? `${c.kept} … [${countText(c.left)} more characters]` : shown;
  });
  if (notes.length > SHOW_NOTES_KEPT) kept.push(`… and ${countText(notes.length - SHOW_NOTES_KEPT)} more notes (not listed)`);
  return kept;
}

/** Configured vifs by devid (or position) joined with network-list's rows by Idx. */
function mergeNics(configured: ConfiguredNic[], live: NetworkListRow[] | null, notes: string[]): DomainNic[] {
  const byIndex = new Map<number, ConfiguredNic>();
  configured.forEach((n, pos) => {
    const index = n.devid ?? pos;
    if (byIndex.has(index)) notes.push(`two vifs of the configuration have devid ${index}`);
    else byIndex.set(index, n);
  });
  const indexes = [...new Set([...byIndex.keys(), ...(live ?? []).map((l) => l.index)])].sort((a, b) => a - b);
  return indexes.map((index) => {
    const c = byIndex.get(index);
    const l = live?.find((x) => x.index === index);
    if (c?.mac && l?.mac && c.mac !== l.mac) notes.push(`vif ${index}: the configuration says MAC ${c.mac}, network-list ${l.mac}`);
    return {
      index,
      mac: l?.mac ?? c?.mac ?? null,
      bridge: c?.bridge ?? null,
      ips: c?.ips ?? [],
      script: c?.script ?? null,
      gatewaydev: c?.gatewaydev ?? null,
      vifname: c?.vifname ?? null,
      model: c?.model ?? null,
      state: l?.state ?? null,
      configured: c !== undefined,
      live: l !== undefined,
    };
  });
}

/** Configured disks joined with block-list's rows by device number (xvda = 51712). */
function mergeDisks(configured: ConfiguredDomain | null, live: BlockListRow[] | null, notes: string[]): DomainDisk[] {
  const used = new Set<number>();
  const disks: DomainDisk[] = (configured?.disks ?? []).map((c) => {
    const devid = c.vdev === null ? null : vdevNumber(c.vdev);
    if (c.vdev !== null && devid === null && live)
      notes.push(`cannot tell which block-list row is ${c.vdev} (a device name of no known scheme)`);
    const l = devid === null ? undefined : live?.find((x) => x.devid === devid);
    if (l) used.add(l.devid);
    const target = c.target === null ? null : hideSecrets(c.target);
    return { ...c, target, devid, state: l?.state ?? null, configured: true, live: l !== undefined };
  });
  for (const l of live ?? []) {
    if (used.has(l.devid)) continue;
    disks.push({
      vdev: vdevName(l.devid),
      devid: l.devid,
      target: null,
      mode: null,
      format: null,
      backend: null,
      cdrom: false,
      state: l.state,
      configured: false,
      live: true,
    });
  }
  return disks;
}
