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
