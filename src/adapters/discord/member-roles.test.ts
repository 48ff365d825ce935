import { REST } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../../../test/helpers/fake-discord/server.ts';
import { guildsToAsk, MemberRoleLookup } from './member-roles.ts';

/** The lookup of a direct message's user's roles, through @discordjs/rest against the fake Discord's member route. */
const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDQy.fake.member-roles-token';
const GUILD_A = '400000000000000001';
const GUILD_B = '400000000000000002';
const ROLE_A = '500000000000000011';
const ROLE_B = '500000000000000021';
const ERIN = '200000000000000009';

let dc: FakeDiscord;
let rest: REST;

const lookups = () => dc.calls.filter((c) => c.method === 'GET' && c.route.startsWith('/guilds/')).length;

beforeAll(async () => {
  dc = new FakeDiscord(TOKEN);
  dc.guilds.set(GUILD_A, { roles: [ROLE_A], members: new Map([[ERIN, [ROLE_A]]]) });
  dc.guilds.set(GUILD_B, { roles: [ROLE_B], members: new Map() });
  await dc.start();
  rest = new REST({ api: dc.apiRoot }).setToken(TOKEN);
});

afterAll(async () => {
  await dc?.stop();
});

describe('guildsToAsk', () => {
  it('asks only the guilds holding a bound role', () => {
    const guilds = [
      { id: GUILD_A, roleIds: [ROLE_A, '500000000000000099'] },
      { id: GUILD_B, roleIds: ['500000000000000098'] },
    ];
    expect(guildsToAsk(guilds, new Set([ROLE_A]))).toEqual([GUILD_A]);
    expect(guildsToAsk(guilds, new Set())).toEqual([]);
  });
});

describe('MemberRoleLookup', () => {
  it('keeps an answer for its time, asks again after it: a role taken away counts then', async () => {
    let now = 1_000_000;
    const lookup = new MemberRoleLookup(rest, { ttlMs: 30_000, now: () => now });
    const before = lookups();
    expect(await lookup.of(ERIN, [GUILD_A, GUILD_B])).toEqual({ ok: true, roleIds: [ROLE_A] });
    expect(lookups() - before).toBe(2);
    dc.guilds.get(GUILD_A)?.members.delete(ERIN);
    now += 29_999;
    expect(await lookup.of(ERIN, [GUILD_B, GUILD_A])).toEqual({ ok: true, roleIds: [ROLE_A] });
    expect(lookups() - before).toBe(2);
    now += 1;
    expect(await lookup.of(ERIN, [GUILD_A, GUILD_B])).toEqual({ ok: true, roleIds: [] });
    expect(lookups() - before).toBe(4);
    dc.guilds.get(GUILD_A)?.members.set(ERIN, [ROLE_A]);
  });

  it('lookups for one user at the same time (autocomplete keystrokes) share one per guild', async () => {
    const lookup = new MemberRoleLookup(rest);
    const before = lookups();
    const answers = await Promise.all([lookup.of(ERIN, [GUILD_A]), lookup.of(ERIN, [GUILD_A]), lookup.of(ERIN, [GUILD_A])]);
    expect(answers).toEqual(Array(3).fill({ ok: true, roleIds: [ROLE_A] }));
    expect(lookups() - before).toBe(1);
  });

  it('a failed lookup is not "no roles", and is not kept: the next one asks again', async () => {
    const lookup = new MemberRoleLookup(rest);
    dc.failingMemberLookups.add(GUILD_B);
    const failed = await lookup.of(ERIN, [GUILD_A, GUILD_B]);
    dc.failingMemberLookups.delete(GUILD_B);
    expect(failed.ok).toBe(false);
    expect(await lookup.of(ERIN, [GUILD_A, GUILD_B])).toEqual({ ok: true, roleIds: [ROLE_A] });
  });

  it('a lookup Discord does not answer is given up at its bound: not "no roles"', async () => {
    const release = dc.holdNext((c) => c.route === `/guilds/${GUILD_B}/members/${ERIN}`);
    try {
      const lookup = new MemberRoleLookup(rest, { timeoutMs: 50 });
      expect(await lookup.of(ERIN, [GUILD_A, GUILD_B])).toEqual({ ok: false, reason: 'Discord did not answer within 0.05 s' });
    } finally {
      release();
    }
  });

  it('a caller that waits less (an autocomplete) is told so; the lookup goes on and its answer is kept', async () => {
    const release = dc.holdNext((c) => c.route === `/guilds/${GUILD_A}/members/${ERIN}`);
    const lookup = new MemberRoleLookup(rest);
    const before = lookups();
    try {
      expect(await lookup.of(ERIN, [GUILD_A], { waitMs: 20 })).toEqual({ ok: false, reason: 'Discord did not answer within 0.02 s' });
    } finally {
      release();
    }
    expect(await lookup.of(ERIN, [GUILD_A])).toEqual({ ok: true, roleIds: [ROLE_A] });
    expect(await lookup.of(ERIN, [GUILD_A], { waitMs: 20 })).toEqual({ ok: true, roleIds: [ROLE_A] });
    expect(lookups() - before).toBe(1);
  });

  it('a guild the bot is no longer in gives no roles, and does not fail the others', async () => {
    const lookup = new MemberRoleLookup(rest);
    expect(await lookup.of(ERIN, [GUILD_A, '400000000000000077'])).toEqual({ ok: true, roleIds: [ROLE_A] });
  });
});
