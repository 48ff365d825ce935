import type { JobOp } from '../queue/jobs.ts';
import type { HostOutcome } from './define-command.ts';
import { type Reply, reply } from './reply.ts';

/**
 * Where a guest named bare runs now, found after the host it was sent to (where the bot last heard it run) said it
 * does not run it there: it moved, or was started elsewhere, outside xenops. `on`: hosts the asker may act on it.
 */
export interface RunsElsewhere {
  domain: string;
  from: string;
  on: readonly string[];
}

/**
 * Whether a domain job's outcome says the guest does not run on its host, and the job changed nothing there: the
 * host has no such domain, or only a stopped copy (what `xl migrate` leaves behind).
 */
export function missedOn(op: JobOp, o: HostOutcome<JobOp>): boolean {
  if (!o.ok) return o.failure.code === 'domain.notFound';
  const r = o.result as { outcome?: unknown; summary?: { status?: unknown } | null; status?: unknown };
  switch (op) {
    case 'domain.stop':
      return r.outcome === 'already-stopped';
    case 'domain.reboot':
    case 'domain.pause':
    case 'domain.unpause':
      return r.outcome === 'not-running';
    case 'domain.show':
      return r.summary === null || r.summary?.status === 'defined';
    case 'domain.console':
      return r.status === 'defined' || r.status === 'absent';
    default:
      return false;
  }
}

/**
 * Where guests of that name run now, and what to type to act on one there. Nothing is re-aimed at the other host: the
 * asker decides.
 */
function runsNow(command: string, moved: RunsElsewhere, force: boolean): { where: string; next: string } {
  const { domain, on } = moved;
  const again = (host: string) => `/${command} ${host}:${domain}${force ? ' --force' : ''}`;
  const next = on.length === 1 && on[0] !== undefined ? again(on[0]) : `say which: ${on.map(again).join(' or ')}`;
  return { where: `${on.length === 1 ? 'a guest of that name runs' : 'guests of that name run'} on ${on.join(' and ')} now`, next };
}

/**
 * The answer to a command that reached the host the guest left: true (it runs elsewhere, not "not running"), and
 * what to type to act on it there.
 */
export function runsElsewhereReply(command: string, mutating: boolean, moved: RunsElsewhere, force = false): Reply {
  const { where, next } = runsNow(command, moved, force);
  return reply.result(
    `${moved.domain} is no longer running on ${moved.from}: ${where} (moved or started there outside xenops)`,
    [reply.text(mutating ? `nothing was done — ${next}` : next)],
    { tone: 'info' },
  );
}

/**
 * An approved request refused because its guest had left the host by then (its render says so, with the approval):
 * where it runs now added. Not "outside xenops": it may have been moved by xenops after the approval was asked for.
 */
export function refusedRunsElsewhere(refused: Reply, command: string, moved: RunsElsewhere, force = false): Reply {
  const { where, next } = runsNow(command, moved, force);
  return { ...refused, blocks: [...refused.blocks, reply.text(`${where} — ${next}`)] };
}
