import type { FleetEvent } from '../queue/fleet-events.ts';
import { type Reply, reply } from './reply.ts';

export interface Alert {
  /** Same key = the same alert: posted once per cool-down. */
  key: string;
  /**
   * What it is about (a host, a domain on a host): an alert that changes what was last said about it is posted
   * whatever the cool-down — a host down, up, down again is last said to be down.
   */
  subject: string;
  reply: Reply;
}

/**
 * Which fleet events are worth waking someone for, and how they read. A crash always is (nobody crashes a guest
 * on purpose); a start, stop, appearance, migration, rename or disappearance only when xenops did not do it; a host
 * that stops answering always, and its return (so nobody keeps looking into a problem that went away).
 */
export function alertFor(e: FleetEvent, now = Date.now()): Alert | null {
  const at = seenAt(e.at, now);
  const alert = (key: string, title: string, text: string, tone: Reply['tone']): Alert => ({
    key,
    subject: 'domain' in e ? `${e.host}:${e.domain}` : e.host,
    reply: reply.result(title, [reply.text(`${text} (seen ${at} UTC)`)], { tone }),
  });
  switch (e.kind) {
    case 'domain.crashed':
      return alert(
        `crashed:${e.host}:${e.domain}`,
        `${e.domain} crashed on ${e.host}`,
        `Xen reports ${e.domain} as crashed on ${e.host}.`,
        'error',
      );
    case 'host.unreachable':
      return alert(`unreachable:${e.host}`, `${e.host} is unreachable`, `The agent cannot reach ${e.host}: ${e.reason}.`, 'error');
    case 'host.reachable':
      return alert(`reachable:${e.host}`, `${e.host} is reachable again`, `The agent reaches ${e.host} again.`, 'success');
    default:
      break;
  }
  if (e.byXenops) return null;
  switch (e.kind) {
    case 'domain.vanished':
      return alert(
        `vanished:${e.host}:${e.domain}`,
        `${e.domain} vanished from ${e.host}`,
        `${e.domain} is no longer on ${e.host}, and xenops did not stop it.`,
        'error',
      );
    case 'domain.stopped':
      return alert(
        `stopped:${e.host}:${e.domain}`,
        `${e.domain} stopped on ${e.host}`,
        `${e.domain} stopped on ${e.host} outside xenops.`,
        'warning',
      );
    case 'domain.started':
      return alert(
        `started:${e.host}:${e.domain}`,
        `${e.domain} started on ${e.host}`,
        `${e.domain} started on ${e.host} outside xenops.`,
        'warning',
      );
    case 'domain.appeared':
      return alert(
        `appeared:${e.host}:${e.domain}`,
        `${e.domain} appeared on ${e.host}`,
        `A domain xenops had not seen, ${e.domain}, is running on ${e.host}.`,
        'warning',
      );
    case 'domain.migrated':
      return alert(
        `migrated:${e.host}:${e.domain}`,
        `${e.domain} moved to ${e.host}`,
        `${e.domain} moved from ${e.from} to ${e.host} outside xenops.`,
        'warning',
      );
    case 'domain.renamed':
      // About the guest under its new name: what is said of it next (a crash, a stop) is said under that name.
      return alert(
        `renamed:${e.host}:${e.oldName}:${e.domain}`,
        `${e.oldName} was renamed ${e.domain} on ${e.host}`,
        `${e.oldName} on ${e.host} is now named ${e.domain} (the same domain), renamed outside xenops.`,
        'warning',
      );
    default:
      return null;
  }
}

/**
 * When the agent saw it: the time of day, and the date too when that is not today's (UTC) — an alert posted late (a
 * post retried, an event taken over from a dead bot) must not read as this morning's when it was last night's.
 */
function seenAt(at: number, now: number): string {
  const iso = new Date(at).toISOString();
  return iso.slice(0, 10) === new Date(now).toISOString().slice(0, 10) ? iso.slice(11, 19) : `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}
