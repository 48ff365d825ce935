import { stderrSaid } from './stderr.ts';
import type { HostInfo } from './types.ts';

/**
 * `xl info` / `xm info`: `key<padding>: value` per line. Split on the FIRST colon (values hold colons:
 * hw_caps, node_to_cpu), trim both sides, keep empty values as "". Lines without a colon (the `-n` topology
 * tables' continuation rows, stray indentation) are skipped.
 */
export function parseInfo(text: string): HostInfo {
  const info: HostInfo = {};
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) continue;
    info[key] = line.slice(colon + 1).trim();
  }
  return info;
}

/**
 * Memory figures in MiB from info (xl: total_memory/free_memory; old xm: memory). free_memory is taken as printed,
 * never less outstanding_claims: xl prints it as free pages minus outstanding claims already (since claims came, in
 * Xen 4.3), so subtracting them again would count memory claimed by a domain being built twice. xm has no claims
 * field, and xend makes no claims.
 */
export function memoryFromInfo(info: HostInfo): { totalMiB: number | null; freeMiB: number | null } {
  const num = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : null);
  return { totalMiB: num(info['total_memory'] ?? info['memory']), freeMiB: num(info['free_memory']) };
}

/**
 * What /info must say of an answer that exited 0 yet is not whole. `xl info` returns 0 whatever part of it failed:
 * output_physinfo and output_xeninfo print "libxl_physinfo failed." / "libxl_get_version_info failed." on stderr and
 * return (X: tools/xl/xl_info.c main_info), leaving out the CPUs and memory, or the Xen version. Every xl and xm
 * prints nr_cpus, total_memory (old xm: memory) and xen_major: one missing is named, with what stderr said.
 */
export function infoNotes(command: string, info: HostInfo, stdout: string, stderr: string): string[] {
  const why = stderrSaid(stderr);
  if (Object.keys(info).length === 0) {
    const what = stdout.trim() === '' ? 'its output was empty' : 'no `key : value` line it could read';
    return [`${command} printed no figures (${what}${why ? `; ${why}` : ''})`];
  }
  const missing = [
    ...(info['nr_cpus'] === undefined ? ['nr_cpus'] : []),
    ...(info['total_memory'] === undefined && info['memory'] === undefined ? ['total_memory'] : []),
    ...(info['xen_major'] === undefined ? ['xen_major'] : []),
  ];
  if (missing.length > 0) return [`${command} printed no ${missing.join(', ')}${why ? ` (${why})` : ''}`];
  return why ? [`${command} exited 0 but ${why}`] : [];
}
