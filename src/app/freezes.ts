import type { MaintenanceWindow } from '../config/maintenance-schema.ts';
import type { Config } from '../config/schema.ts';
import { authorize, type Person } from '../core/authorize.ts';
import { describeFreeze, endText, type Freeze, freezeOf, type RuntimeFreeze, untilText, zoneOfFreeze } from '../core/freeze.ts';
import { hostCount, hostNames, NAMED_HOSTS_MAX, type Subject, sayOnce, subjectIs } from '../core/host-groups.ts';
import { zoneOf } from '../core/oncall.ts';
import { type Reply, reply } from '../core/reply.ts';
import type { RedisClient } from '../queue/redis-connection.ts';
import type { AuditEntry } from './audit.ts';

export const FREEZE_PERMISSION = 'host.freeze';

/**
 * Sets a freeze on each host unless one in force is to be kept, in one step: read and written apart, two freezes
 * decided at once both saw the hash empty, and the shorter, written last, replaced the longer. KEYS[1]: the hash;
 * ARGV: the freeze (JSON), who sets it ('' keeps any freeze in force: a plan's hold), its end ('' = none), now, hosts.
 * Returns, for each host that had a freeze in force, 'kept' or 'replaced', the host and that freeze (one ended
 * holds nothing: replaced unsaid).
 */
const SET_UNLESS_KEPT = `
local mine = ARGV[3] == '' and math.huge or tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local out = {}
for i = 5, #ARGV do
  local raw = redis.call('HGET', KEYS[1], ARGV[i])
  local inForce = false
  local keep = false
  if raw then
    local c = cjson.decode(raw)
    local e = (c['until'] == nil or c['until'] == cjson.null) and math.huge or tonumber(c['until'])
    inForce = e > now
    keep = inForce and (ARGV[2] == '' or (c['by'] ~= ARGV[2] and e > mine))
  end
  if not keep then redis.call('HSET', KEYS[1], ARGV[i], ARGV[1]) end
  if inForce then
    out[#out + 1] = keep and 'kept' or 'replaced'
    out[#out + 1] = ARGV[i]
    out[#out + 1] = raw
  end
end
return out
`;

/**
 * Frozen hosts: freezes from chat (/freeze, kept in Redis so every bot sees them) and the config's maintenance
 * windows. While a host is frozen, mutating commands on it are refused — before queueing, and again when an
 * approved request is about to run.
 */
export class FreezeBook {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly config: Config,
    private readonly audit: (e: AuditEntry) => Promise<void>,
    /** The deployment's shared clock (the bot passes it): another bot compares the ends this one writes. */
    private readonly now: () => number = () => Date.now(),
  ) {}

  private get key(): string {
    return `${this.prefix}:freezes`;
  }

  private get windows(): readonly MaintenanceWindow[] {
    return this.config.maintenance;
  }

  /** The zone a typed until is read in: ends are said in it too. */
  private get zone(): string {
    return zoneOf(this.config);
  }

  async runtime(): Promise<Record<string, RuntimeFreeze>> {
    const raw = await this.redis.hgetall(this.key);
    return Object.fromEntries(Object.entries(raw).map(([h, v]) => [h, JSON.parse(v) as RuntimeFreeze]));
  }

  /** The freezes in force on these hosts now. */
  async frozen(hosts: readonly string[], at = this.now()): Promise<Freeze[]> {
    const runtime = await this.runtime();
    return hosts.flatMap((h) => {
      const f = freezeOf(h, at, this.windows, runtime);
      return f ? [f] : [];
    });
  }

  /**
   * `all` is every host the person may freeze: a scoped admin's `/freeze all` freezes theirs, and a refusal never
   * names a host outside their scope.
   */
  private expand(person: Person, hosts: string[]): string[] {
    if (!hosts.includes('all')) return [...new Set(hosts)];
    return Object.keys(this.config.hosts).filter((host) => authorize(this.config, person, FREEZE_PERMISSION, { host }).allowed);
  }

  /** /freeze as `person`: every named host must be one they may freeze. */
  async freeze(person: Person, named: string[], until: Date | null, reason: string, audit: Omit<AuditEntry, 'event'>): Promise<Reply> {
    const hosts = this.expand(person, named);
    const bad = this.check(person, hosts);
    if (bad) return bad;
    const now = this.now();
    // One that has ended already would freeze nothing, and replace a freeze someone else set.
    if (until && until.getTime() <= now)
      return reply.error('Cannot freeze', `${endText(until.getTime(), this.zone)} is in the past: nothing was frozen`);
    const f: RuntimeFreeze = { by: person.id, reason, since: now, until: until ? until.getTime() : null };
    // Someone else's freeze that ends later is theirs: kept, never cut short by one that ends sooner (its owner may
    // shorten it; anyone may /unfreeze first).
    const { kept, replaced } = await this.setUnlessKept(hosts, f, person.id);
    const set = hosts.filter((h) => !kept.has(h));
    // The audit names every host; the reply says what is the same for many hosts once (1,000 lines at 1,000 hosts).
    if (set.length > 0) await this.record(audit, set, `froze ${set.join(', ')}: ${f.reason}`);
    const all = named.includes('all');
    const lines = [
      // A host's line and the freeze it replaced go together: hosts that replaced another freeze are a group apart.
      ...sayOnce(set, (h) => (s) => [this.describeSet({ host: h, ...f }, now, s), ...this.replacedLine(replaced.get(h), f, s)]),
      ...sayOnce(hosts, (h) => {
        const c = kept.get(h);
        return c ? (s) => [this.keptLine(c, s)] : null;
      }),
    ];
    return reply.result(
      set.length > 0
        ? `Frozen: ${hostCount(set, all && set.length === hosts.length)}`
        : `Already frozen for longer: ${hostCount(hosts, all)}`,
      lines.map((l) => reply.text(l)),
      { tone: 'warning' },
    );
  }

  /**
   * One's own freeze may be shortened (a window ended early without /unfreeze), but never unsaid: /status then shows
   * only the new end, and a host reopened in the middle of the work the other freeze was for.
   */
  private replacedLine(c: RuntimeFreeze | undefined, f: RuntimeFreeze, s: Subject): string[] {
    if (!c) return [];
    const end = (x: RuntimeFreeze) => x.until ?? Number.POSITIVE_INFINITY;
    const sooner = end(c) > end(f) ? ', which would have ended later — this one ends sooner' : '';
    return [`${s.names}: replaces the freeze ${untilText(c.until, this.zone, c.since)} (${c.by}: ${c.reason})${sooner}`];
  }

  /** Someone else's freeze that ends later, kept: the way to replace it is /unfreeze first. */
  private keptLine(c: RuntimeFreeze, s: Subject): string {
    // A shortened list is no command to copy.
    const first = !s.many
      ? `/unfreeze ${s.hosts[0]} first to replace it`
      : s.hosts.length <= NAMED_HOSTS_MAX
        ? `/unfreeze ${s.hosts.join(',')} first to replace them`
        : '/unfreeze them first to replace them';
    return `${s.names} ${s.many ? 'stay' : 'stays'} frozen ${untilText(c.until, this.zone, c.since)} (${c.by}: ${c.reason}): a freeze that ends later is kept — ${first}`;
  }

  /**
   * A freeze just set, as its reply says it of `s` (f.host and the hosts it is the same for): with the maintenance
   * window open on the host too, if any, for what holds it past the freeze's end is not lifted by /unfreeze.
   */
  private describeSet(f: Freeze, now: number, s: Subject): string {
    const w = freezeOf(f.host, now, this.windows, {});
    if (w === null) return describeFreeze(f, this.zone, s);
    const wUntil = untilText(w.until, zoneOfFreeze(w, this.zone), w.since);
    const end = (x: Freeze) => x.until ?? Number.POSITIVE_INFINITY;
    const lift =
      end(w) >= end(f)
        ? `until the window closes (${wUntil.replace(/^until /, '')}): /unfreeze does not lift it`
        : f.until === null
          ? 'until /unfreeze, and the window has closed'
          : 'until then (or /unfreeze, once the window has closed)';
    return `${subjectIs(s)} frozen ${untilText(f.until, this.zone, f.since)} (${f.by}: ${f.reason}), and by the maintenance window "${w.reason}" ${wUntil} (from the config) — reads go on; mutating commands are refused ${lift}`;
  }

  /**
   * The hosts kept as they were, with the freeze that kept each; the others now carry `f` — `replaced`: those of them
   * whose freeze in force it took the place of, with that freeze.
   */
  private async setUnlessKept(
    hosts: string[],
    f: RuntimeFreeze,
    keepOthersLonger: string,
  ): Promise<{ kept: Map<string, RuntimeFreeze>; replaced: Map<string, RuntimeFreeze> }> {
    const args = [JSON.stringify(f), keepOthersLonger, f.until === null ? '' : String(f.until), String(f.since), ...hosts];
    const out = (await this.redis.eval(SET_UNLESS_KEPT, 1, this.key, ...args)) as string[];
    const kept = new Map<string, RuntimeFreeze>();
    const replaced = new Map<string, RuntimeFreeze>();
    for (let i = 0; i + 2 < out.length; i += 3)
      (out[i] === 'kept' ? kept : replaced).set(out[i + 1] as string, JSON.parse(out[i + 2] as string) as RuntimeFreeze);
    return { kept, replaced };
  }

  /**
   * Freezes hosts until /unfreeze as the consequence of a request the person was authorized for (an evacuation
   * freezes the host it emptied), so without a host.freeze check of its own; audited like /freeze.
   */
  async hold(hosts: string[], by: string, reason: string, audit: Omit<AuditEntry, 'event'>): Promise<string[]> {
    // A freeze someone set meanwhile (its reason, its end) is theirs: kept, not replaced. Returns the hosts kept so. A
    // timed freeze that has ended stays in the hash until replaced: it holds nothing, and is replaced.
    const f: RuntimeFreeze = { by, reason, since: this.now(), until: null };
    const { kept } = await this.setUnlessKept(hosts, f, '');
    const frozen = hosts.filter((h) => !kept.has(h));
    if (frozen.length > 0) await this.record(audit, frozen, `froze ${frozen.join(', ')}: ${reason}`);
    return [...kept.keys()];
  }

  /** Audited with the hosts it is about, so /audit host:X finds a freeze of all hosts too. */
  private async record(audit: Omit<AuditEntry, 'event'>, hosts: string[], detail: string): Promise<void> {
    await this.audit({ ...audit, event: 'decision', decision: 'allowed', targets: hosts.map((host) => ({ host })), detail });
  }

  async unfreeze(person: Person, named: string[], audit: Omit<AuditEntry, 'event'>): Promise<Reply> {
    const hosts = this.expand(person, named);
    const bad = this.check(person, hosts);
    if (bad) return bad;
    const now = this.now();
    const before = await this.runtime();
    // A timed freeze that has ended is cleared away too, but lifted nothing: only freezes in force are "unfrozen".
    const lifted = hosts.filter((h) => {
      const f = before[h];
      return f !== undefined && (f.until === null || f.until > now);
    });
    await this.redis.hdel(this.key, ...hosts);
    if (lifted.length > 0) await this.record(audit, lifted, `unfroze ${lifted.join(', ')}`);
    // What holds them now is a window (a freeze from chat was just removed): /unfreeze cannot lift it.
    const still = new Map((await this.frozen(hosts, now)).map((f) => [f.host, f]));
    const free = lifted.filter((h) => !still.has(h));
    const liftedSet = new Set(lifted);
    const idle = hosts.filter((h) => !liftedSet.has(h) && !still.has(h));
    const stillLine = (f: Freeze, s: Subject) =>
      f.by === 'maintenance window'
        ? `${subjectIs(s)} still frozen by the maintenance window "${f.reason}" ${untilText(f.until, zoneOfFreeze(f, this.zone), f.since)} (from the config): /unfreeze cannot lift it; mutating commands are refused until the window closes`
        : // Frozen again from chat between the lifting and this read: said as what it is, not as a window.
          describeFreeze(f, this.zone, s);
    const lines = [
      ...(free.length > 0 ? [`mutating commands may run on ${hostNames(free)} again`] : []),
      ...sayOnce(hosts, (h) => {
        const f = still.get(h);
        return f ? (s) => [stillLine(f, s)] : null;
      }),
      ...(idle.length > 0 ? [`${hostNames(idle)} ${idle.length > 1 ? 'were' : 'was'} not frozen: nothing to unfreeze`] : []),
    ];
    const blocks = lines.map((l) => reply.text(l));
    if (lifted.length === 0) return reply.result('Nothing unfrozen', blocks, { tone: still.size > 0 ? 'warning' : 'info' });
    const all = named.includes('all') && lifted.length === hosts.length;
    return reply.result(`Unfrozen: ${hostCount(lifted, all)}`, blocks, { tone: still.size > 0 ? 'warning' : 'success' });
  }

  private check(person: Person, hosts: string[]): Reply | null {
    if (hosts.length === 0) return reply.notAllowed(`${person.id} may not freeze any host: needs permission ${FREEZE_PERMISSION}`);
    // Own keys only: `constructor` is not a host.
    const unknown = hosts.filter((h) => !Object.hasOwn(this.config.hosts, h));
    if (unknown.length > 0)
      return reply.error(
        'Cannot do that',
        // The hosts this person may freeze: nothing of the others.
        `no host named ${unknown.join(', ')} (hosts: ${Object.keys(this.config.hosts)
          .filter((host) => authorize(this.config, person, FREEZE_PERMISSION, { host }).allowed)
          .join(', ')})`,
      );
    const denied = hosts.find((h) => !authorize(this.config, person, FREEZE_PERMISSION, { host: h }).allowed);
    if (denied) return reply.notAllowed(`${person.id} may not freeze ${denied}: needs permission ${FREEZE_PERMISSION}`);
    return null;
  }
}
