import { randomBytes } from 'node:crypto';
import { DateTime } from 'luxon';
import { COMMANDS } from '../../commands/index.ts';
import type { Config } from '../config/schema.ts';
import { approvesNone } from '../core/approval-policy.ts';
import { echoValue } from '../core/args.ts';
import { authorize, channelAllowsCommand, channelPolicy, type Person } from '../core/authorize.ts';
import type { AnyCommand } from '../core/define-command.ts';
import {
  formatWhen,
  nextHandoff,
  type OnCallAccess,
  type OnCallClearResult,
  type OnCallSetResult,
  type OnCallView,
  onCallAt,
  type RuntimeOverride,
  zoneOf,
} from '../core/oncall.ts';
import type { ChatRequest } from '../core/request.ts';
import type { RedisClient } from '../queue/redis-connection.ts';
import type { AuditEntry } from './audit.ts';

/** The longest override chat may set; longer changes belong in the config (`oncall.overrides`). */
export const MAX_OVERRIDE_DAYS = 31;

interface StoredOverride {
  id: string;
  person: string;
  from: string;
  until: string;
  by: string;
}

/**
 * Prunes ended overrides, adds one (scored by its end), and lets the key expire with the last override's end:
 * one key, so the whole set stays in the prefix's Redis Cluster slot.
 */
const ADD_OVERRIDE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return 1
`;

/**
 * On-call overrides set in chat (`/oncall set`), in Redis under `<prefix>:oncall:overrides`, and the on-call view
 * that combines them with the config's rotation. `forRequest` gives a local command its checked, audited access.
 */
export class OnCallStore {
  private readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly config: Config,
    private readonly audit: (entry: AuditEntry) => Promise<void>,
    /** The commands an approval can be needed for: whether someone put on call may approve any is judged on them. */
    private readonly commands: readonly AnyCommand[] = COMMANDS,
  ) {
    this.key = `${prefix}:oncall:overrides`;
  }

  /** Overrides set in chat that have not ended at `at`, oldest first. */
  async overrides(at: Date): Promise<RuntimeOverride[]> {
    const raw = await this.redis.zrangebyscore(this.key, `(${at.getTime()}`, '+inf');
    return raw.map(runtimeOf).sort((a, b) => a.from.getTime() - b.from.getTime());
  }

  /** Ends the overrides set in chat that have not ended at `at` (only `person`'s when given): those it removed. */
  async remove(person: string | null, at: Date): Promise<RuntimeOverride[]> {
    const raw = await this.redis.zrangebyscore(this.key, `(${at.getTime()}`, '+inf');
    const gone = raw.filter((r) => person === null || runtimeOf(r).person === person);
    if (gone.length === 0) return [];
    await this.redis.zrem(this.key, ...gone);
    return gone.map(runtimeOf).sort((a, b) => a.from.getTime() - b.from.getTime());
  }

  async add(override: RuntimeOverride): Promise<void> {
    const stored: StoredOverride = {
      id: randomBytes(6).toString('hex'),
      person: override.person,
      from: override.from.toISOString(),
      until: override.until.toISOString(),
      by: override.by,
    };
    await this.redis.eval(
      ADD_OVERRIDE,
      1,
      this.key,
      String(override.from.getTime()),
      String(override.until.getTime()),
      JSON.stringify(stored),
    );
  }

  async view(at: Date): Promise<OnCallView> {
    const status = onCallAt(this.config, await this.overrides(at), at);
    return { ...status, zone: zoneOf(this.config), nextHandoff: nextHandoff(this.config, at) };
  }

  /**
   * A local command's access for one request: `set` and `clear` are authorized (permission `oncall.set`, and the
   * channel must allow it, as for any command), checked and audited as that request.
   */
  forRequest(req: ChatRequest, asker: Person, auditBase: Omit<AuditEntry, 'event'>): OnCallAccess {
    const zone = zoneOf(this.config);
    const refuse = async (title: string, reason: string): Promise<{ ok: false; title: string; reason: string }> => {
      await this.audit({ ...auditBase, event: 'decision', decision: 'rejected', detail: `${title}: ${reason}` });
      return { ok: false, title, reason };
    };
    /** Null when the asker may change who is on call here, else the refusal (audited). */
    const mayChange = async (verb: 'set' | 'clear') => {
      const allowed = authorize(this.config, asker, 'oncall.set', {}, `run /oncall ${verb}`);
      if (!allowed.allowed) return refuse('Not allowed', allowed.message);
      const partial = fleetWideProblem(this.config, asker, verb);
      if (partial) return refuse('Not allowed', partial);
      if (req.source !== 'system') {
        const channel = channelPolicy(this.config, req.platform, req.channel);
        if (!channelAllowsCommand(this.config, channel.commands, 'oncall', 'oncall.set'))
          return refuse('Not allowed here', `/oncall ${verb} is not allowed in this channel`);
      }
      return null;
    };
    return {
      zone,
      view: (at) => this.view(at),
      clear: async (person, at): Promise<OnCallClearResult> => {
        const refused = await mayChange('clear');
        if (refused) return refused;
        const cleared = await this.remove(person, at);
        if (cleared.length === 0)
          return refuse(
            'Nothing to clear',
            `no override set with /oncall set${person === null ? '' : ` for ${person}`} is in force (the config's are changed in the config)`,
          );
        const after = await this.view(at);
        const ended = cleared.map((o) => `${o.person} until ${o.until.toISOString()}`).join(', ');
        await this.audit({ ...auditBase, event: 'decision', decision: 'allowed', detail: `on call: cleared ${ended}` });
        return { ok: true, cleared, after };
      },
      set: async (person, until, at): Promise<OnCallSetResult> => {
        const refused = await mayChange('set');
        if (refused) return refused;
        const people = Object.keys(this.config.people);
        if (!people.includes(person))
          return refuse('Cannot do that', `no person ${echoValue(person)} in the config (people: ${people.join(', ') || 'none'})`);
        const end = until ?? nextHandoff(this.config, at);
        if (!end) return refuse('Cannot do that', `no rotation is configured, so say until when: /oncall set ${person} 18:00`);
        if (end <= at) return refuse('Cannot do that', `until must be in the future, got ${formatWhen(end, zone, at)} (${zone})`);
        // Calendar days in the zone, as `31d` is read: across a 25-hour day, 31 days are 745 hours.
        const latest = DateTime.fromJSDate(at, { zone }).plus({ days: MAX_OVERRIDE_DAYS }).toMillis();
        if (end.getTime() > latest)
          return refuse(
            'Cannot do that',
            `until is at most ${MAX_OVERRIDE_DAYS} days ahead (${formatWhen(new Date(latest), zone, at)}, ${zone}); put longer changes in the config's oncall.overrides`,
          );
        const before = onCallAt(this.config, await this.overrides(at), at);
        await this.add({ person, from: at, until: end, by: asker.id });
        const after = await this.view(at);
        const was = before.now ? `was ${[before.now.person, ...before.now.also].join(', ')}` : 'was nobody';
        await this.audit({
          ...auditBase,
          event: 'decision',
          decision: 'allowed',
          detail: `on call: ${person} until ${end.toISOString()} (${was})`,
        });
        const onCall = after.now ? [after.now.person, ...after.now.also] : [];
        const none = approvesNone(this.config, this.commands, person, onCall);
        return { ok: true, person, until: end, before, after, ...(none ? { approvesNone: none } : {}) };
      },
    };
  }
}

/** Hosts named in a refusal; past that, how many more (a fleet of 1,000 is not listed). */
const NAMED_HOSTS = 5;

/**
 * On call is fleet-wide (its person approves on every host they may act on), so setting it needs oncall.set on every
 * host: the dry run that `authorize` does without a host lets an admin of one host through. Null when it is had.
 */
function fleetWideProblem(config: Config, asker: Person, verb: 'set' | 'clear'): string | null {
  const missing = Object.keys(config.hosts).filter((host) => !authorize(config, asker, 'oncall.set', { host }).allowed);
  if (missing.length === 0) return null;
  const named = missing.slice(0, NAMED_HOSTS).join(', ');
  const more = missing.length > NAMED_HOSTS ? ` and ${missing.length - NAMED_HOSTS} more` : '';
  return `${asker.id} may not run /oncall ${verb}: on call covers every host, and ${asker.id} has oncall.set only on some (not on ${named}${more})`;
}

function runtimeOf(raw: string): RuntimeOverride {
  const o = JSON.parse(raw) as StoredOverride;
  return { person: o.person, from: new Date(o.from), until: new Date(o.until), by: o.by };
}
