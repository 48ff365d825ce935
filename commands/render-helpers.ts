import { quoteHostLine } from '../src/core/control-chars.ts';
import type { HostOutcome } from '../src/core/define-command.ts';
import { type DomainRef, isUuid } from '../src/core/domain-ref.ts';
import type { FleetView } from '../src/core/fleet-view.ts';
import type { Block } from '../src/core/reply.ts';
import { type DomainStatus, type DomainSummary, type MigratedResult, PAUSED_CANNOT, type RunningNowhereResult } from '../src/core/xen.ts';
import type { JobOp } from '../src/queue/jobs.ts';

const FAILURE_LABEL: Partial<Record<string, string>> = {
  noAnswer: 'no answer',
  noAgent: 'no agent',
  transport: 'unreachable',
  hostKey: 'host key refused',
  withdrawn: 'withdrawn',
  locked: 'busy',
  'domain.elsewhere': 'refused',
  'domain.notFound': 'not found',
  'domain.state': 'refused',
  'domain.protected': 'refused',
  outcomeUnknown: 'outcome unknown',
  rejected: 'refused',
};

/** A line per host that did not answer, so a partial fan-out is never mistaken for the whole fleet. */
export function failureBlocks<Op extends JobOp>(outcomes: HostOutcome<Op>[]): Block[] {
  return outcomes.flatMap((o) =>
    o.ok
      ? []
      : [
          {
            type: 'text' as const,
            // A job's failure may be about another host it reached (a migration's target): labelled with that one.
            text: `⚠ ${('host' in o.failure && o.failure.host) || o.host}: ${FAILURE_LABEL[o.failure.code] ?? 'failed'} — ${o.failure.message}`,
          },
        ],
  );
}

/** Marks a domain that starts with its host (an entry in /etc/xen/auto). */
export const AUTOSTART_MARK = '↻';

/** The list's autostart cell: ↻, blank, or `?` when the agent could not read /etc/xen/auto (or is older). */
export function autostartCell(d: DomainSummary): string {
  if (d.autostart === undefined) return '?';
  return d.autostart ? AUTOSTART_MARK : '';
}

/** An action whose effect a guest's state can already have (or rule out): what the agent would answer "nothing to" for. */
export type NoOpAction = 'stop' | 'reboot' | 'pause' | 'unpause';

/**
 * Why the action does nothing to the guest as the view shows it on its host, as the agent would answer once it ran;
 * null when the agent must decide (running, or a crashed, shut-down or dying guest a stop or a forced reboot clears
 * away, or a guest the view does not list there). The agent decides on the same statuses; a refusal on the cached
 * view is decided again on the hosts' fresh answer (pipeline), so a guest started by hand since is not refused.
 */
export function noOpReason(view: FleetView, host: string, domain: string, action: NoOpAction): string | null {
  const d = view.domains(host).find((x) => x.name === domain);
  if (!d) return null;
  const why =
    d.status === 'defined'
      ? `${d.name} is not running on ${host}`
      : action === 'pause' && d.status === 'paused'
        ? `${d.name} is already paused on ${host}`
        : action === 'unpause' && (d.status === 'running' || d.status === 'blocked')
          ? `${d.name} is not paused on ${host}`
          : null;
  return why && `${why}: nothing to ${action}; nothing was queued`;
}

/**
 * Why a graceful stop or reboot of a guest the view shows paused is refused, in the agent's words (which refuse it once
 * approved: its vCPUs do not run, so it cannot act on the request), with the way forward; null otherwise. Decided again
 * on the hosts' fresh answer, as noOpReason is. `shown`: the guest as the way forward names it (see shownRef).
 */
export function pausedRefusal(view: FleetView, host: string, domain: string, action: 'stop' | 'reboot', shown: string): string | null {
  const d = view.domains(host).find((x) => x.name === domain);
  if (d?.status !== 'paused') return null;
  const why =
    action === 'stop'
      ? `${PAUSED_CANNOT.stop} — /unpause ${shown} first, or /stop ${shown} --force`
      : `${PAUSED_CANNOT.reboot} — /unpause ${shown} first, or /reboot ${shown} --force (destroy and create again)`;
  return `${d.name} is paused on ${host}: ${why}; nothing was queued`;
}

/** A guest as a suggested command names it: as typed, or `host:name` when typed with its host or by UUID. */
export function shownRef(ref: DomainRef, host: string, name: string): string {
  return ref.host !== undefined || isUuid(ref.domain) ? `${host}:${name}` : name;
}

/**
 * A domain state in operators' words, wherever it is shown (/list, /show, /status's counts): one state, one name.
 * `defined` is a config file the toolstack does not run.
 */
export function statusWords(status: DomainStatus): string {
  return status === 'defined' ? 'defined (not running)' : status;
}

export function describeStatus(d: DomainSummary): string {
  return statusWords(d.status);
}

/** Every size shown to operators: one function (src/core/sizes.ts), also used by core's plan texts. */
export { mib } from '../src/core/sizes.ts';

export function toneOf(outcomes: { ok: boolean }[]): 'success' | 'warning' | 'error' {
  if (outcomes.every((o) => o.ok)) return 'success';
  return outcomes.some((o) => o.ok) ? 'warning' : 'error';
}

/** Said after a migration that left the source's autostart link behind: xendomains would boot the guest there too. */
export function autostartLeftBehind(domain: string, source: string): string {
  return `⚠ ${domain} still starts with ${source} (its /etc/xen/auto link stays there): before ${source} boots again, run /autostart ${source}:${domain} off (a frozen host needs /unfreeze first), or ${domain} will run twice`;
}

/**
 * Said of a guest that moved but does not run on its target (crashed as it ran there, or paused): where it is, in
 * what state, and what to look at — it is no longer on the source, so a retry of the migration is no answer.
 */
export function arrivedNotRunning(r: Pick<MigratedResult, 'target' | 'domain' | 'resumed'>): string {
  const state = `${r.domain.status}${r.domain.flags ? ` (${r.domain.flags})` : ''}`;
  const seen = r.resumed
    ? `resumed after an agent restart, ${r.domain.name} was read back on ${r.target} as ${state}`
    : `the migration reported success, then ${r.domain.name} was read back on ${r.target} as ${state}`;
  return `${seen}: it is no longer on its old host — look at /console ${r.target}:${r.domain.name} before starting it again or clearing it away there`;
}

/**
 * Said of a guest whose migration reported success and that then runs on neither host: what each list showed, the
 * likely cause (on_crash="destroy", xl's default, as it crashed on arrival), and that it is not known otherwise —
 * never a state or an id on the target, which no host reported.
 */
export function runningNowhere(r: Pick<RunningNowhereResult, 'target' | 'name' | 'onSource' | 'onTarget'>, source: string): string {
  const side = (s: 'defined' | 'absent') => (s === 'defined' ? 'only its config file is there' : 'not listed there');
  return `the migration reported success, then ${r.name} was read back on neither host: not on ${r.target} (${side(r.onTarget)}) and not running on ${source} (${side(r.onSource)}) — it most likely crashed as soon as it ran on ${r.target} and was destroyed there by its on_crash action (on_crash="destroy" is xl's default); otherwise where it went is not known. Look at /console ${r.target}:${r.name} (its console log, if xenconsoled keeps one) and ${r.target}'s Xen logs, then start it again on one host only`;
}

/**
 * One line for the lines of a host's output that could not be read: counted, the first quoted short and with its
 * control characters shown. A host printing a hundred odd lines would otherwise bury the reply under them.
 */
export function unreadLinesNote(host: string, what: string, lines: readonly string[], so?: string): Block[] {
  const first = lines[0];
  if (first === undefined) return [];
  const line = quoteHostLine(first);
  const consequence = so ? `, so ${so}` : '';
  const text =
    lines.length === 1
      ? `⚠ ${host}: could not read this line of ${what}${consequence}: ${line}`
      : `⚠ ${host}: could not read ${lines.length} lines of ${what}${consequence} (the first: ${line})`;
  return [{ type: 'text', text }];
}

/**
 * A guest's name as a sample gives it: one the agent marks cut (xentop without -f, no list mapped it back) may be no
 * guest's, and is shown cut (`webserver-…`) so nobody goes looking for a guest of that name.
 */
export function shownName(d: { name: string; nameCut?: true | undefined }): string {
  return d.nameCut ? `${d.name}…` : d.name;
}
