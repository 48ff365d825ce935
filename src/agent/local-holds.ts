import type { LockHolder } from '../queue/coordination.ts';

/**
 * The domains this agent process is changing right now, by name (as the Redis lock is keyed). The Redis lock is what
 * keeps two requests apart across bots and agents; this keeps them apart here when that lock is gone while a job
 * runs — Redis lost its data (a restart without it, a flush, a failover to a replica that lagged) and the request
 * was answered "outcome unknown", so a retry is the natural next step while the first command still runs on the
 * host. The lock comes back at the job's next renewal; until then, this agent refuses the second one itself.
 */
export class LocalHolds {
  private readonly held = new Map<string, LockHolder>();

  /** Takes the domain for this request; the holder that has it instead, when another request does. */
  take(holder: LockHolder): LockHolder | null {
    const current = this.held.get(holder.domain);
    if (current && current.requestId !== holder.requestId) return current;
    this.held.set(holder.domain, holder);
    return null;
  }

  drop(domain: string, requestId: string): void {
    if (this.held.get(domain)?.requestId === requestId) this.held.delete(domain);
  }
}
