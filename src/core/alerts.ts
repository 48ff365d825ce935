import type { FleetEvent } from '../queue/fleet-events.ts';
import { type Reply, reply } from './reply.ts';
import { hostsText, runningTwiceTitle } from './split-brain.ts';

export interface Alert {
  /** Same key = the same alert: posted once per cool-down. */
  key: string;
  /**
   * What it is about (a host, a domain on a host): an alert that changes what was last said about it is posted
   * whatever the cool-down — a host down, up, down again is last said to be down.
   */
  subject: string;
  reply: Reply;
  /**
   * Posted for each of its events, outside the cool-down and the flap limit (a late one still said late): a guest
   * running on two hosts at once must never go unsaid while it lasts. What makes these events bounds them itself.
   */
  urgent?: true;
}

const silence = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${Math.round(ms / 1000)} s`);

/**
 * The reason of a host.unreachable whose xentop started over an open SSH connection and printed nothing for `ms`
 * (the event's silentMs): what a bot that does not know silentMs shows ("The agent cannot reach xen1: …").
 */
export function unansweredReason(ms: number): string {
  return `it answered nothing for ${silence(ms)} (the SSH connection is open; xentop printed no output)`;
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
    case 'host.unreachable': {
      // Connected but silent (a hung Dom0, a wedged xenstored, a stuck NFS mount): "cannot reach" would send the
      // operator after the network. The same key: either way it is the host down, and its return ends it.
      // An agent's own field: a number Redis handed back as anything else is read as a plain unreachability.
      if (typeof e.silentMs === 'number' && Number.isFinite(e.silentMs) && e.silentMs >= 0)
        return alert(
          `unreachable:${e.host}`,
          `${e.host} is not answering`,
          `The agent's SSH connection to ${e.host} is open, but it answered nothing for ${silence(e.silentMs)}: xentop printed no output.`,
          'error',
        );
      return alert(`unreachable:${e.host}`, `${e.host} is unreachable`, `The agent cannot reach ${e.host}: ${e.reason}.`, 'error');
    }
    case 'host.reachable':
      return alert(`reachable:${e.host}`, `${e.host} is reachable again`, `The agent reaches ${e.host} again.`, 'success');
    case 'domain.running-twice':
    case 'domain.running-once':
      return splitBrain(e, at, now);
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
        // Not listed any more, its config still there: xl list tells a shutdown from inside, an `xl destroy` and a crash
        // under on_crash destroy (xl's default) apart in nothing, so none is claimed; the console's last lines may tell.
        `${e.domain} stopped on ${e.host} outside xenops: Xen no longer runs it (shut down from inside, destroyed by hand, or crashed with on_crash destroy; /console ${e.host}:${e.domain} shows its last lines).`,
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

/** A guest running on two hosts at once, and its end: one subject, so an end handled before its start reads late. */
function splitBrain(e: Extract<FleetEvent, { kind: 'domain.running-twice' | 'domain.running-once' }>, at: string, now: number): Alert {
  const names = e.names.length > 0 ? e.names : [e.domain];
  const subject = `running-twice:${JSON.stringify(names)}`;
  const name = names.join(' / ');
  if (e.kind === 'domain.running-twice') {
    const title = runningTwiceTitle({ names, hosts: e.hosts });
    const still = e.repeat ? `Still so, since ${seenAt(e.since, now)} UTC. ` : '';
    const how = e.hosts.map((h) => `/stop ${h}:${names[0]}`).join(' or ');
    return {
      key: `running-twice:${JSON.stringify(names)}:${e.hosts.join(',')}`,
      subject,
      urgent: true,
      reply: reply.result(
        title,
        [
          reply.text(
            `${title} — two copies on the same disks: stop one now (${how}, or xl destroy on the host whose copy must go). ${still}Said again while it lasts. (seen ${at} UTC)`,
          ),
        ],
        { tone: 'error' },
      ),
    };
  }
  const left = e.hosts.filter((h) => !e.runningOn.includes(h));
  const title =
    e.runningOn.length === 1 ? `${name} runs on ${e.runningOn[0]} only again` : `${name} no longer runs on ${hostsText(e.hosts)}`;
  const text =
    e.runningOn.length === 1
      ? `${name} no longer runs on ${hostsText(left)}: one copy is left, on ${e.runningOn[0]}. Check its disks before trusting them.`
      : `Neither copy of ${name} runs now (it ran on ${hostsText(e.hosts)} at once). Check its disks before starting it again.`;
  return {
    key: `running-once:${JSON.stringify(names)}:${e.runningOn.join(',')}`,
    subject,
    urgent: true,
    reply: reply.result(title, [reply.text(`${text} (seen ${at} UTC)`)], { tone: e.runningOn.length === 1 ? 'success' : 'warning' }),
  };
}

/**
 * When the agent saw it: the time of day, and the date too when that is not today's (UTC) — an alert posted late (a
 * post retried, an event taken over from a dead bot) must not read as this morning's when it was last night's.
 */
function seenAt(at: number, now: number): string {
  const iso = new Date(at).toISOString();
  return iso.slice(0, 10) === new Date(now).toISOString().slice(0, 10) ? iso.slice(11, 19) : `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}
