import { describe, expect, it } from 'vitest';
import { approvalIdIn, discordStack, embeds, shown } from '../helpers/discord-stack.ts';
import type { DcMessage } from '../helpers/fake-discord/server.ts';

/**
 * A requester who is given a Discord role bound to a role that denies (a "suspended" role) between their request and
 * its approval: a deny from any role beats every allow, so the approved request must not run — a role gained counts
 * as much as one lost. Through the real discord.js client against the fake Discord, which answers member lookups.
 * Demo people: alice admin, bob operator on call; kim is in no config (the admin role she holds makes her an admin).
 */
const TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDQz.fake.approval-gained-deny-token';
const ADMIN_ROLE = '500000000000000001';
const SUSPENDED_ROLE = '500000000000000002';
const ALICE = '200000000000000001';
const BOB = '200000000000000002';
const KIM = '200000000000000013';
/** Asks in a direct message (their roles looked up then), and loses the admin role at once. */
const LEE = '200000000000000014';

const { dc, sent } = discordStack({
  token: TOKEN,
  roleBindings: { [ADMIN_ROLE]: ['admin'], [SUSPENDED_ROLE]: ['suspended'] },
  adjustConfig: (c) => ({
    ...c,
    roles: { ...c.roles, suspended: { allow: [], deny: [{ permission: '*', hosts: ['*'], domains: ['*'] }] } },
  }),
});
dc.guilds.set(dc.guildId, {
  roles: [ADMIN_ROLE, SUSPENDED_ROLE],
  members: new Map([
    [ALICE, []],
    [KIM, [ADMIN_ROLE]],
    [LEE, [ADMIN_ROLE]],
  ]),
});
const members = () => {
  const g = dc.guilds.get(dc.guildId);
  if (!g) throw new Error('no guild');
  return g.members;
};

/** `user` (holding `roles`, in the guild's channel unless `dm`) asks to stop `domain`: resolves with the approval id. */
async function askFor(user: string, domain: string, roles: string[], dm = false): Promise<string> {
  const options = [{ name: 'domain', type: 3, value: domain }];
  const asked = dc.interact(user, { id: '1', name: 'stop', type: 1, options }, 2, roles, undefined, { dm });
  const edit = await dc.waitFor(
    (c) => c.method === 'PATCH' && c.route.includes(`/${asked.token}/messages/@original`) && embeds(c).includes('Approval needed'),
  );
  const id = approvalIdIn(embeds(edit));
  expect(id).toMatch(/^[A-Z2-9]{6}$/);
  return id;
}

/** As askFor, in the guild's channel: resolves with the approval card there. */
async function ask(user: string, domain: string, roles: string[]): Promise<DcMessage> {
  const id = await askFor(user, domain, roles);
  const card = [...dc.messages.values()].find((x) => x.channelId === dc.channelId && x.flags === 0 && shown(x).includes(`— ${id}`));
  if (!card) throw new Error(`no card shows ${id}`);
  return card;
}

/** bob clicks Approve on the card: resolves with his private answer's embeds. */
async function bobApproves(card: DcMessage): Promise<string> {
  const click = dc.click(BOB, card.id, 'Approve');
  const answer = await dc.waitFor(
    (c) => c.method === 'POST' && c.route === `/webhooks/${dc.appId}/${click.token}` && /Approved/.test(embeds(c)),
  );
  return embeds(answer);
}

describe('an approved request whose requester was given a denying Discord role meanwhile', () => {
  it('known only through a role binding, and given the suspended role as well: approved, but not run', async () => {
    const card = await ask(KIM, 'web', [ADMIN_ROLE]);
    members().set(KIM, [ADMIN_ROLE, SUSPENDED_ROLE]);
    const answer = await bobApproves(card);
    expect(answer).toContain('Approved, but not run');
    expect(answer).toContain(`discord:${KIM} may no longer run /stop there`);
    expect(sent('xen1', /\bshutdown\b.*\bweb\b/)).toBe(0);
  }, 60_000);

  it('a person of the config who held no bound role when asking, given the suspended role: not run either', async () => {
    const card = await ask(ALICE, 'gateway', []);
    members().set(ALICE, [SUSPENDED_ROLE]);
    const answer = await bobApproves(card);
    expect(answer).toContain('Approved, but not run');
    expect(answer).toContain('alice may no longer run /stop there');
    expect(sent('xen1', /\bshutdown\b.*\bgateway\b/)).toBe(0);
  }, 60_000);

  it('asked in a direct message, the admin role taken away at once: the lookup made as they asked is not reused', async () => {
    const id = await askFor(LEE, 'web', [], true);
    members().set(LEE, []);
    const slash = dc.interact(BOB, { id: '12', name: 'approve', type: 1, options: [{ name: 'id', type: 3, value: id }] });
    const answer = await dc.waitFor((c) => c.route.includes(slash.token) && /Approved/.test(embeds(c)));
    expect(embeds(answer)).toContain('Approved, but not run');
    expect(embeds(answer)).toContain(`discord:${LEE} may no longer run /stop there`);
    expect(sent('xen1', /\bshutdown\b.*\bweb\b/)).toBe(0);
  }, 60_000);
});
