import type { FleetView } from '../core/fleet-view.ts';
import { describeFreeze } from '../core/freeze.ts';
import { evaluate, isRejection, type PipelineContext, visibleHosts } from '../core/pipeline.ts';
import { type CapacityReading, capacityFromStatus, guestsFromStatus, type HostCapacity } from '../core/placement.ts';
import type { ChatRequest } from '../core/request.ts';
import type { FleetCache } from './fleet-cache.ts';
import type { FleetRefresher } from './fleet-refresh.ts';
import type { FreezeBook } from './freezes.ts';

export interface CapacityDeps {
  ctx: PipelineContext;
  fleet: FleetCache;
  refresher: Pick<FleetRefresher, 'capacity'>;
  freezes: Pick<FreezeBook, 'frozen'>;
  /** How long a host may take to answer. */
  waitMs: number;
}

/**
 * The fleet view a request is decided on. For a command whose plan places guests (`capacity`: /evacuate,
 * /rebalance --run) it is the fleet cache plus the capacity of the hosts the command names — among those the asker
 * may use — read now, for this request: a host.status job per host (free memory from `xl info`, the domains from
 * `xl list`, live CPU) and the freezes in force. Nothing older is ever planned from. Other requests get the cache
 * as it is, at no cost.
 */
export async function viewFor(deps: CapacityDeps, req: ChatRequest): Promise<FleetView> {
  // The hot path: a command that plans from no capacity costs one map lookup here.
  const command = deps.ctx.commands.get(req.command.toLowerCase());
  if (!command || command.scope === 'local' || !command.capacity) return deps.fleet;
  const ev = evaluate(deps.ctx, req);
  if (isRejection(ev) || ev.command.scope === 'local' || !ev.command.capacity) return deps.fleet;
  const visible = visibleHosts(deps.ctx.config, ev);
  const hosts = (ev.command.capacity(ev.args, visible) ?? []).filter((h, i, all) => visible.includes(h) && all.indexOf(h) === i);
  if (hosts.length === 0) return deps.fleet;
  return withCapacity(deps.fleet, await readCapacity(deps, hosts));
}

/** The hosts' capacity and freezes, read now. */
export async function readCapacity(deps: Omit<CapacityDeps, 'fleet'>, hosts: readonly string[]): Promise<CapacityReading> {
  const [{ read, unanswered }, frozen] = await Promise.all([deps.refresher.capacity(hosts, deps.waitMs), deps.freezes.frozen(hosts)]);
  const reading: CapacityReading = {
    at: Date.now(),
    reserveMiB: deps.ctx.config.fleet.memoryReserveMiB,
    hosts: {},
    unanswered: Object.fromEntries(unanswered.map((u) => [u.host, u.message])),
    frozen: Object.fromEntries(frozen.map((f) => [f.host, describeFreeze(f, deps.ctx.config.oncall?.timezone)])),
  };
  for (const [host, result] of Object.entries(read)) {
    const c: HostCapacity | string = capacityFromStatus(result);
    if (typeof c !== 'string') {
      reading.hosts[host] = c;
      continue;
    }
    reading.unanswered[host] = c;
    // No memory figures (xl info failed part-way) but its guests listed: enough for the host being evacuated.
    const listed = guestsFromStatus(result);
    if (typeof listed !== 'string') reading.listedOnly = { ...reading.listedOnly, [host]: listed };
  }
  return reading;
}

/** The cache's view with a capacity reading attached (the cache itself is left as it is). */
export function withCapacity(fleet: FleetView, capacity: CapacityReading): FleetView {
  return {
    hostNames: fleet.hostNames,
    domains: (host) => fleet.domains(host),
    known: (host) => fleet.known(host),
    capacity,
  };
}
