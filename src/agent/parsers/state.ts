import type { DomainStatus } from '../toolstack/types.ts';

/**
 * What six state flags mean to an operator. xl: r b p s <reason> d, where the 5th is the shutdown reason
 * letter (-rscwS?) and only counts when the 4th is `s`; xm: r b p s c d with the 5th as a crashed flag.
 * Precedence: dying > crashed > shutdown > paused > running > blocked; `------` is runnable (running).
 */
export function domainStatusFromFlags(flags: string, toolstack: 'xl' | 'xm'): DomainStatus {
  const at = (i: number) => flags.charAt(i);
  if (at(5) === 'd') return 'dying';
  const shutdown = at(3) === 's';
  const crashed = toolstack === 'xm' ? at(4) === 'c' : shutdown && at(4) === 'c';
  if (crashed) return 'crashed';
  if (shutdown) return 'shutdown';
  if (at(2) === 'p') return 'paused';
  if (at(0) === 'r') return 'running';
  if (at(1) === 'b') return 'blocked';
  return 'running';
}

/** Statuses in which a domain exists on the host and occupies its name. */
export function isPresent(status: DomainStatus): boolean {
  return status !== 'defined';
}

/** Statuses an operator calls "up": it runs or waits for work. */
export function isUp(status: DomainStatus): boolean {
  return status === 'running' || status === 'blocked' || status === 'paused';
}
