import type { DomainNic } from '../../core/domain-detail.ts';
import { ParseError } from '../../core/errors.ts';
import type { UnparsedLine } from './list.ts';
import { parseSxp, type SxpList, type SxpNode } from './sxp.ts';

/**
 * A domain's configuration as one of three sources states it: `xl list -l DOMAIN` (libxl's JSON), `xm list -l DOMAIN`
 * (xend's SXP), or its config file (xl.cfg syntax, which simple xm/Python config files share). Fields a source does
 * not state are null; what a source states in a shape that cannot be read goes to `notes`, never guessed around.
 */
export interface ConfiguredDisk {
  /** As configured, without xm's `:disk`/`:cdrom` suffix; null when not given. */
  vdev: string | null;
  /** The backing path; null when not given (an empty CD-ROM drive). */
  target: string | null;
  mode: 'rw' | 'ro' | null;
  format: string | null;
  backend: string | null;
  cdrom: boolean;
}

/** A vif as a config says it: the page's interface before it is matched to a live device. */
export type ConfiguredNic = Omit<DomainNic, 'index' | 'state' | 'live' | 'configured'> & {
  /** devid when the source gives one. */
  devid: number | null;
};

export interface ConfiguredDomain {
  domid: number | null;
  name: string | null;
  uuid: string | null;
  type: string | null;
  memoryMiB: number | null;
  maxMemoryMiB: number | null;
  vcpus: number | null;
  maxVcpus: number | null;
  /** One range for every vCPU, or one per vCPU (`any` for a vCPU with none); null when no pinning is set. */
  cpus: string | string[] | null;
  cpusSoft: string | string[] | null;
  disks: ConfiguredDisk[];
  nics: ConfiguredNic[];
  notes: string[];
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const int = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) ? v : null);
const UUID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;
const kibToMib = (k: number | null) => (k === null ? null : Math.floor(k / 1024));
const basename = (p: string | null) => (p === null ? null : (p.split('/').pop() ?? p) || null);

/** `[0,1,2,3,8]` → `0-3,8`: how xl prints a CPU bitmap. */
export function cpuRanges(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && (sorted[j + 1] as number) === (sorted[j] as number) + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** Per-vCPU affinities → one string when they agree; null when none is set. */
function collapse(perVcpu: (string | null)[]): string | string[] | null {
  if (perVcpu.length === 0 || perVcpu.every((a) => a === null)) return null;
  const shown = perVcpu.map((a) => a ?? 'any');
  return shown.every((a) => a === shown[0]) ? (shown[0] as string) : shown;
}

/** A libxl_bitmap as JSON: the set bits' indexes. null when it is not one (said by the caller). */
function bitmap(v: unknown): number[] | null {
  return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0) ? (v as number[]) : null;
}

function jsonDomain(domid: number | null, config: Json): ConfiguredDomain {
  const notes: string[] = [];
  const c = isObj(config['c_info']) ? config['c_info'] : {};
  const b = isObj(config['b_info']) ? config['b_info'] : {};
  const uuid = str(c['uuid']);
  if (uuid !== null && !UUID.test(uuid)) notes.push(`xl list -l: uuid ${JSON.stringify(uuid)} is not a UUID`);
  const avail = b['avail_vcpus'] === undefined ? null : bitmap(b['avail_vcpus']);
  const affinity = (key: string): string | string[] | null => {
    const v = b[key];
    if (v === undefined) return null;
    if (!Array.isArray(v) || v.some((m) => bitmap(m) === null)) {
      notes.push(`xl list -l: could not read b_info.${key}`);
      return null;
    }
    return collapse((v as number[][]).map((m) => (m.length === 0 ? null : cpuRanges(m))));
  };
  let cpus = affinity('vcpu_hard_affinity');
  if (cpus === null && b['cpumap'] !== undefined) {
    const m = bitmap(b['cpumap']);
    if (m === null) notes.push('xl list -l: could not read b_info.cpumap');
    else if (m.length > 0) cpus = cpuRanges(m);
  }
  const list = (key: string): Json[] => {
    const v = config[key];
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every(isObj)) {
      notes.push(`xl list -l: ${key} is not a list of objects`);
      return [];
    }
    return v as Json[];
  };
  const disks = list('disks').map((d): ConfiguredDisk => {
    // libxl writes only what differs from the default: no `readwrite` is readwrite 0 (read-only).
    const rw = d['readwrite'] === undefined ? 0 : int(d['readwrite']);
    if (rw === null) notes.push(`xl list -l: disk ${str(d['vdev']) ?? '?'} has a readwrite of ${JSON.stringify(d['readwrite'])}`);
    return {
      vdev: str(d['vdev']),
      target: str(d['pdev_path']),
      mode: rw === null ? null : rw ? 'rw' : 'ro',
      format: str(d['format']),
      backend: str(d['backend']),
      cdrom: int(d['is_cdrom']) === 1,
    };
  });
  const nics = list('nics').map(
    (n): ConfiguredNic => ({
      devid: int(n['devid']),
      mac: str(n['mac'])?.toLowerCase() ?? null,
      bridge: str(n['bridge']),
      ips: (str(n['ip']) ?? '').split(/\s+/).filter(Boolean),
      script: basename(str(n['script'])),
      gatewaydev: str(n['gatewaydev']),
      vifname: str(n['ifname']),
      model: str(n['model']),
    }),
  );
  const maxVcpus = int(b['max_vcpus']);
  return {
    domid,
    name: str(c['name']),
    uuid: uuid !== null && UUID.test(uuid) ? uuid.toLowerCase() : null,
    type: str(c['type']),
    memoryMiB: kibToMib(int(b['target_memkb'])),
    maxMemoryMiB: kibToMib(int(b['max_memkb'])),
    vcpus: avail ? avail.length : maxVcpus,
    maxVcpus,
    cpus,
    cpusSoft: affinity('vcpu_soft_affinity'),
    disks,
    nics,
    notes,
  };
}

/**
 * `xl list -l DOMAIN`: `[{domid, config}]` (shared/xen-toolstack.md §1.3), or a bare libxl_domain_config. The entry
 * named `name` (or the only one); null when xl printed none for it (xl skips domains whose stored config it cannot
 * retrieve). Not JSON, or not that shape: a ParseError.
 */
export function parseXlDomainConfig(text: string, name: string): ConfiguredDomain | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ParseError('xl list -l', `not JSON (${(error as Error).message}); xl may be set to output_format="sxp"`);
  }
  if (isObj(data) && ('c_info' in data || 'b_info' in data)) return jsonDomain(null, data);
  if (!Array.isArray(data) || !data.every((e) => isObj(e) && isObj(e['config'])))
    throw new ParseError('xl list -l', 'expected an array of {domid, config} or a libxl domain config object');
  const entries = data as { domid?: unknown; config: Json }[];
  const named = entries.filter((e) => isObj(e.config['c_info']) && e.config['c_info']['name'] === name);
  const entry = named.length === 1 ? named[0] : entries.length === 1 && named.length === 0 ? entries[0] : undefined;
  if (named.length > 1) throw new ParseError('xl list -l', `${named.length} entries are named ${name}`);
  return entry ? jsonDomain(int(entry.domid), entry.config) : null;
}

// ---------------------------------------------------------------------------------------------------------------
// xend's SXP

const atomOf = (n: SxpNode | undefined): string | null => (n?.kind === 'atom' ? n.value : null);

/** `(key value)` children of a list, by key (the first of each). */
function children(list: SxpList): Map<string, SxpList> {
  const out = new Map<string, SxpList>();
  for (const c of list.items.slice(1)) {
    const key = c.kind === 'list' ? atomOf(c.items[0]) : null;
    if (c.kind === 'list' && key !== null && !out.has(key)) out.set(key, c);
  }
  return out;
}

/** The one atom of `(key value)`; null when missing or empty. */
function value(fields: Map<string, SxpList>, key: string): string | null {
  const v = fields.get(key)?.items[1];
  return v?.kind === 'atom' && v.value !== '' ? v.value : null;
}

function whole(v: string | null): number | null {
  return v !== null && /^\d{1,15}$/.test(v) ? Number(v) : null;
}

/** An xm/xend disk `uname`: `phy:/dev/vg/x`, `file:/img`, `tap:aio:/img`, `tap2:tapdisk:aio:/img`. */
function splitUname(uname: string): { backend: string | null; target: string } {
  const m = /^((?:[a-z][a-z0-9]*:)+)(.+)$/.exec(uname);
  if (!m) return { backend: null, target: uname };
  return { backend: (m[1] as string).replace(/:$/, ''), target: m[2] as string };
}

/**
 * `xm list -l DOMAIN`: the `(domain …)` named `name` (or the only one); null when there is none. Read: domid, uuid,
 * name, vcpus / online_vcpus, memory / maxmem (MiB), cpus (one list of CPUs per vCPU; an empty one is no pinning),
 * the image's kind (linux = pv, hvm) and the vif / vbd / tap devices. A document that is not SXP: a ParseError.
 */
export function parseXmDomainConfig(text: string, name: string): ConfiguredDomain | null {
  const doms = parseSxp(text, 'xm list -l').filter((n): n is SxpList => n.kind === 'list' && atomOf(n.items[0]) === 'domain');
  const named = doms.filter((d) => value(children(d), 'name') === name);
  const dom = named[0] ?? (doms.length === 1 ? doms[0] : undefined);
  if (!dom) return null;
  const notes: string[] = [];
  const f = children(dom);
  const number = (key: string) => {
    const v = value(f, key);
    const n = whole(v);
    if (v !== null && n === null) notes.push(`xm list -l: (${key} ${v}) is not a whole number`);
    return n;
  };
  const uuid = value(f, 'uuid');
  if (uuid !== null && !UUID.test(uuid)) notes.push(`xm list -l: uuid ${JSON.stringify(uuid)} is not a UUID`);
  let cpus: string | string[] | null = null;
  const cpusEntry = f.get('cpus');
  if (cpusEntry) {
    const lists = cpusEntry.items[1]?.kind === 'list' ? cpusEntry.items[1].items : [];
    const perVcpu = lists.map((l) => {
      if (l.kind !== 'list') return undefined;
      const ids = l.items.map((a) => whole(atomOf(a)));
      return ids.some((x) => x === null) ? undefined : ids.length === 0 ? null : cpuRanges(ids as number[]);
    });
    if (cpusEntry.items.length > 2 || perVcpu.some((p) => p === undefined)) notes.push('xm list -l: could not read (cpus …)');
    else cpus = collapse(perVcpu as (string | null)[]);
  }
  const image = f.get('image')?.items[1];
  const kind = image?.kind === 'list' ? atomOf(image.items[0]) : null;
  const disks: ConfiguredDisk[] = [];
  const nics: ConfiguredNic[] = [];
  for (const c of dom.items.slice(1)) {
    if (c.kind !== 'list' || atomOf(c.items[0]) !== 'device') continue;
    const dev = c.items[1];
    const devKind = dev?.kind === 'list' ? atomOf(dev.items[0]) : null;
    if (dev?.kind !== 'list') continue;
    const d = children(dev);
    if (devKind === 'vif') {
      nics.push({
        devid: null,
        mac: value(d, 'mac')?.toLowerCase() ?? null,
        bridge: value(d, 'bridge'),
        ips: (value(d, 'ip') ?? '').split(/\s+/).filter(Boolean),
        script: basename(value(d, 'script')),
        gatewaydev: null,
        vifname: value(d, 'vifname'),
        model: value(d, 'model'),
      });
    } else if (devKind === 'vbd' || devKind === 'tap' || devKind === 'tap2') {
      const uname = value(d, 'uname');
      const devName = value(d, 'dev');
      const mode = value(d, 'mode');
      const { backend, target } = uname === null ? { backend: null, target: null } : splitUname(uname);
      const readMode = mode === null ? null : /^w!?$/.test(mode) ? 'rw' : mode === 'r' ? 'ro' : undefined;
      if (readMode === undefined) notes.push(`xm list -l: disk ${devName ?? '?'} has mode ${JSON.stringify(mode)}`);
      disks.push({
        vdev: devName?.replace(/:(?:disk|cdrom)$/, '').replace(/^ioemu:/, '') ?? null,
        target,
        mode: readMode ?? null,
        format: null,
        backend,
        cdrom: devName?.endsWith(':cdrom') ?? false,
      });
    }
  }
  return {
    domid: number('domid'),
    name: value(f, 'name'),
    uuid: uuid !== null && UUID.test(uuid) ? uuid.toLowerCase() : null,
    type: kind === 'linux' ? 'pv' : kind === 'hvm' ? 'hvm' : kind,
    memoryMiB: number('memory'),
    maxMemoryMiB: number('maxmem'),
    vcpus: f.has('online_vcpus') ? number('online_vcpus') : number('vcpus'),
    maxVcpus: number('vcpus'),
    cpus,
    cpusSoft: null,
    disks,
    nics,
    notes,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Config files

export type CfgValue = string | number | CfgValue[];

export interface CfgFile {
  /**
   * Each setting's value (the last one wins, as in xl and in Python). None for a setting that a statement it cannot
   * read assigns after its last readable value (`name = name + "-b"`, one in an `if` block): its value is unknown.
   */
  values: Map<string, CfgValue>;
  /** Lines of statements that are not `key = value` in xl.cfg's syntax (Python code in an xm config…). */
  unparsed: UnparsedLine[];
}

type Token =
  | { kind: 'id' | 'str' | 'num' | 'err'; text: string; line: number; endLine?: number }
  | { kind: '=' | '+=' | '[' | ']' | ',' | ';' | 'nl'; text: string; line: number; endLine?: number };

const ESCAPE: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"' };

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text.charAt(i);
    if (c === '\n') {
      out.push({ kind: 'nl', text: c, line });
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') i++;
    else if (c === '#') {
      while (i < text.length && text.charAt(i) !== '\n') i++;
    } else if (c === '"' || c === "'") {
      // Python's triple-quoted string spans lines: an xm config's way to comment out a block of settings, whose
      // lines must not be read as settings.
      const triple = text.startsWith(c.repeat(3), i);
      const delim = triple ? c.repeat(3) : c;
      const startLine = line;
      let s = '';
      let j = i + delim.length;
      let closed = false;
      while (j < text.length && (triple || text.charAt(j) !== '\n')) {
        const d = text.charAt(j);
        if (text.startsWith(delim, j)) {
          closed = true;
          break;
        }
        if (d === '\n') line++;
        if (d === '\\' && j + 1 < text.length && text.charAt(j + 1) !== '\n') {
          const e = text.charAt(j + 1);
          const hex = /^x([0-9A-Fa-f]{2})/.exec(text.slice(j + 1, j + 4));
          const oct = /^[0-7]{1,3}/.exec(text.slice(j + 1, j + 4));
          if (ESCAPE[e] !== undefined) {
            s += ESCAPE[e];
            j += 2;
          } else if (hex) {
            s += String.fromCharCode(Number.parseInt(hex[1] as string, 16));
            j += 4;
          } else if (oct) {
            s += String.fromCharCode(Number.parseInt(oct[0], 8));
            j += 1 + oct[0].length;
          } else {
            s += e;
            j += 2;
          }
          continue;
        }
        s += d;
        j++;
      }
      out.push(
        closed
          ? { kind: 'str', text: s, line: startLine, endLine: line }
          : { kind: 'err', text: text.slice(i, j), line: startLine, endLine: line },
      );
      i = closed ? j + delim.length : j;
    } else if (/[0-9]/.test(c)) {
      const m = /^(?:0[xX][0-9A-Fa-f]+|\d+(?:\.\d+)?)/.exec(text.slice(i)) as RegExpExecArray;
      out.push({ kind: 'num', text: m[0], line });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i)) as RegExpExecArray;
      out.push({ kind: 'id', text: m[0], line });
      i += m[0].length;
    } else if (c === '+' && text.charAt(i + 1) === '=') {
      out.push({ kind: '+=', text: '+=', line });
      i += 2;
    } else if (c === '=' || c === '[' || c === ']' || c === ',' || c === ';') {
      out.push({ kind: c, text: c, line });
      i++;
    } else {
      out.push({ kind: 'err', text: c, line });
      i++;
    }
  }
  return out;
}

/** Applies one `key = value` or `key += value`; false when `+=` joins values Python would refuse to add. */
function assign(values: Map<string, CfgValue>, key: string, op: '=' | '+=', v: CfgValue): boolean {
  const before = values.get(key);
  if (op === '=' || before === undefined) values.set(key, v);
  else if (Array.isArray(before) && Array.isArray(v)) values.set(key, [...before, ...v]);
  else if (typeof before === 'string' && typeof v === 'string') values.set(key, before + v);
  else if (typeof before === 'number' && typeof v === 'number') values.set(key, before + v);
  else return false;
  return true;
}

const AUG_OP = new Set(['+', '-', '*', '/', '%', '&', '|', '^', '@', '<', '>']);

/**
 * The names tokens[from, to) assign to: `NAME =`, `NAME op=` at the start of a statement or after a compound
 * statement's `:` (`if x: name = "a"`); not `NAME == …`, and nothing inside a string.
 */
function assignedKeys(tokens: readonly Token[], from: number, to: number): string[] {
  const keys: string[] = [];
  for (let k = from; k < to; k++) {
    const t = tokens[k] as Token;
    const prev = tokens[k - 1];
    const atStart = k === from || (prev?.kind === 'err' && prev.text === ':') || prev?.kind === ';';
    if (t.kind !== 'id' || !atStart) continue;
    let j = k + 1;
    while (j < to && tokens[j]?.kind === 'err' && AUG_OP.has(tokens[j]?.text ?? '')) j++;
    const eq = tokens[j];
    if ((eq?.kind === '=' || eq?.kind === '+=') && tokens[j + 1]?.kind !== '=') keys.push(t.text);
  }
  return keys;
}

/**
 * A config file in xl.cfg syntax (xl's libxlu_cfg_y.y): `KEY = VALUE` settings ended by a newline or `;`, a VALUE
 * being a number, a "string" / 'string', or a `[ … ]` list of values spanning lines; `+=` appends; `#` comments. An
 * xm config is Python, whose simple files are the same; a statement that is not a setting (an import, an
 * expression, an `if` and its indented block, a triple-quoted string) is reported with its lines, and everything
 * around it is still read.
 */
export function parseConfigFile(text: string): CfgFile {
  const lines = text.split('\n');
  const tokens = tokenize(text);
  const values = new Map<string, CfgValue>();
  const unparsed: UnparsedLine[] = [];
  let i = 0;
  const peek = () => tokens[i];
  const skipNewlines = () => {
    while (peek()?.kind === 'nl') i++;
  };
  const parseValue = (): CfgValue | null => {
    const t = peek();
    if (!t) return null;
    if (t.kind === 'str') {
      i++;
      return t.text;
    }
    if (t.kind === 'num') {
      i++;
      return /^0[xX]/.test(t.text) ? Number.parseInt(t.text, 16) : Number(t.text);
    }
    if (t.kind !== '[') return null;
    i++;
    const items: CfgValue[] = [];
    skipNewlines();
    while (peek()?.kind !== ']') {
      const v = parseValue();
      if (v === null) return null;
      items.push(v);
      skipNewlines();
      if (peek()?.kind === ',') {
        i++;
        skipNewlines();
      } else if (peek()?.kind !== ']') return null;
    }
    i++;
    return items;
  };
  const reported = new Set<number>();
  // The indentation of the last compound statement (`if …:`) whose more indented lines are its block: Python runs
  // them or not, so what they set is unknown.
  let blockIndent: number | null = null;
  while (i < tokens.length) {
    const t = peek() as Token;
    if (t.kind === 'nl' || t.kind === ';') {
      i++;
      continue;
    }
    const start = t.line;
    const from = i;
    const indent = /^[ \t]*/.exec(lines[start - 1] ?? '')?.[0].length ?? 0;
    const inBlock = blockIndent !== null && indent > blockIndent;
    if (!inBlock) blockIndent = null;
    const op = tokens[i + 1];
    let ok = false;
    if (!inBlock && t.kind === 'id' && (op?.kind === '=' || op?.kind === '+=')) {
      i += 2;
      const v = parseValue();
      const end = peek();
      if (v !== null && (end === undefined || end.kind === 'nl' || end.kind === ';')) ok = assign(values, t.text, op.kind, v);
    }
    if (ok) continue;
    // Not a setting: skip to the end of the statement (a newline or `;` outside brackets; a compound statement's
    // `if x: a = 1; b = 2` runs to the end of its line), and report its lines.
    i = from;
    let depth = 0;
    let compound = false;
    let last = start;
    let lastToken: Token = t;
    while (i < tokens.length) {
      const s = tokens[i] as Token;
      if (s.kind === '[' || (s.kind === 'err' && (s.text === '(' || s.text === '{'))) depth++;
      else if (s.kind === ']' || (s.kind === 'err' && (s.text === ')' || s.text === '}'))) depth = Math.max(0, depth - 1);
      else if (s.kind === 'err' && s.text === ':' && depth === 0) compound = true;
      if (depth === 0 && (s.kind === 'nl' || (s.kind === ';' && !compound))) break;
      last = s.endLine ?? s.line;
      lastToken = s;
      i++;
    }
    // What the statement assigns is unknown now (`name = name + "-prod"`, `memory = 512 * 2`, a conditional one):
    // the value read before it is not the one the toolstack gets.
    for (const key of assignedKeys(tokens, from, i)) values.delete(key);
    if (lastToken.kind === 'err' && lastToken.text === ':') blockIndent = indent;
    else if (!inBlock) blockIndent = null;
    for (let n = start; n <= last; n++) {
      const line = (lines[n - 1] ?? '').replace(/\r$/, '');
      if (line.trim() !== '' && !reported.has(n)) {
        reported.add(n);
        unparsed.push({ lineNumber: n, line });
      }
    }
  }
  return { values, unparsed };
}

const KNOWN_PREFIX = new Set([
  'raw',
  'qcow',
  'qcow2',
  'vhd',
  'iscsi',
  'nbd',
  'enbd',
  'drbd',
  'tapdisk',
  'tap',
  'tap2',
  'aio',
  'ioemu',
  'file',
  'phy',
]);

const KNOWN_FORMATS = new Set(['raw', 'qcow', 'qcow2', 'vhd', 'qed', 'empty']);
const DISK_FLAGS = new Set([
  'cdrom',
  'discard',
  'no-discard',
  'direct-io-safe',
  'colo',
  'no-colo',
  'trusted',
  'untrusted',
  'grant_usage=1',
  'grant_usage=0',
]);
const DISK_KEYS = new Set([
  'format',
  'access',
  'backend',
  'backendtype',
  'vdev',
  'script',
  'devtype',
  'specification',
  'colo-host',
  'colo-port',
  'colo-export',
  'active-disk',
  'hidden-disk',
]);

function access(s: string): 'rw' | 'ro' | undefined {
  if (s === '' || s === 'w' || s === 'rw' || s === 'w!') return 'rw';
  if (s === 'r' || s === 'ro') return 'ro';
  return undefined;
}

/**
 * One disk spec (xl-disk-configuration(5), as xl's lexer libxlu_disk_l.l reads it): `key=value` settings, flags, the
 * deprecated prefixes (`phy:`, `file:`, `tap:aio:`, `raw:`…) and positional target, format, vdev, access (format is
 * skipped after a prefix: `phy:/dev/vg/x,xvda,w`); `target=` takes the rest. What xl would refuse: a reason string.
 */
export function parseDiskSpec(spec: string): ConfiguredDisk | string {
  const disk: ConfiguredDisk = { vdev: null, target: null, mode: 'rw', format: null, backend: null, cdrom: false };
  let targetSet = false;
  let formatSet = false;
  let accessSet = false;
  let prefix = false;
  let rest = spec;
  for (;;) {
    rest = rest.replace(/^[ \t\n]+/, '');
    if (rest === '') break;
    if (rest.startsWith('target=')) {
      disk.target = rest.slice('target='.length).replace(/,$/, '') || null;
      targetSet = true;
      break;
    }
    // A deprecated prefix (`phy:`, `tap:aio:`, `raw:`…) at the start of a parameter; an unknown one followed by
    // nothing or by something other than a lower-case letter or digit is refused (`xvda:disk` is a positional).
    const pre = /^([a-z][a-z0-9]*):/.exec(rest);
    if (pre) {
      const word = pre[1] as string;
      if (KNOWN_PREFIX.has(word)) {
        prefix = true;
        if (word === 'raw' || word === 'qcow' || word === 'qcow2' || word === 'vhd') {
          disk.format = word;
          formatSet = true;
        } else if (word === 'phy' || word === 'file' || word === 'tap' || word === 'tap2') disk.backend ??= word;
        rest = rest.slice(pre[0].length);
        continue;
      }
      if (!/[a-z0-9]/.test(rest.charAt(pre[0].length))) return `unknown deprecated disk prefix ${JSON.stringify(`${word}:`)}`;
    }
    const comma = rest.indexOf(',');
    const token = comma < 0 ? rest : rest.slice(0, comma);
    rest = comma < 0 ? '' : rest.slice(comma + 1);
    if (DISK_FLAGS.has(token)) {
      if (token === 'cdrom') disk.cdrom = true;
      continue;
    }
    const kv = /^([a-z][-a-z0-9_]*)=(.*)$/.exec(token);
    if (kv) {
      const [, key, val] = kv as unknown as [string, string, string];
      if (!DISK_KEYS.has(key)) return `unknown parameter ${JSON.stringify(token)}`;
      if (key === 'format') {
        if (val !== '' && !KNOWN_FORMATS.has(val)) return `unknown format ${JSON.stringify(val)}`;
        disk.format = val || 'raw';
        formatSet = true;
      } else if (key === 'access') {
        const a = access(val);
        if (!a) return `unknown access ${JSON.stringify(val)}`;
        disk.mode = a;
        accessSet = true;
      } else if (key === 'vdev') disk.vdev = val || null;
      else if (key === 'backendtype') disk.backend = val || null;
      else if (key === 'devtype') {
        if (val !== 'cdrom' && val !== 'disk') return `unknown devtype ${JSON.stringify(val)}`;
        disk.cdrom = val === 'cdrom';
      }
      continue;
    }
    if (token.includes('=')) return `bad disk syntax ${JSON.stringify(token)}`;
    if (!targetSet) {
      disk.target = token || null;
      targetSet = true;
    } else if (!prefix && !formatSet) {
      if (disk.target === null && /:(?:cdrom|disk)$/.test(token)) {
        setVdev(disk, token);
        disk.format = 'empty';
      } else if (token === '' || KNOWN_FORMATS.has(token)) disk.format = token || 'raw';
      else return `unknown format ${JSON.stringify(token)} (the second positional is the format: ${JSON.stringify(spec)})`;
      formatSet = true;
    } else if (disk.vdev === null) setVdev(disk, token);
    else if (!accessSet) {
      const a = access(token);
      if (!a) return `unknown access ${JSON.stringify(token)}`;
      disk.mode = a;
      accessSet = true;
    } else return `too many positional parameters in ${JSON.stringify(spec)}`;
  }
  if (disk.vdev === null) return `no vdev in ${JSON.stringify(spec)}`;
  return disk;
}

function setVdev(disk: ConfiguredDisk, token: string): void {
  const m = /^(.*):(cdrom|disk)$/.exec(token);
  disk.vdev = (m ? (m[1] as string) : token) || null;
  if (m) disk.cdrom = m[2] === 'cdrom';
}

/** One vif spec (xl-network-configuration(5)): comma-separated `key=value`; an empty spec is all defaults. */
export function parseVifSpec(spec: string): ConfiguredNic | string {
  const nic: ConfiguredNic = {
    devid: null,
    mac: null,
    bridge: null,
    ips: [],
    script: null,
    gatewaydev: null,
    vifname: null,
    model: null,
  };
  for (const raw of spec.split(',')) {
    const token = raw.trim();
    if (token === '') continue;
    const kv = /^([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(.*)$/.exec(token);
    if (!kv) return `${JSON.stringify(token)} is not key=value`;
    const [, key, val] = kv as unknown as [string, string, string];
    switch (key) {
      case 'mac':
        if (!/^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}$/.test(val)) return `mac ${JSON.stringify(val)} is not a MAC address`;
        nic.mac = val.toLowerCase();
        break;
      case 'bridge':
        nic.bridge = val || null;
        break;
      case 'ip':
        nic.ips = val.split(/\s+/).filter(Boolean);
        break;
      case 'script':
        nic.script = basename(val || null);
        break;
      case 'gatewaydev':
        nic.gatewaydev = val || null;
        break;
      case 'vifname':
        nic.vifname = val || null;
        break;
      case 'model':
        nic.model = val || null;
        break;
      case 'devid':
        if (!/^\d+$/.test(val)) return `devid ${JSON.stringify(val)} is not a number`;
        nic.devid = Number(val);
        break;
      default:
        // type, rate, backend, mtu, … are valid settings /show does not display.
        break;
    }
  }
  return nic;
}

/** A value that may be a number or a numeric string (xl reads both). */
function numeric(v: CfgValue | undefined): number | null | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return Number.isInteger(v) ? v : null;
  if (typeof v === 'string' && /^\d+$/.test(v.trim())) return Number(v.trim());
  return null;
}

/** `cpus` / `cpus_soft`: "2-3", 2, or a list with one entry per vCPU. */
function pinning(v: CfgValue | undefined): string | string[] | null | undefined {
  if (v === undefined) return undefined;
  const one = (x: CfgValue): string | null => (typeof x === 'number' ? String(x) : typeof x === 'string' && x.trim() ? x.trim() : null);
  if (Array.isArray(v)) {
    const all = v.map(one);
    if (all.some((x) => x === null)) return null;
    return collapse(all);
  }
  return one(v);
}

/** Unreadable lines of a config file named one by one; past that they are counted. */
const UNPARSED_LINES_NOTED = 20;
/** How much of an unreadable line a note quotes. */
const LINE_CHARS = 160;
const cutLine = (line: string) => (line.length > LINE_CHARS ? `${line.slice(0, LINE_CHARS - 1)}…` : line);

const NOTHING_CONFIGURED = {
  domid: null,
  name: null,
  uuid: null,
  type: null,
  memoryMiB: null,
  maxMemoryMiB: null,
  vcpus: null,
  maxVcpus: null,
  cpus: null,
  cpusSoft: null,
} as const;

/** The configuration a config file states (see parseConfigFile), with what could not be read in `notes`. */
export function configuredFromFile(text: string, path: string): ConfiguredDomain {
  if (text.includes('\0'))
    return { ...NOTHING_CONFIGURED, disks: [], nics: [], notes: [`${path} is not a text file (it holds NUL bytes): not read`] };
  const { values, unparsed } = parseConfigFile(text);
  // A file that is mostly not settings (a script, a log saved under the name) would bury the page in notes.
  const notes = unparsed
    .slice(0, UNPARSED_LINES_NOTED)
    .map((u) => `${path}:${u.lineNumber}: could not read ${JSON.stringify(cutLine(u.line.trim()))}`);
  if (unparsed.length > UNPARSED_LINES_NOTED)
    notes.push(`${path}: … and ${unparsed.length - UNPARSED_LINES_NOTED} more lines it could not read (not listed)`);
  const read = <T>(key: string, v: T | null | undefined, what: string): T | null => {
    if (v === null) notes.push(`${path}: ${key} is not ${what}: ${JSON.stringify(values.get(key))}`);
    return v ?? null;
  };
  const text1 = (key: string) => {
    const v = values.get(key);
    return read(key, v === undefined ? undefined : typeof v === 'string' ? v : null, 'a string');
  };
  const uuid = text1('uuid');
  if (uuid !== null && !UUID.test(uuid)) notes.push(`${path}: uuid ${JSON.stringify(uuid)} is not a UUID`);
  const builder = text1('builder');
  const strings = (key: string): string[] => {
    const v = values.get(key);
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
      notes.push(`${path}: ${key} is not a list of strings`);
      return [];
    }
    return v as string[];
  };
  const disks: ConfiguredDisk[] = [];
  for (const spec of strings('disk')) {
    const d = parseDiskSpec(spec);
    if (typeof d === 'string') notes.push(`${path}: could not read the disk ${JSON.stringify(spec)}: ${d}`);
    else disks.push(d);
  }
  const nics: ConfiguredNic[] = [];
  for (const spec of strings('vif')) {
    const n = parseVifSpec(spec);
    if (typeof n === 'string') notes.push(`${path}: could not read the vif ${JSON.stringify(spec)}: ${n}`);
    else nics.push(n);
  }
  const vcpus = read('vcpus', numeric(values.get('vcpus')), 'a number');
  return {
    domid: null,
    name: text1('name'),
    uuid: uuid !== null && UUID.test(uuid) ? uuid.toLowerCase() : null,
    type: text1('type') ?? (builder === 'hvm' ? 'hvm' : builder === 'generic' ? 'pv' : null),
    memoryMiB: read('memory', numeric(values.get('memory')), 'a number'),
    maxMemoryMiB: read('maxmem', numeric(values.get('maxmem')), 'a number'),
    vcpus,
    maxVcpus: read('maxvcpus', numeric(values.get('maxvcpus')), 'a number'),
    cpus: read('cpus', pinning(values.get('cpus')), 'a CPU list'),
    cpusSoft: read('cpus_soft', pinning(values.get('cpus_soft')), 'a CPU list'),
    disks,
    nics,
    notes,
  };
}
