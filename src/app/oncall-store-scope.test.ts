import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { chatRequest } from '../../test/helpers/requests.ts';
import { parseConfigText } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import type { Person } from '../core/authorize.ts';
import { parseUntil } from '../core/oncall.ts';
import type { AuditEntry } from './audit.ts';
import { OnCallStore } from './oncall-store.ts';

const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
function config(people: string[], oncall = ''): Config {
  return parseConfigText(
    [
      'hosts:',
      `  xen1: { address: a, privateKeyPath: /k, hostKey: "${FP}" }`,
      `  xen2: { address: b, privateKeyPath: /k, hostKey: "${FP}" }`,
      'roles:',
      '  admin: { allow: ["*"] }',
      '  viewer: { allow: [read] }',
      // An admin of xen2 only: everything there, nothing elsewhere.
      '  xen2-admin: { allow: [read, { permission: admin, hosts: [xen2] }] }',
      'people:',
      ...people,
      'channels:',
      '  - { platform: terminal, id: "*" }',
      oncall,
    ].join('\n'),
    'test',
    {},
  );
}
const ALICE_LINE = '  alice: { roles: [admin], identities: { terminal: alice } }';
const BOB_LINE = '  bob: { roles: [viewer], onCall: true, identities: { terminal: bob } }';
const CAROL_LINE = '  carol: { roles: [admin], identities: { terminal: carol } }';
const DAVE_LINE = '  dave: { roles: [xen2-admin], identities: { terminal: dave } }';
const person = (id: string, roles: string[]): Person => ({ id, displayName: id, roles });
const ALICE = person('alice', ['admin']);
const DAVE = person('dave', ['xen2-admin']);
const HOUR = 3_600_000;

describe('OnCallStore: who may set it, and overrides that outlive the config (Redis)', () => {
  const prefix = uniquePrefix();
  const key = `${prefix}:oncall:overrides`;
  let redis: Redis;
  let audit: AuditEntry[];
  const store = (c: Config) => new OnCallStore(redis, prefix, c, async (e) => void audit.push(e));
  const access = (c: Config, asker: Person, text: string) => {
    const req = chatRequest(`r-${Math.random().toString(36).slice(2)}`, `oncall ${text}`, asker.id);
    const base = {
      requestId: req.id,
      person: asker.id,
      platform: req.platform,
      userId: req.actor.userId,
      channelId: req.channel.id,
      command: 'oncall',
      args: text,
    };
    return store(c).forRequest(req, asker, base);
  };

  beforeAll(() => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  beforeEach(async () => {
    audit = [];
    await deleteKeysWithPrefix(REDIS_URL, prefix);
  });
  afterAll(async () => {
    await deleteKeysWithPrefix(REDIS_URL, prefix);
    redis.disconnect();
  });

  it('an admin of one host only may not change who is on call for the whole fleet', async () => {
    const c = config([ALICE_LINE, BOB_LINE, CAROL_LINE, DAVE_LINE]);
    const at = new Date();
    const r = await access(c, DAVE, 'set dave 2h').set('dave', new Date(at.getTime() + 2 * HOUR), at);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toBe(
      'dave may not run /oncall set: on call covers every host, and dave has oncall.set only on some (not on xen1)',
    );
    expect(await redis.exists(key)).toBe(0);
    expect(audit.map((e) => e.decision)).toEqual(['rejected']);
    // Nothing changed: bob (onCall: true) is still the one on call.
    expect((await store(c).view(new Date())).now?.person).toBe('bob');
    // An admin everywhere still may.
    const ok = await access(c, ALICE, 'set carol 2h').set('carol', new Date(at.getTime() + 2 * HOUR), at);
    expect(ok.ok).toBe(true);
  });

  it('"31d" is 31 days even across the night clocks go back (a 25-hour day): not refused as too long', async () => {
    const c = config([ALICE_LINE, BOB_LINE, CAROL_LINE], 'oncall: { timezone: Europe/Berlin }');
    // Friday 10 October 2025, 10:00 in Berlin; clocks go back on 26 October.
    const at = new Date('2025-10-10T08:00:00Z');
    const parsed = parseUntil('31d', at, 'Europe/Berlin');
    expect(parsed).toEqual({ ok: true, until: new Date('2025-11-10T09:00:00Z') });
    const r = await access(c, ALICE, 'set carol 31d').set('carol', parsed.ok ? parsed.until : null, at);
    expect(r.ok ? r.until : r.reason).toEqual(new Date('2025-11-10T09:00:00Z'));
    // One minute more is more than 31 days, and the refusal names the real limit in local time (10:00, as typed from).
    const over = await access(c, ALICE, 'set carol').set('carol', new Date('2025-11-10T09:01:00Z'), at);
    expect(!over.ok && over.reason).toBe(
      "until is at most 31 days ahead (Mon 10 Nov 10:00); put longer changes in the config's oncall.overrides",
    );
  });

  it('an override kept in Redis for someone since removed from the config does not displace who is on call', async () => {
    const before = config([ALICE_LINE, BOB_LINE, CAROL_LINE]);
    const at = new Date();
    const r = await access(before, ALICE, 'set carol 2h').set('carol', new Date(at.getTime() + 2 * HOUR), at);
    expect(r.ok).toBe(true);
    // carol leaves; the bot restarts with her removed. Redis still holds her override.
    const after = config([ALICE_LINE, BOB_LINE]);
    expect(await redis.zcard(key)).toBe(1);
    expect((await store(after).view(new Date())).now).toEqual({ person: 'bob', also: [], until: null, source: 'static' });
  });
});
