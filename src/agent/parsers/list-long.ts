import { ParseError } from '../../core/errors.ts';

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
