import { ParseError } from '../../core/errors.ts';
import { describeSxp, parseSxp, type SxpAtom, type SxpList, sxpError } from './sxp.ts';

export interface LongDomain {
  domid: number | null;
  name: string | null;
  uuid: string | null;
  type: string | null;
  maxVcpus: number | null;
  maxMemKiB: number | null;
  targetMemKiB: number | null;
  disks: { vdev: string | null; target: string | null }[];
  nics: { mac: string | null; bridge: string | null }[];
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const int = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function summarize(domid: number | null, config: Json): LongDomain {
  const c = obj(config['c_info']);
  const b = obj(config['b_info']);
  const list = (v: unknown) => (Array.isArray(v) ? v.map(obj) : []);
  return {
    domid,
    name: str(c['name']),
    uuid: str(c['uuid']),
    type: str(c['type']),
    maxVcpus: int(b['max_vcpus']),
    maxMemKiB: int(b['max_memkb']),
    targetMemKiB: int(b['target_memkb']),
    disks: list(config['disks']).map((d) => ({ vdev: str(d['vdev']), target: str(d['pdev_path']) ?? str(d['target']) })),
    nics: list(config['nics']).map((n) => ({ mac: str(n['mac']), bridge: str(n['bridge']) })),
  };
}

/**
 * `xl list -l` JSON: an array of `{domid, config}`; also a bare libxl_domain_config object (`xl create -n`).
 * Domains xl could not read a config for are simply absent from its output; missing fields become null.
 */
export function parseXlListLong(text: string): LongDomain[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ParseError('xl list -l', `not JSON (${(error as Error).message}); xl may be set to output_format="sxp"`);
  }
  if (Array.isArray(data)) return data.map((entry) => summarize(int(obj(entry)['domid']), obj(obj(entry)['config'])));
  const o = obj(data);
  if ('c_info' in o || 'b_info' in o) return [summarize(null, o)];
  throw new ParseError('xl list -l', 'expected an array of {domid, config} or a libxl domain config object');
}

/** One domain of `xm list -l`: the fields xenops reads, null where the output has none. */
export interface XmLongDomain {
  /** Absent for an inactive xend-managed domain (`xm new`, not started): xend omits `(domid …)` then. */
  domid: number | null;
  name: string | null;
  /** Lower case, 8-4-4-4-12. */
  uuid: string | null;
  /** `(memory N)`: the current target, MiB. */
  memoryMiB: number | null;
  /** `(maxmem N)`, MiB. */
  maxMemoryMiB: number | null;
  vcpus: number | null;
  /** xend's six letters (r b p s c d, `-` where unset); absent for inactive managed domains. */
  state: string | null;
  cpuSeconds: number | null;
}

const XM_LONG = 'xm list -l';
const UUID_TEXT = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;
/** XendConfig CONFIG_OLD_DOM_STATES: running, blocked, paused, shutdown, crashed, dying. */
const XM_STATE = /^[r-][b-][p-][s-][c-][d-]$/;
/** Python's str() of an int or a float (`184000.41332`, `1e-05`). */
const DECIMAL = /^\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const READ_KEYS = new Set(['domid', 'name', 'uuid', 'memory', 'maxmem', 'vcpus', 'state', 'cpu_time']);

/**
 * `xm list -l` / `xm list --long`: xend's SXP, one `(domain (domid 0) (uuid …) (name …) … )` per domain
 * (shared/xen-toolstack.md §1.3). Only the domain's own `(key value)` entries are read — the `(uuid …)` inside
 * `(device (vif …))` is a device's. A key missing, or printed empty like `(name )`, is null; a value that is there
 * but is not what xend prints (a domid that is not a number, a UUID of the wrong shape, a key given twice, a list
 * where a value belongs) throws a ParseError naming it, as does any document that is not a sequence of
 * `(domain …)` lists (truncated output, unbalanced parentheses, other text). Empty output is no domains.
 */
export function parseXmListLong(text: string): XmLongDomain[] {
  return parseSxp(text, XM_LONG).map((node, index) => {
    const fail = (message: string, line: number): never => {
      throw sxpError(XM_LONG, text, message, line);
    };
    const head = node.kind === 'list' ? node.items[0] : undefined;
    if (node.kind !== 'list' || head?.kind !== 'atom' || head.quoted || head.value !== 'domain')
      return fail(`expected a (domain …) list, found ${describeSxp(node)}`, node.line);
    const where = `in domain ${index + 1} (opened on line ${node.line})`;
    const fields = new Map<string, SxpList>();
    for (const child of node.items.slice(1)) {
      const key = child.kind === 'list' ? child.items[0] : undefined;
      if (child.kind !== 'list' || key?.kind !== 'atom')
        return fail(`${where}: expected a (key value …) entry, found ${describeSxp(child)}`, child.line);
      if (!READ_KEYS.has(key.value)) continue;
      if (fields.has(key.value)) return fail(`${where}: (${key.value} …) appears twice`, child.line);
      fields.set(key.value, child);
    }
    /** The one atom of (key value); null for a missing key or xend's empty string `(key )`. */
    const value = (key: string): SxpAtom | null => {
      const entry = fields.get(key);
      if (!entry || entry.items.length === 1) return null;
      const v = entry.items[1];
      if (entry.items.length > 2 || v?.kind !== 'atom')
        return fail(
          `${where}: (${key} …) should hold one value, found ${entry.items.length - 1}: ${entry.items.slice(1).map(describeSxp).join(' ')}`,
          entry.line,
        );
      return v.value === '' ? null : v;
    };
    const matching = (key: string, pattern: RegExp, expected: string): string | null => {
      const v = value(key);
      if (v && !pattern.test(v.value)) return fail(`${where}: ${key} ${JSON.stringify(v.value)} is not ${expected}`, v.line);
      return v?.value ?? null;
    };
    const whole = (key: string): number | null => {
      const v = matching(key, /^\d{1,15}$/, 'a whole number');
      return v === null ? null : Number(v);
    };
    const decimal = matching('cpu_time', DECIMAL, 'a number of seconds');
    return {
      domid: whole('domid'),
      name: value('name')?.value ?? null,
      uuid: matching('uuid', UUID_TEXT, 'a UUID')?.toLowerCase() ?? null,
      memoryMiB: whole('memory'),
      maxMemoryMiB: whole('maxmem'),
      vcpus: whole('vcpus'),
      state: matching('state', XM_STATE, 'six xm state letters (rbpscd or -)'),
      cpuSeconds: decimal === null ? null : Number(decimal),
    };
  });
}

/**
 * The UUID `xm list -l` gives the domain of an `xm list` row: the one long entry of that name, whose domid agrees
 * when both have one (a domain destroyed and re-created between the two commands has a new id, and may have a new
 * UUID). None, or several that disagree: null — never a guess.
 */
export function xmUuidOf(long: readonly XmLongDomain[], row: { name: string; id: number | null }): string | null {
  const uuids = new Set(
    long.filter((d) => d.name === row.name && (row.id === null || d.domid === null || d.domid === row.id)).map((d) => d.uuid),
  );
  const [only] = uuids;
  return uuids.size === 1 ? (only ?? null) : null;
}
