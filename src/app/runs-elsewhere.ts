import type { Config } from '../config/schema.ts';
import { authorize } from '../core/authorize.ts';
import type { AnyCommand, HostOutcome } from '../core/define-command.ts';
import { type DomainRef, isUuid, onConfiguredHost } from '../core/domain-ref.ts';
import { type Logger, redactSecrets } from '../core/log.ts';
import { missedOn, type RunsElsewhere } from '../core/moved-away.ts';
import { type JobOp, jobDomain } from '../queue/jobs.ts';
import type { FleetCache } from './fleet-cache.ts';
import type { FleetRefresher } from './fleet-refresh.ts';
import type { PendingRequest } from './pending-store.ts';

export interface RunsElsewhereDeps {
  config: Config;
  fleet: FleetCache;
  refresher: Pick<FleetRefresher, 'refresh'>;
  logger: Logger;
}

/** As a lookup waits once its name was found running: a host slow to answer holds the reply no longer. */
const FOUND_GRACE_MS = 2_000;

/**
 * A bare name is sent where the bot last heard it run; moved outside xenops since, that host answers that it does not
 * run it. Before the answer is shown, the other hosts the asker may use are asked for their lists (those alone: no
 * host outside the asker's scope is asked or named on their behalf), so the reply can say where it runs now. Only on
 * such a miss: the common path costs no round trip. Null when it runs nowhere else the asker may see, or on any doubt.
 */
export async function findRunsElsewhere(
  deps: RunsElsewhereDeps,
  p: PendingRequest,
  command: AnyCommand,
  outcomes: readonly HostOutcome<JobOp>[],
): Promise<RunsElsewhere | null> {
  const { config, fleet, logger } = deps;
  const [o] = outcomes;
  const job = p.jobs[0];
  // Not heard running there: "not running" is the host's news, not a sign it moved (and asking the others would
  // hold a plain answer on a host slow to list).
  if (command.scope !== 'domain' || p.mode !== 'parallel' || p.schedule || !p.heardRunningThere || outcomes.length !== 1 || !o || !job)
    return null;
  const ref = onConfiguredHost(p.args['domain'] as DomainRef, (h) => Object.hasOwn(config.hosts, h));
  // Named on its host (or by UUID): the asker chose the host, and is answered about that host alone.
  if (ref.host !== undefined || isUuid(ref.domain) || !missedOn(job.op, o)) return null;
  const domain = jobDomain(job.data);
  if (domain === undefined) return null;
  const permission = command.permission;
  const roles = p.domainScopedRoles;
  const mayAct = (host: string) =>
    !roles ||
    permission === null ||
    authorize(config, { id: p.person, displayName: p.person, roles }, permission, { host, domain }).allowed;
  const hosts = (p.visibleHosts ?? fleet.hostNames).filter((h) => h !== o.host && Object.hasOwn(config.hosts, h) && mayAct(h));
  if (hosts.length === 0) return null;
  const runsOn = (host: string) => fleet.domains(host).some((d) => d.name === domain && d.status !== 'defined');
  // Only what a host said now: a list from before the miss is the stale word that sent the command to the wrong host.
  const asked = Date.now();
  try {
    await deps.refresher.refresh(hosts, Math.min(config.bot.readTimeoutMs, 5_000), { found: runsOn, graceMs: FOUND_GRACE_MS });
  } catch (error) {
    logger.warn({ err: redactSecrets(String(error)), requestId: p.requestId }, 'could not ask the hosts where a guest runs now');
    return null;
  }
  const on = hosts.filter((h) => (fleet.listedAt(h) ?? 0) >= asked && runsOn(h));
  return on.length > 0 ? { domain, from: o.host, on } : null;
}
