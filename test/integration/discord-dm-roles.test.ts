import { describe, expect, it } from 'vitest';
import { discordStack, embeds } from '../helpers/discord-stack.ts';
import type { DcCall, FakeDiscord } from '../helpers/fake-discord/server.ts';

/**
 * People the config does not name, known to xenops only through their Discord roles (discord.roleBindings), using
 * the bot in a direct message (no guild, so Discord sends no member and no roles) and in the guilds they are in.
 * Commands registered globally, as they must be to be offered in direct messages at all. Through the real discord.js
 * client against the fake Discord, which announces two guilds and answers member lookups.
 */
const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDQy.fake.discord-dm-roles-token';
const GUILD_B = '400000000000000002';
const CHANNEL_B = '300000000000000021';
const VIEW_A = '500000000000000011';
const UNBOUND_A = '500000000000000013';
const ADMIN_B = '500000000000000021';
/** In guild A as a viewer (a bound role and an unbound one). */
const ERIN = '200000000000000009';
/** A viewer in guild A, an admin in guild B. */
const FRANK = '200000000000000008';
/** In no guild the bot is in. */
const GINA = '200000000000000007';
/** In guild A as a viewer, whose lookup there will fail. */
const HANK = '200000000000000006';
/** In guild A as a viewer, whose lookup there Discord is slow to answer. */
const IVY = '200000000000000005';

const { dc } = discordStack({ token: TOKEN, global: true, roleBindings: { [VIEW_A]: ['viewer'], [ADMIN_B]: ['admin'] } });
dc.guilds.set(dc.guildId, {
  roles: [VIEW_A, UNBOUND_A],
  members: new Map([
    [ERIN, [VIEW_A, UNBOUND_A]],
    [FRANK, [VIEW_A]],
    [HANK, [VIEW_A]],
    [IVY, [VIEW_A]],
  ]),
});
dc.guilds.set(GUILD_B, { roles: [ADMIN_B], members: new Map([[FRANK, [ADMIN_B]]]) });

/** The first answer to an interaction: its deferred reply filled in (PATCH @original), or its immediate reply. */
function answerTo(token: string): Promise<DcCall> {
  return dc.waitFor(
    (c) =>
      (c.method === 'PATCH' && c.route === `/webhooks/${dc.appId}/${token}/messages/@original`) ||
      (c.method === 'POST' && c.route.endsWith(`/${token}/callback`) && (c.body?.['type'] as number) === 4),
  );
}

/** The interaction's initial response (its defer, or an immediate reply). */
function callbackOf(token: string): Promise<DcCall> {
  return dc.waitFor((c) => c.method === 'POST' && c.route.endsWith(`/${token}/callback`));
}

/** The roles /whoami lists, as sent from `where`. */
async function whoami(userId: string, roles: string[], where: Parameters<FakeDiscord['interact']>[5]): Promise<string> {
  const { token } = dc.interact(userId, { id: '1', name: 'whoami', type: 1 }, 2, roles, undefined, where);
  const text = embeds(await answerTo(token));
  return /"name":"roles","value":"([^"]*)"/.exec(text)?.[1] ?? `(no roles field in ${text})`;
}

describe('a person known only through a Discord role, in a direct message', () => {
  it('has the roles their membership in the guild gives them, looked up, and can use the bot with them', async () => {
    expect(await whoami(ERIN, [], { dm: true })).toBe('viewer');
    const { token } = dc.interact(ERIN, { id: '2', name: 'list', type: 1 }, 2, [], undefined, { dm: true });
    const listed = embeds(await answerTo(token));
    expect(listed).not.toMatch(/Not allowed|not known/);
    expect(listed).toMatch(/web/);
  }, 30_000);

  it('is still refused what those roles do not allow', async () => {
    const { token } = dc.interact(
      ERIN,
      { id: '3', name: 'stop', type: 1, options: [{ name: 'domain', type: 3, value: 'web' }] },
      2,
      [],
      undefined,
      {
        dm: true,
      },
    );
    expect((await callbackOf(token)).body).toMatchObject({ type: 5 });
    const answer = await answerTo(token);
    expect(answer.method).toBe('PATCH');
    expect(JSON.stringify(answer.body)).toMatch(/Not allowed.*may not run \/stop/);
  }, 30_000);

  it('a command refused before it runs (bad arguments) is answered through the deferred reply, with the usage', async () => {
    const { token } = dc.interact(ERIN, { id: '3', name: 'stop', type: 1 }, 2, [], undefined, { dm: true });
    expect((await callbackOf(token)).body).toMatchObject({ type: 5 });
    const answer = await answerTo(token);
    expect(answer.method).toBe('PATCH');
    expect(embeds(answer)).toMatch(/Bad arguments for \/stop.*\/stop <domain>/);
  }, 30_000);

  it('is deferred before their roles are looked up: Discord slow to answer the lookup does not eat the 3 s', async () => {
    const isLookup = (c: DcCall) => c.method === 'GET' && c.route === `/guilds/${dc.guildId}/members/${IVY}`;
    const release = dc.holdNext(isLookup);
    try {
      const { token } = dc.interact(IVY, { id: '2', name: 'list', type: 1 }, 2, [], undefined, { dm: true });
      const callback = await callbackOf(token);
      const lookup = await dc.waitFor(isLookup);
      // The defer went out before the lookup was even asked, so not after its answer (held until now).
      expect(callback.body).toMatchObject({ type: 5 });
      expect(dc.calls.indexOf(callback)).toBeLessThan(dc.calls.indexOf(lookup));
      release();
      const listed = embeds(await answerTo(token));
      expect(listed).not.toMatch(/Not allowed|not known|Roles unknown/);
      expect(listed).toMatch(/web/);
    } finally {
      release();
    }
  }, 30_000);

  it('someone in none of the bot’s guilds is not known, and no guild was asked twice for them', async () => {
    expect(await whoami(GINA, [], { dm: true })).toBe('(none)');
    const lookups = dc.calls.filter((c) => c.route.startsWith('/guilds/') && c.route.endsWith(`/members/${GINA}`)).map((c) => c.route);
    expect(lookups.sort()).toEqual([`/guilds/${dc.guildId}/members/${GINA}`, `/guilds/${GUILD_B}/members/${GINA}`]);
  }, 30_000);

  it('a lookup Discord fails: refused, saying why and what to do, never run with fewer or more roles', async () => {
    dc.failingMemberLookups.add(dc.guildId);
    try {
      const { token } = dc.interact(HANK, { id: '2', name: 'list', type: 1 }, 2, [], undefined, { dm: true });
      // Deferred first: the refusal fills the deferred reply (only the user sees a direct message).
      expect((await callbackOf(token)).body).toMatchObject({ type: 5 });
      const answer = await answerTo(token);
      expect(answer.method).toBe('PATCH');
      const text = JSON.stringify(answer.body);
      expect(text).toMatch(/Roles unknown/);
      expect(text).toMatch(/could not look up your roles/);
      expect(text).toMatch(/try again|in the server/);
      // A click in the direct message, the lookup still failing: its update deferred, the refusal a follow-up that
      // only the user sees, the message clicked left as it was.
      const clicked = dc.directMessages(HANK).at(-1);
      if (!clicked) throw new Error('no message in the direct message to click');
      const before = JSON.stringify(clicked.embeds);
      const click = dc.interact(HANK, { custom_id: 'x', component_type: 2 }, 3, [], clicked.id, { dm: true });
      expect((await callbackOf(click.token)).body).toMatchObject({ type: 6 });
      const followUp = await dc.waitFor((c) => c.method === 'POST' && c.route === `/webhooks/${dc.appId}/${click.token}`);
      expect(followUp.body).toMatchObject({ flags: 64 });
      expect(JSON.stringify(followUp.body)).toMatch(/could not look up your roles/);
      expect(dc.calls.some((c) => c.route.includes(`/${click.token}/messages/`))).toBe(false);
      expect(JSON.stringify(dc.directMessages(HANK).find((m) => m.id === clicked.id)?.embeds)).toBe(before);
    } finally {
      dc.failingMemberLookups.delete(dc.guildId);
    }
  }, 30_000);
});

describe('a person in several guilds with different roles', () => {
  it('has in each guild only the roles of that guild; in a direct message those of all of them', async () => {
    expect(await whoami(FRANK, [VIEW_A], { guildId: dc.guildId })).toBe('viewer');
    expect(await whoami(FRANK, [ADMIN_B], { guildId: GUILD_B, channelId: CHANNEL_B })).toBe('admin');
    expect(await whoami(FRANK, [], { dm: true })).toBe('viewer, admin');
    // The direct message's lookup is not reused for a guild's command: there the roles are those Discord sent.
    expect(await whoami(FRANK, [VIEW_A], { guildId: dc.guildId })).toBe('viewer');
  }, 30_000);
});
