import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { oncall } from '../../commands/oncall.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { chatRequest } from '../../test/helpers/requests.ts';
import { parseConfigText } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { parseArgs } from '../core/args.ts';
import type { Person } from '../core/authorize.ts';
import type { LocalContext } from '../core/define-command.ts';
import { parseUntil } from '../core/oncall.ts';
import type { Reply } from '../core/reply.ts';
import type { AuditEntry } from './audit.ts';
import { OnCallStore } from './oncall-store.ts';

const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
const PEOPLE = [
  '  alice: { roles: [admin], identities: { terminal: alice } }',
  '  bob: { roles: [viewer], onCall: true, identities: { terminal: bob } }',
  '  carol: { roles: [viewer], identities: { terminal: carol } }',
];
/** An admin of xen2 only: everything there, nothing elsewhere. */
const DAVE_LINE = '  dave: { roles: [xen2-admin], identities: { terminal: dave } }';
const XEN2_LINE = `  xen2: { address: b, privateKeyPath: /k, hostKey: "${FP}" }`;
function config(extra: string, people: readonly string[] = PEOPLE, moreHosts: readonly string[] = []): Config {
  return parseConfigText(
    [
      'hosts:',
      `  xen1: { address: a, privateKeyPath: /k, hostKey: "${FP}" }`,
      ...moreHosts,
      'roles:',
      '  admin: { allow: ["*"] }',
      '  viewer: { allow: [read] }',
      '  xen2-admin: { allow: [read, { permission: admin, hosts: [xen2] }] }',
      'people:',
      ...people,
      'channels:',
      '  - { platform: terminal, id: "*" }',
      '  - { platform: telegram, id: "-100", commands: [read] }',
      extra,
    ].join('\n'),
    'test',
    {},
  );
}
/** No rotation: bob is on call (onCall: true), for exact answers whatever the clock says. */
const STATIC = config('');
const person = (id: string, roles: string[]): Person => ({ id, displayName: id, roles });
const ALICE = person('alice', ['admin']);
const CAROL = person('carol', ['viewer']);
const DAVE = person('dave', ['xen2-admin']);
const HOUR = 3_600_000;

describe('OnCallStore (Redis)', () => {
  const prefix = uniquePrefix();
  const key = `${prefix}:oncall:overrides`;
  let redis: Redis;
  let audit: AuditEntry[];
  const store = (c: Config = STATIC) => new OnCallStore(redis, prefix, c, async (e) => void audit.push(e));
  const access = (c: Config, asker: Person, text = 'set', platform: 'terminal' | 'telegram' = 'terminal') => {
    const req = chatRequest('r1', `oncall ${text}`, asker.id, platform);
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

  it('set: the person is on call until then, said by whom; the key expires at the end; the change is audited', async () => {
    const at = new Date();
    const until = new Date(at.getTime() + 2 * HOUR);
    expect((await store().view(at)).now).toEqual({ person: 'bob', also: [], until: null, source: 'static' });

    const r = await access(STATIC, ALICE, 'set carol 2h').set('carol', until, at);
    expect(r).toEqual({
      ok: true,
      person: 'carol',
      until,
      before: { now: { person: 'bob', also: [], until: null, source: 'static' }, next: null },
      after: {
        now: { person: 'carol', also: [], until, source: 'override', by: 'alice' },
        next: { person: 'bob', from: until },
        zone: 'UTC',
        nextHandoff: null,
      },
      // carol, a viewer, may approve none of it: /oncall set warns (src/app/oncall-approves-none.test.ts).
      approvesNone: { commands: ['stop', 'reboot', 'pause', 'migrate', 'evacuate', 'rebalance'], others: ['alice'] },
    });
    // Another bot (another store on the same prefix) sees it.
    expect((await store().view(at)).now).toEqual({ person: 'carol', also: [], until, source: 'override', by: 'alice' });
    expect(await redis.zcard(key)).toBe(1);
    const pttl = await redis.pttl(key);
    expect(pttl).toBeGreaterThan(2 * HOUR - 10_000);
    expect(pttl).toBeLessThanOrEqual(2 * HOUR);
    expect(audit).toEqual([
      {
        requestId: 'r1',
        person: 'alice',
        platform: 'terminal',
        userId: 'alice',
        channelId: 'terminal',
        command: 'oncall',
        args: 'set carol 2h',
        event: 'decision',
        decision: 'allowed',
        detail: `on call: carol until ${until.toISOString()} (was bob)`,
      },
    ]);
  });

  it('the key lives as long as the latest override, and an ended override is gone from the view', async () => {
    const at = new Date();
    const a = access(STATIC, ALICE);
    await a.set('carol', new Date(at.getTime() + 300), at);
    await a.set('alice', new Date(at.getTime() + 3 * HOUR), new Date(at.getTime() + 1));
    const pttl = await redis.pttl(key);
    expect(pttl).toBeGreaterThan(3 * HOUR - 10_000);
    // After carol's end: alice (set later) still, and carol's entry is no longer read.
    const later = new Date(at.getTime() + 301);
    expect(await store().overrides(later)).toEqual([
      { person: 'alice', from: new Date(at.getTime() + 1), until: new Date(at.getTime() + 3 * HOUR), by: 'alice' },
    ]);
    // A third set prunes ended entries from Redis.
    await new Promise((r) => setTimeout(r, 320));
    await a.set('bob', new Date(Date.now() + HOUR), new Date());
    expect(await redis.zcard(key)).toBe(2);
  });

  it('an override that ends lets the key expire: back to the config', async () => {
    const at = new Date();
    await access(STATIC, ALICE).set('carol', new Date(at.getTime() + 200), at);
    expect(await redis.exists(key)).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(await redis.exists(key)).toBe(0);
    expect((await store().view(new Date())).now).toEqual({ person: 'bob', also: [], until: null, source: 'static' });
  });

  it('without until: until the next handoff of the rotation', async () => {
    const rotating = config(
      'oncall:\n  rotation: { people: [bob, carol], period: daily, handoff: "09:00", start: "2020-01-01" }\n  timezone: UTC',
    );
    const at = new Date();
    const handoff = new Date(at);
    handoff.setUTCHours(9, 0, 0, 0);
    if (handoff <= at) handoff.setUTCDate(handoff.getUTCDate() + 1);
    const r = await access(rotating, ALICE).set('alice', null, at);
    expect(r.ok && r.until).toEqual(handoff);
    expect(r.ok && r.after.now).toEqual({ person: 'alice', also: [], until: handoff, source: 'override', by: 'alice' });
  });

  it('refuses, with one line each, audited: no permission, a read-only channel, an unknown person, bad ends', async () => {
    const at = new Date();
    const later = new Date(at.getTime() + HOUR);
    expect(await access(STATIC, CAROL).set('carol', later, at)).toEqual({
      ok: false,
      title: 'Not allowed',
      reason: 'carol may not run /oncall set: needs permission oncall.set',
    });
    expect(await access(STATIC, ALICE, 'set carol', 'telegram').set('carol', later, at)).toEqual({
      ok: false,
      title: 'Not allowed here',
      reason: '/oncall set is not allowed in this channel',
    });
    expect(await access(STATIC, ALICE).set('zed', later, at)).toEqual({
      ok: false,
      title: 'Cannot do that',
      reason: 'no person "zed" in the config (people: alice, bob, carol)',
    });
    expect(await access(STATIC, ALICE).set('carol', null, at)).toEqual({
      ok: false,
      title: 'Cannot do that',
      reason: 'no rotation is configured, so say until when: /oncall set carol 18:00',
    });
    const fixed = new Date('2025-03-04T10:00:00Z');
    expect(await access(STATIC, ALICE).set('carol', new Date('2025-03-04T09:00:00Z'), fixed)).toEqual({
      ok: false,
      title: 'Cannot do that',
      reason: 'until must be in the future, got Tue 4 Mar 09:00 (UTC)',
    });
    expect(await access(STATIC, ALICE).set('carol', new Date('2025-04-05T10:00:00Z'), fixed)).toEqual({
      ok: false,
      title: 'Cannot do that',
      reason: "until is at most 31 days ahead (Fri 4 Apr 10:00, UTC); put longer changes in the config's oncall.overrides",
    });
    expect(await redis.exists(key)).toBe(0);
    expect(audit.map((e) => [e.person, e.event, e.decision, e.detail])).toEqual([
      ['carol', 'decision', 'rejected', 'Not allowed: carol may not run /oncall set: needs permission oncall.set'],
      ['alice', 'decision', 'rejected', 'Not allowed here: /oncall set is not allowed in this channel'],
      ['alice', 'decision', 'rejected', 'Cannot do that: no person "zed" in the config (people: alice, bob, carol)'],
      ['alice', 'decision', 'rejected', 'Cannot do that: no rotation is configured, so say until when: /oncall set carol 18:00'],
      ['alice', 'decision', 'rejected', 'Cannot do that: until must be in the future, got Tue 4 Mar 09:00 (UTC)'],
      [
        'alice',
        'decision',
        'rejected',
        "Cannot do that: until is at most 31 days ahead (Fri 4 Apr 10:00, UTC); put longer changes in the config's oncall.overrides",
      ],
    ]);
  });

  it('an admin of one host only may not change who is on call for the whole fleet', async () => {
    const c = config('', [...PEOPLE, DAVE_LINE], [XEN2_LINE]);
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
    const c = config('oncall: { timezone: Europe/Berlin }');
    // Friday 10 October 2025, 10:00 in Berlin; clocks go back on 26 October.
    const at = new Date('2025-10-10T08:00:00Z');
    const parsed = parseUntil('31d', at, 'Europe/Berlin');
    expect(parsed).toEqual({ ok: true, until: new Date('2025-11-10T09:00:00Z') });
    const r = await access(c, ALICE, 'set carol 31d').set('carol', parsed.ok ? parsed.until : null, at);
    expect(r.ok ? r.until : r.reason).toEqual(new Date('2025-11-10T09:00:00Z'));
    // One minute more is more than 31 days, and the refusal names the real limit in local time (10:00, as typed from).
    const over = await access(c, ALICE, 'set carol').set('carol', new Date('2025-11-10T09:01:00Z'), at);
    expect(!over.ok && over.reason).toBe(
      "until is at most 31 days ahead (Mon 10 Nov 10:00, Europe/Berlin); put longer changes in the config's oncall.overrides",
    );
  });

  it('an override kept in Redis for someone since removed from the config does not displace who is on call', async () => {
    const at = new Date();
    const r = await access(STATIC, ALICE, 'set carol 2h').set('carol', new Date(at.getTime() + 2 * HOUR), at);
    expect(r.ok).toBe(true);
    // carol leaves; the bot restarts with her removed. Redis still holds her override.
    const after = config('', PEOPLE.slice(0, 2));
    expect(await redis.zcard(key)).toBe(1);
    expect((await store(after).view(new Date())).now).toEqual({ person: 'bob', also: [], until: null, source: 'static' });
  });

  // `/oncall set carol 31d` typed for 3d could not be undone from chat: a second override over it hands back to carol
  // when it ends (the earlier one resumes), and one of the rotation's person for 31 days stops the rotation as long.
  it('/oncall clear ends the overrides set in chat, by the same rules as set, and says who is on call after', async () => {
    const run = (asker: Person, text: string, platform: 'terminal' | 'telegram' = 'terminal') => {
      const ctx = { now: () => Date.now(), person: asker.id, platform, roles: asker.roles, oncall: access(STATIC, asker, text, platform) };
      return oncall.run(parseArgs(oncall, { kind: 'text', text }) as never, ctx as Partial<LocalContext> as LocalContext) as Promise<Reply>;
    };
    expect((await run(ALICE, 'set carol 31d')).title).toMatch(/^carol is on call until /);
    expect((await run(ALICE, 'set alice 2h')).title).toMatch(/^alice is on call until /);

    const refused = await run(CAROL, 'clear carol');
    expect([refused.kind, refused.title]).toEqual(['error', 'Not allowed']);
    expect((await run(ALICE, 'clear carol', 'telegram')).title).toBe('Not allowed here');
    expect(await redis.zcard(key)).toBe(2);

    const cleared = await run(ALICE, 'clear carol');
    expect([cleared.kind, cleared.title]).toEqual(['result', 'alice is on call']);
    expect(JSON.stringify(cleared.blocks)).toContain('"name":"cleared","value":"carol until ');
    // alice's override is left; when it ends, bob (onCall: true) is back, not carol.
    const view = await store().view(new Date(Date.now() + 3 * HOUR));
    expect(view.now).toEqual({ person: 'bob', also: [], until: null, source: 'static' });

    const all = await run(ALICE, 'clear');
    expect([all.kind, all.title]).toEqual(['result', 'bob is on call']);
    expect(await redis.exists(key)).toBe(0);
    const none = await run(ALICE, 'clear');
    expect([none.kind, none.title]).toEqual(['error', 'Nothing to clear']);
    expect(audit.filter((e) => e.detail?.startsWith('on call: cleared')).map((e) => [e.person, e.decision])).toEqual([
      ['alice', 'allowed'],
      ['alice', 'allowed'],
    ]);
  });
});
