import type { MaintenanceWindow } from '../config/maintenance-schema.ts';
import type { Config } from '../config/schema.ts';
import { authorize, type Person } from '../core/authorize.ts';
import { describeFreeze, type Freeze, freezeOf, type RuntimeFreeze, untilText } from '../core/freeze.ts';
import { type Reply, reply } from '../core/reply.ts';
import { dateTimeUtc } from '../core/time-text.ts';
import type { RedisClient } from '../queue/redis-connection.ts';
import type { AuditEntry } from './audit.ts';

export const FREEZE_PERMISSION = 'host.freeze';

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
  ) {}

  private get key(): string {
    return `${this.prefix}:freezes`;
  }

  private get windows(): readonly MaintenanceWindow[] {
    return this.config.maintenance;
  }

  async runtime(): Promise<Record<string, RuntimeFreeze>> {
    const raw = await this.redis.hgetall(this.key);
    return Object.fromEntries(Object.entries(raw).map(([h, v]) => [h, JSON.parse(v) as RuntimeFreeze]));
  }

  /** The freezes in force on these hosts now. */
  async frozen(hosts: readonly string[], at = Date.now()): Promise<Freeze[]> {
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
    if (!hosts.includes('all')) return hosts;
    return Object.keys(this.config.hosts).filter((host) => authorize(this.config, person, FREEZE_PERMISSION, { host }).allowed);
  }

  /** /freeze as `person`: every named host must be one they may freeze. */
  async freeze(person: Person, named: string[], until: Date | null, reason: string, audit: Omit<AuditEntry, 'event'>): Promise<Reply> {
    const hosts = this.expand(person, named);
    const bad = this.check(person, hosts);
    if (bad) return bad;
    // One that has ended already would freeze nothing, and replace a freeze someone else set.
    if (until && until.getTime() <= Date.now())
      return reply.error('Cannot freeze', `${dateTimeUtc(until.getTime())} is in the past: nothing was frozen`);
    const f: RuntimeFreeze = { by: person.id, reason, since: Date.now(), until: until ? until.getTime() : null };
    // Someone else's freeze that ends later is theirs: kept, never cut short by one that ends sooner (its owner may
    // shorten it; anyone may /unfreeze first).
    const current = await this.runtime();
    const end = (x: RuntimeFreeze) => x.until ?? Number.POSITIVE_INFINITY;
    const longer = (h: string) => {
      const c = current[h];
      return c !== undefined && c.by !== person.id && end(c) > f.since && end(c) > end(f) ? c : null;
    };
    const set = hosts.filter((h) => longer(h) === null);
    if (set.length > 0) await this.put(set, f, audit);
    const kept = hosts.flatMap((h) => {
      const c = longer(h);
      return c
        ? [
            reply.text(
              `${h} stays frozen ${untilText(c.until)} (${c.by}: ${c.reason}): a freeze that ends later is kept — /unfreeze ${h} first to replace it`,
            ),
          ]
        : [];
    });
    return reply.result(
      set.length > 0 ? `Frozen: ${set.join(', ')}` : `Already frozen for longer: ${hosts.join(', ')}`,
      [...set.map((h) => reply.text(describeFreeze({ host: h, ...f }))), ...kept],
      { tone: 'warning' },
    );
  }

  /**
   * Freezes hosts until /unfreeze as the consequence of a request the person was authorized for (an evacuation
   * freezes the host it emptied), so without a host.freeze check of its own; audited like /freeze.
   */
  async hold(hosts: string[], by: string, reason: string, audit: Omit<AuditEntry, 'event'>): Promise<string[]> {
    // A freeze someone set meanwhile (its reason, its end) is theirs: kept, not replaced. Returns the hosts kept so.
    const f: RuntimeFreeze = { by, reason, since: Date.now(), until: null };
    const kept: string[] = [];
    for (const h of hosts) {
      if ((await this.redis.hsetnx(this.key, h, JSON.stringify(f))) === 1) continue;
      // A timed freeze that has ended stays in the hash until replaced: it holds nothing.
      const current = JSON.parse((await this.redis.hget(this.key, h)) ?? 'null') as RuntimeFreeze | null;
      if (current && (current.until === null || current.until > Date.now())) kept.push(h);
      else await this.redis.hset(this.key, h, JSON.stringify(f));
    }
    const frozen = hosts.filter((h) => !kept.includes(h));
    if (frozen.length > 0) await this.record(audit, frozen, `froze ${frozen.join(', ')}: ${reason}`);
    return kept;
  }

  private async put(hosts: string[], f: RuntimeFreeze, audit: Omit<AuditEntry, 'event'>): Promise<void> {
    await this.redis.hset(this.key, Object.fromEntries(hosts.map((h) => [h, JSON.stringify(f)])));
    await this.record(audit, hosts, `froze ${hosts.join(', ')}: ${f.reason}`);
  }

  /** Audited with the hosts it is about, so /audit host:X finds a freeze of all hosts too. */
  private async record(audit: Omit<AuditEntry, 'event'>, hosts: string[], detail: string): Promise<void> {
    await this.audit({ ...audit, event: 'decision', decision: 'allowed', targets: hosts.map((host) => ({ host })), detail });
  }

  async unfreeze(person: Person, named: string[], audit: Omit<AuditEntry, 'event'>): Promise<Reply> {
    const hosts = this.expand(person, named);
    const bad = this.check(person, hosts);
    if (bad) return bad;
    const now = Date.now();
    const before = await this.runtime();
    // A timed freeze that has ended is cleared away too, but lifted nothing: only freezes in force are "unfrozen".
    const lifted = hosts.filter((h) => {
      const f = before[h];
      return f !== undefined && (f.until === null || f.until > now);
    });
    await this.redis.hdel(this.key, ...hosts);
    if (lifted.length > 0) await this.record(audit, lifted, `unfroze ${lifted.join(', ')}`);
    // What holds them now is a window (a freeze from chat was just removed): /unfreeze cannot lift it.
    const still = await this.frozen(hosts, now);
    const held = new Set(still.map((f) => f.host));
    const free = lifted.filter((h) => !held.has(h));
    const idle = hosts.filter((h) => !lifted.includes(h) && !held.has(h));
    const blocks = [
      ...(free.length > 0 ? [reply.text(`mutating commands may run on ${free.join(', ')} again`)] : []),
      ...still.map((f) =>
        reply.text(
          `${f.host} is still frozen by the maintenance window "${f.reason}" ${untilText(f.until)} (from the config): /unfreeze cannot lift it; mutating commands are refused until the window closes`,
        ),
      ),
      ...(idle.length > 0 ? [reply.text(`${idle.join(', ')} ${idle.length > 1 ? 'were' : 'was'} not frozen: nothing to unfreeze`)] : []),
    ];
    if (lifted.length === 0) return reply.result('Nothing unfrozen', blocks, { tone: still.length > 0 ? 'warning' : 'info' });
    return reply.result(`Unfrozen: ${lifted.join(', ')}`, blocks, { tone: still.length > 0 ? 'warning' : 'success' });
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
