import { describe, expect, it } from 'vitest';
import { approvalIdIn, discordStack, embeds, shown } from '../helpers/discord-stack.ts';
import type { DcMessage } from '../helpers/fake-discord/server.ts';

/**
 * A requester known to xenops only through a Discord role (discord.roleBindings) whose role goes between their request
 * and its approval: they left the guild, or lost the role. The approved request must not run on the roles they had
 * when they asked. Through the real discord.js client against the fake Discord, which answers member lookups.
 * Demo people: bob operator on call. The others are in no config: the admin role they hold in the guild makes them
 * admins.
 */
const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDQy.fake.approval-roles-now-token';
const ADMIN_ROLE = '500000000000000001';
const BOB = '200000000000000002';
/** Leaves the guild between the request and its approval. */
const ERIN = '200000000000000009';
/** Stays in the guild, with the role. */
const GUS = '200000000000000010';
/** Loses the role (stays in the guild). */
const HAL = '200000000000000011';
/** Whose lookup Discord fails as it is approved. */
const IDA = '200000000000000012';

const { dc, sent } = discordStack({ token: TOKEN, roleBindings: { [ADMIN_ROLE]: ['admin'] } });
dc.guilds.set(dc.guildId, {
  roles: [ADMIN_ROLE],
  members: new Map([
    [ERIN, [ADMIN_ROLE]],
    [GUS, [ADMIN_ROLE]],
    [HAL, [ADMIN_ROLE]],
    [IDA, [ADMIN_ROLE]],
  ]),
});
const members = () => {
  const g = dc.guilds.get(dc.guildId);
  if (!g) throw new Error('no guild');
  return g.members;
};

/** `user` (with the admin role, in the guild's channel) asks to stop `domain`: resolves with the approval id and card. */
async function ask(user: string, domain: string) {
  const asked = dc.interact(user, { id: '1', name: 'stop', type: 1, options: [{ name: 'domain', type: 3, value: domain }] }, 2, [
    ADMIN_ROLE,
  ]);
  const edit = await dc.waitFor(
    (c) => c.method === 'PATCH' && c.route.includes(`/${asked.token}/messages/@original`) && embeds(c).includes('Approval needed'),
  );
  const id = approvalIdIn(embeds(edit));
  expect(id).toMatch(/^[A-Z2-9]{6}$/);
  const card = [...dc.messages.values()].find((x) => x.channelId === dc.channelId && x.flags === 0 && shown(x).includes(`— ${id}`));
  if (!card) throw new Error(`no card shows ${id}`);
  return { id, card };
}

/** bob clicks Approve on the card: resolves with his private answer's embeds. */
async function bobApproves(card: DcMessage): Promise<string> {
  const click = dc.click(BOB, card.id, 'Approve');
  const answer = await dc.waitFor(
    (c) => c.method === 'POST' && c.route === `/webhooks/${dc.appId}/${click.token}` && /Approved/.test(embeds(c)),
  );
  return embeds(answer);
}

describe('an approved request whose requester’s Discord role went meanwhile', () => {
  it('they left the guild: approved, but not run — and the card says so', async () => {
    const { id, card } = await ask(ERIN, 'web');
    members().delete(ERIN);
    const answer = await bobApproves(card);
    expect(answer).toContain('Approved, but not run');
    expect(answer).toContain(`discord:${ERIN} may no longer run /stop there`);
    await expect.poll(() => shown(dc.messages.get(card.id)), { timeout: 10_000 }).toContain('was approved but did not run');
    expect(sent('xen1', /\bshutdown\b.*\bweb\b/)).toBe(0);
    expect(id).toMatch(/^[A-Z2-9]{6}$/);
  }, 60_000);

  it('they lost the role but stayed: not run either', async () => {
    const { card } = await ask(HAL, 'web');
    members().set(HAL, []);
    const answer = await bobApproves(card);
    expect(answer).toContain('Approved, but not run');
    expect(sent('xen1', /\bshutdown\b.*\bweb\b/)).toBe(0);
  }, 60_000);

  it('Discord does not tell their roles now: not run, and the answer says the roles could not be checked', async () => {
    const { card } = await ask(IDA, 'web');
    dc.failingMemberLookups.add(dc.guildId);
    try {
      const answer = await bobApproves(card);
      expect(answer).toContain('Approved, but not run');
      expect(answer).toContain(`discord:${IDA}'s Discord roles could not be checked`);
      expect(sent('xen1', /\bshutdown\b.*\bweb\b/)).toBe(0);
    } finally {
      dc.failingMemberLookups.delete(dc.guildId);
    }
  }, 60_000);

  it('they still hold it: approved and run, as before', async () => {
    const { id, card } = await ask(GUS, 'web');
    const answer = await bobApproves(card);
    expect(answer).toContain(`Approved ${id}`);
    await expect.poll(() => shown(dc.messages.get(card.id)), { timeout: 30_000 }).toContain('web shut down on xen1');
    expect(sent('xen1', /\bshutdown\b.*\bweb\b/)).toBe(1);
  }, 60_000);
});
